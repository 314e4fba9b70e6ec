/* sites.h - the event path of the per-site counters (sites.c has the rest and the why): inline,
 * because it runs on every malloc and free, and a call costs as much as the counting. */
#ifndef PTMEM_TRACK_SITES_H
#define PTMEM_TRACK_SITES_H
#include "../pools/atomic.h"
#include "timeline.h"
#include "track.h"

typedef struct pt_track_row_s {
  uint64_t allocs, frees, alloc_bytes, temporary;
  int64_t live_bytes, live_count, snap_bytes;
  uint64_t snap_gen;
} pt_track_row_t;

typedef struct pt_track_thread_s {
  pt_track_row_t* rows;
  /* Bytes allocated (+) or freed (-) not yet added to the live total. Written by its thread only;
   * atomic (relaxed: plain moves) because pt_track_totals adds every thread's to the total. */
  _Atomic int64_t pending;
  const void* last_alloc; /* temporary = freed before this thread allocated anything else */
  uint32_t last_stack;
  uint32_t max_stack; /* rows above it were never touched */
  struct pt_track_thread_s* next_all;
  _Atomic int active;
} pt_track_thread_t;

extern __thread pt_track_thread_t* pt_track_tls_thread __attribute__((tls_model("initial-exec")));
extern _Atomic int64_t pt_track_live_total;
/* The peak is its own generation: it only grows, and rows compare their snap_gen with it. */
extern _Atomic int64_t pt_track_peak_total;
extern _Atomic int pt_track_active_threads;
pt_track_thread_t* pt_track_thread_start(void); /* a record for this thread, taken or made */
/* An event of a thread without a record: its first, or one after pt_track_thread_exit. */
void pt_track_alloc_unowned(const void* p, uint32_t stack, size_t size);
void pt_track_free_unowned(const void* p, uint32_t stack, size_t size);
void pt_track_raise_peak(int64_t total);
void pt_track_flush_pending(pt_track_thread_t* t);
void pt_track_rows_reach(pt_track_thread_t* t, uint32_t stack); /* stack > t->max_stack */
/* With several threads each one adds to the shared total only every BATCH bytes of change. */
#define PT_TRACK_BATCH ((int64_t)32 * 1024)

static inline void pt_track_row_before_change(pt_track_row_t* r) {
  uint64_t gen = (uint64_t)pt_load_acquire(&pt_track_peak_total);
  if (r->snap_gen != gen) {
    r->snap_bytes = r->live_bytes;
    r->snap_gen = gen;
  }
}

/* A thread alone keeps its change in `pending` and reads the total as the shared value plus it:
 * exact, and no locked add on every event (a fifth of the counters' cost single-threaded). Its
 * pending too goes into the shared total every PT_TRACK_BATCH bytes: a thread that starts reads
 * only the shared total, and the first thread may not make another event for a long time (main
 * waiting in pthread_join while a worker doubles the heap: the peak came out at half its height,
 * and a worker freeing main's blocks drove the timeline 2 MB below zero). pt_track_totals adds
 * every thread's pending. Only a growing total can make a peak or a timeline high. */
static inline void pt_track_add_to_total(pt_track_thread_t* t, int64_t delta) {
  int64_t pending = pt_load_relaxed(&t->pending) + delta;
  pt_store_relaxed(&t->pending, pending);
  if (pt_likely(pt_load_relaxed(&pt_track_active_threads) <= 1)) {
    int64_t total = pt_load_relaxed(&pt_track_live_total) + pending;
    if (pt_unlikely(total > pt_load_relaxed(&pt_track_peak_total))) pt_track_raise_peak(total);
    pt_track_timeline_event(total);
  }
  if (pt_unlikely(pending >= PT_TRACK_BATCH)) pt_track_flush_pending(t);
}

static inline void pt_track_take_from_total(pt_track_thread_t* t, int64_t delta) {
  int64_t pending = pt_load_relaxed(&t->pending) - delta;
  pt_store_relaxed(&t->pending, pending);
  if (pt_likely(pt_load_relaxed(&pt_track_active_threads) <= 1))
    pt_track_timeline_count(pt_load_relaxed(&pt_track_live_total) + pending);
  if (pt_unlikely(pending <= -PT_TRACK_BATCH)) pt_track_flush_pending(t);
}

static inline __attribute__((always_inline)) void pt_track_alloc_in(pt_track_thread_t* t, const void* p,
                                                                    uint32_t stack, size_t size) {
  if (pt_unlikely(stack > PT_STACK_MAX)) return;
  pt_track_row_t* r = &t->rows[stack];
  uint64_t w = pt_track_weight(size); /* 1 unless sampling */
  size *= w;
  pt_track_row_before_change(r);
  r->allocs += w;
  r->alloc_bytes += size;
  r->live_bytes += (int64_t)size;
  r->live_count += (int64_t)w;
  if (pt_unlikely(stack > t->max_stack)) pt_track_rows_reach(t, stack);
  t->last_alloc = p;
  t->last_stack = stack;
  pt_track_add_to_total(t, (int64_t)size);
}

static inline __attribute__((always_inline)) void pt_track_free_in(pt_track_thread_t* t, const void* p,
                                                                   uint32_t stack, size_t size) {
  if (pt_unlikely(stack > PT_STACK_MAX)) return;
  pt_track_row_t* r = &t->rows[stack];
  uint64_t w = pt_track_weight(size);
  size *= w;
  pt_track_row_before_change(r);
  r->frees += w;
  r->live_bytes -= (int64_t)size;
  r->live_count -= (int64_t)w;
  if (pt_unlikely(stack > t->max_stack)) pt_track_rows_reach(t, stack);
  if (p == t->last_alloc && stack == t->last_stack) r->temporary += w;
  t->last_alloc = NULL;
  pt_track_take_from_total(t, (int64_t)size);
}

static inline __attribute__((always_inline)) void pt_track_alloc(const void* p, uint32_t stack, size_t size) {
  pt_track_thread_t* t = pt_track_tls_thread;
  if (pt_likely(t != NULL)) pt_track_alloc_in(t, p, stack, size);
  else pt_track_alloc_unowned(p, stack, size);
}

static inline __attribute__((always_inline)) void pt_track_free(const void* p, uint32_t stack, size_t size) {
  pt_track_thread_t* t = pt_track_tls_thread;
  if (pt_likely(t != NULL)) pt_track_free_in(t, p, stack, size);
  else pt_track_free_unowned(p, stack, size);
}

#endif
