/* track.h - the tracking core, shared by the malloc preload and (later) the Vulkan layer. It knows
 * nothing of malloc: the embedder captures a stack id at each allocation, keeps the 64-bit record
 * (pt_rec_*) wherever its allocator keeps per-block data, and reports allocations and frees here.
 *
 * Per-thread state only on the event path: site counters are per-thread rows indexed by stack id,
 * merged when a thread ends; the only shared writes per event are the live-bytes total and, when a
 * new peak is reached, the peak generation. */
#ifndef PTMEM_TRACK_H
#define PTMEM_TRACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the per-allocation record: stack id (24 bits) | scan marks (2) | usable (1) | size (37) ----- */
#define PT_REC_SIZE_BITS 37
#define PT_REC_SIZE_MAX ((1ull << PT_REC_SIZE_BITS) - 1) /* 128 GiB; larger sizes saturate */
/* The program asked malloc_usable_size about the block, and may use all of it: the leak scan
 * takes its whole usable extent as data (LSan's malloc_usable_size answers the requested size, so
 * there the two never differ). */
#define PT_REC_USABLE (1ull << 37)
#define PT_REC_MARK_REACHABLE (1ull << 38)
#define PT_REC_MARK_INDIRECT (1ull << 39)
#define PT_REC_MARKS (PT_REC_MARK_REACHABLE | PT_REC_MARK_INDIRECT)
#define PT_STACK_MAX ((1u << 24) - 1)
enum { PT_STACK_NONE = 0, PT_STACK_UNKNOWN = 1 }; /* 1: table full, or allocated inside the tracker */

static inline uint64_t pt_rec_make(uint32_t stack, size_t size) {
  return ((uint64_t)stack << 40) | (size > PT_REC_SIZE_MAX ? PT_REC_SIZE_MAX : (uint64_t)size);
}
static inline uint32_t pt_rec_stack(uint64_t rec) { return (uint32_t)(rec >> 40); }
static inline size_t pt_rec_size(uint64_t rec) { return (size_t)(rec & PT_REC_SIZE_MAX); }

/* ---- "stack.c": capturing the caller's stack ----------------------------------------------------- */
typedef struct pt_track_config_s {
  unsigned depth;          /* frames kept per stack (1..PT_TRACK_DEPTH_MAX) */
  bool frame_pointers;     /* walk frame pointers instead of unwinding with libunwind */
  uintptr_t skip_lo, skip_hi; /* text of the embedding library: frames inside are not the caller's */
} pt_track_config_t;
#define PT_TRACK_DEPTH_MAX 128
void pt_track_stack_configure(const pt_track_config_t* config);
/* Loads libunwind (dlopen: call it where dlopen is safe, not inside malloc); until then, or if it
 * fails, stacks are captured by walking frame pointers. */
bool pt_track_stack_load_libunwind(void);
/* True in a child forked while other threads ran: one of them may have held the loader's lock,
 * held for ever here, which libunwind takes (dl_iterate_phdr). */
bool pt_track_stack_loader_may_be_held(void);
bool pt_track_stack_unwinder_loaded(void);
/* Return addresses of the current stack, outermost last, the embedder's own frames removed. */
unsigned pt_track_stack_capture(uintptr_t* frames, unsigned max);
/* The interned id of the current stack (its first config.depth frames), as
 * pt_track_stack_intern(frames of pt_track_stack_capture) gives it, but without hashing the frames
 * when the walk finds the same stack as this thread's previous pt_track_stack_id. */
uint32_t pt_track_stack_id(void);
/* How many of this thread's pt_track_stack_id walked: neither a replay nor the walk tree knew the
 * stack. */
uint64_t pt_track_stack_walks(void);
uint64_t pt_track_stack_replay_misses(void); /* ... and how many a replay did not answer */
/* pt_track_stack_id_from(frame), the same from a live frame of the embedder's (see
 * pt_track_unwind_foreign), the walk starting at its return address (the embedder's entry point,
 * malloc, passes its own frame, and the walk steps over nothing in between): inline, in stack.h. */

/* ---- "unwind.c": the default walk, by call-frame information (cfi.c) ----------------------------- */
/* Return addresses from the caller's frame outwards; 0 if some frame needs more than this walk
 * models (then use libunwind). *same_as_last (if not NULL): the frames are exactly those of this
 * thread's previous call. */
unsigned pt_track_unwind(uintptr_t* frames, unsigned max, bool* same_as_last);
/* The same walk, started in a live frame of the calling code, `frame` (its frame pointer; that
 * code must keep frame pointers): from its return address, or further out while the return address
 * is inside [own_lo, own_hi), so the embedder's own frames (malloc's, the tracker's) are not in the
 * result. */
unsigned pt_track_unwind_foreign(uintptr_t* frames, unsigned max, const void* frame, uintptr_t own_lo,
                                 uintptr_t own_hi, bool* same_as_last);
/* pt_track_unwind_foreign without this thread's state (its walk record and replays): for a thread
 * that is ending, which could not give them back. */
unsigned pt_track_unwind_foreign_stateless(uintptr_t* out, unsigned max, const void* frame, uintptr_t own_lo,
                                           uintptr_t own_hi);
/* What the embedder made of the frames of this thread's last pt_track_unwind_foreign (an id, under
 * its configuration `tag`, not 0), kept for pt_track_unwind_replay. */
