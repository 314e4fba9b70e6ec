/* atomic.h - C11 atomics behind names that carry their memory order, so every shared access says
 * what it synchronises with (mimalloc's mi_atomic_* idiom). */
#ifndef PTMEM_POOLS_ATOMIC_H
#define PTMEM_POOLS_ATOMIC_H
#include <sched.h>
#include <stdatomic.h>

#define pt_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define pt_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define pt_load_seqcst(p) atomic_load_explicit((p), memory_order_seq_cst)
#define pt_store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define pt_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define pt_store_seqcst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#define pt_exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define pt_fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define pt_fetch_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define pt_fetch_sub_acq_rel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define pt_fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define pt_fetch_or_acq_rel(p, v) atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)
#define pt_fetch_and_acq_rel(p, v) atomic_fetch_and_explicit((p), (v), memory_order_acq_rel)
#define pt_fetch_or_seqcst(p, v) atomic_fetch_or_explicit((p), (v), memory_order_seq_cst)
#define pt_fetch_and_seqcst(p, v) atomic_fetch_and_explicit((p), (v), memory_order_seq_cst)
/* Weak CAS for retry loops: on failure *expected is refreshed with the current value. */
#define pt_cas_weak_acq_rel(p, expected, desired)                                                     \
  atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_acq_rel,           \
                                        memory_order_acquire)
#define pt_cas_strong_acq_rel(p, expected, desired)                                                   \
  atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel,         \
                                          memory_order_acquire)
#define pt_cas_weak_seqcst(p, expected, desired)                                                      \
  atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_seq_cst,           \
                                        memory_order_seq_cst)
#define pt_fence_seqcst() atomic_thread_fence(memory_order_seq_cst)

#define pt_likely(x) __builtin_expect(!!(x), 1)
#define pt_unlikely(x) __builtin_expect(!!(x), 0)

/* One step of a spin wait: tells the core (and a hyperthread sibling) that this is a wait loop. */
static inline void pt_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Spins until it sets *lock from 0 to 1. After a few rounds it yields the processor: a holder
 * that was preempted (more threads than cores, all ending at once) could otherwise only run again
 * once the spinners' time slices ran out. 500 threads ending together spent 60% of their time
 * spinning on one per-thread pool's lock before this. sched_yield is async-signal-safe. */
static inline void pt_spin_lock(_Atomic int* lock) {
  for (unsigned spins = 0;; spins++) {
    int expected = 0;
    if (atomic_load_explicit(lock, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_weak_explicit(lock, &expected, 1, memory_order_acq_rel, memory_order_relaxed))
      return;
    if (spins < 64) pt_cpu_pause();
    else sched_yield();
  }
}

static inline void pt_spin_unlock(_Atomic int* lock) { atomic_store_explicit(lock, 0, memory_order_release); }

#endif
