/* threadstacks.c - which thread stacks the exit scan reads, and from where. LeakSanitizer reads the
 * stacks of live threads only, each from its stack pointer up. A thread that ended leaves its stack
 * mapped in glibc's stack cache for the next thread, with the stale words of its last frames, and
 * a live thread's stack holds stale words below its stack pointer: read as roots, they made a
 * joined thread's leak, or a block a running thread dropped, "reachable".
 *
 * The embedder says when a thread ends (its stack: pthread_getattr_np) and when one starts on a
 * stack (its stack pointer). Ended stacks are kept in a ring, one packed word each (no tearing, no
 * lock: threads end concurrently); the oldest is forgotten when it is full, and then only costs
 * precision (a forgotten stack is read whole, as before). */
#include "leaks.h"

#include "../pools/atomic.h"

#define DEAD_MAX 1024
#define PAGE_SHIFT 12
#define LO_BITS 36 /* page number of the stack's base: 48-bit addresses */
static _Atomic uint64_t dead[DEAD_MAX]; /* (size in pages) << LO_BITS | base page; 0 = empty */
static _Atomic uint32_t dead_next;

static uintptr_t dead_lo(uint64_t e) { return (uintptr_t)(e & ((1ull << LO_BITS) - 1)) << PAGE_SHIFT; }
static uintptr_t dead_hi(uint64_t e) { return dead_lo(e) + ((uintptr_t)(e >> LO_BITS) << PAGE_SHIFT); }

void pt_track_leaks_thread_ended(uintptr_t lo, uintptr_t hi) {
  if ((lo | hi) & ((1u << PAGE_SHIFT) - 1) || hi <= lo || (lo >> (LO_BITS + PAGE_SHIFT)) ||
      ((hi - lo) >> (64 - LO_BITS + PAGE_SHIFT)))
    return; /* not page-aligned or out of range for the packing: read whole, as before */
  uint64_t e = (uint64_t)((hi - lo) >> PAGE_SHIFT) << LO_BITS | lo >> PAGE_SHIFT;
  for (unsigned i = 0; i < DEAD_MAX; i++) /* a cached stack ends again and again: one entry */
    if (pt_load_relaxed(&dead[i]) == e) return;
  pt_store_release(&dead[pt_fetch_add_relaxed(&dead_next, 1) % DEAD_MAX], e);
}

void pt_track_leaks_thread_started(uintptr_t sp) {
  for (unsigned i = 0; i < DEAD_MAX; i++) {
    uint64_t e = pt_load_acquire(&dead[i]);
    if (e && sp >= dead_lo(e) && sp < dead_hi(e)) pt_cas_strong_acq_rel(&dead[i], &e, 0);
  }
}

uintptr_t pt_track_leaks_dead_stack_end(uintptr_t lo, uintptr_t hi) {
  for (unsigned i = 0; i < DEAD_MAX; i++) {
    uint64_t e = pt_load_acquire(&dead[i]);
    if (e && dead_lo(e) == lo && dead_hi(e) <= hi) return dead_hi(e);
  }
  return 0;
}