void pt_track_unwind_remember(uint64_t tag, uint32_t id);
/* pt_track_unwind_replay: inline, in replay.h. */
/* The id, if this thread has walked the stack from `frame` before under `tag` (walktree.h), from the
 * reads a walk would make, without the walk: for when the replay missed. The caller then calls
 * pt_track_unwind_remember with it, as after a walk; else the walk that follows is kept. Call it
 * under the thread's guard. */
bool pt_track_unwind_tree_find(const void* frame, uintptr_t own_lo, uintptr_t own_hi, uint64_t tag, uint32_t* id);
void pt_track_unwind_flush(void); /* after dlclose: code may change at the addresses it knew */
void pt_track_unwind_thread_exit(void); /* gives this thread's walks to the next thread */
void pt_track_unwind_fork_child(void);
void pt_track_stack_fork_child(void); /* libunwind is not used after a fork (stack.c says why) */

/* ---- "stacktab.c": interning a stack into a dense id, lock-free ---------------------------------- */
uint32_t pt_track_stack_intern(const uintptr_t* frames, unsigned depth);
/* The same without this thread's cache, for a thread that keeps no state (one that is ending). */
uint32_t pt_track_stack_intern_shared(const uintptr_t* frames, unsigned depth);
/* Frames of an interned stack (its depth returned); valid for the life of the process. */
unsigned pt_track_stack_frames(uint32_t id, const uintptr_t** frames);
uint32_t pt_track_stack_count(void); /* ids are 2 .. count-1 */
uint32_t pt_track_stack_count_published(void); /* ... whose frames are all in place (some may be coming) */
/* The highest id: PT_STACK_MAX, or lower under a limit on address space (RLIMIT_AS), so that the
 * tables sized by it fit: a thread's site rows are 64 bytes an id. Set before tracking starts. */
extern uint32_t pt_track_stack_cap;
void pt_track_stack_fit_address_limit(void);
void pt_track_stack_reset_for_tests(void);
void pt_track_stacktab_thread_exit(void); /* gives this thread's cache to the next thread */
void pt_track_stacktab_fork_child(void);

/* ---- "sampling.c": sampled tracking (PTMEM_SAMPLE) ----------------------------------------------- */
/* With a sampling rate of R bytes (0: every allocation), an allocation is recorded with probability
 * 1 - exp(-size/R) (a Poisson process over allocated bytes, as tcmalloc and jemalloc profile), and a
 * recorded one stands for weight(size) = 1 / that probability allocations of its size. */
void pt_track_set_sampling(uint64_t bytes);
uint64_t pt_track_sampling(void);
extern uint64_t pt_track_sampling_rate; /* read inline: not sampling costs one branch per event */
bool pt_track_sample_drawn(size_t size);
uint64_t pt_track_weight_drawn(size_t size);
/* per-thread decision for the next allocation */
static inline bool pt_track_sample_this(size_t size) { return !pt_track_sampling_rate || pt_track_sample_drawn(size); }
/* 1 when not sampling */
static inline uint64_t pt_track_weight(size_t size) { return pt_track_sampling_rate ? pt_track_weight_drawn(size) : 1; }

/* Tracker spin locks this thread holds or waits for: a crash handler that writes a trace must not
 * wait on one of its own thread's. */
extern __thread unsigned pt_track_locks_held __attribute__((tls_model("initial-exec")));
/* A signal that asked the process to end came while this thread held one (its number): the
 * embedder's handler left the trace to the hook, which runs as the last lock is released
 * (microseconds later: the timeline's RSS read is the longest hold). */
extern __thread volatile int pt_track_deferred_signal __attribute__((tls_model("initial-exec")));
extern void (*pt_track_deferred_hook)(void);
/* Where a state that holds such a signal back ends (the hook checks that no other one remains). */
static inline void pt_track_run_deferred(void) {
  if (__builtin_expect(pt_track_deferred_signal != 0, 0) && pt_track_deferred_hook) pt_track_deferred_hook();
}
static inline void pt_track_locks_release(void) {
  pt_track_locks_held--;
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* a signal from here on sees no lock held, and is not deferred */
  if (!pt_track_locks_held) pt_track_run_deferred();
}

/* ---- "sites.c": per-site counters, the exact peak, temporary allocations ------------------------- */
typedef struct pt_site_s {
  uint64_t allocs, frees, alloc_bytes, temporary;
  int64_t live_bytes, live_count;
  int64_t peak_bytes; /* this site's live bytes at the moment of the global peak */
} pt_site_t;
typedef struct pt_track_totals_s {
  int64_t live_bytes, peak_bytes;
  uint64_t allocs, frees;
  uint64_t peak_time_ns; /* CLOCK_MONOTONIC time the peak was reached */
} pt_track_totals_t;
/* pt_track_alloc(p, stack, size) and pt_track_free(p, stack, size), the events: inline, in sites.h */
void pt_track_thread_exit(void); /* merges this thread's rows; call from its last moments */
/* Called on a thread's first counted event, and on its first after pt_track_thread_exit; false: the
 * thread is ending and nothing will call pt_track_thread_exit for it again, so its events count
 * into a record shared by all such threads (sites.c). */
extern bool (*pt_track_thread_start_hook)(void);
/* Sum of every thread's rows for one site (callers iterate ids below pt_track_stack_count()). */
void pt_track_site(uint32_t stack, pt_site_t* out);
void pt_track_totals(pt_track_totals_t* out);
void pt_track_clock_start(void); /* once, when tracking starts: the reference for peak times */
void pt_track_sites_fork_child(void);
/* Drops the remembered last allocation of every thread (before a leak scan: it is not a root). */
void pt_track_forget_last_allocs(void);

#endif
