/* entry.h - the allocator as malloc-level callers (preload/) enter it: safe against a signal handler
 * that allocates or frees while its thread is inside the allocator.
 *
 * POSIX does not allow malloc in an asynchronous signal handler, and glibc deadlocks when a handler
 * interrupts it; programs do it anyway (a SIGALRM handler that logs, a crash handler that formats).
 * A thread's heap is changed without atomics, so a handler's call that ran on it mid-change would
 * hand out one block twice (a SIGALRM handler allocating every 50 us crashed within 40 ms). Each
 * entry marks its thread busy for the length of the call; a call that finds it busy can only be a
 * handler's, and stays off the heap: it takes a mapping of its own (huge.c, lock-free) and frees
 * the way another thread would (slab pages: their atomic remote list). Costs two thread-local
 * stores and a test a call. The pools library's internals call each other unmarked.
 * A handler that leaves an allocator call with siglongjmp (timeouts, SIGSEGV recovery) never
 * unmarks it: the mark is the stack pointer of the marked call, and a handler runs below it on the
 * same stack, or on its alternate stack; a later call at or above it, off the alternate stack, is
 * the thread's own and takes the mark over. (A stale mark seen from deeper stays, and those calls
 * take the handler's way: slower, never wrong.) */
#ifndef PTMEM_POOLS_ENTRY_H
#define PTMEM_POOLS_ENTRY_H
#include "alloc.h"

void* pt__alloc_reentrant(size_t n, size_t align, bool zero);
void* pt__realloc_reentrant(void* p, size_t n);
void pt__free_reentrant(void* p, pt_desc_t* d);
/* The slow paths, leaving the allocator after: the fast paths jump to them and keep no frame. */
void* pt__alloc_slow_leave(size_t n);
void pt__free_slow_leave(void* p, pt_desc_t* d);

/* True if the thread's mark is that of a call this signal handler interrupted, false if it is
 * stale: a handler that left an allocator call with siglongjmp never unmarked it. */
bool pt__busy_is_live(uintptr_t sp);

static inline uintptr_t pt__stack_pointer(void) {
  uintptr_t sp;
  __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
  return sp;
}

/* The mark is the stack pointer, stored as cheaply as a flag, so that a stale one can be told. */
static inline void pt__mark(uintptr_t sp) {
  pt__tls.busy = sp;
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the heap is touched only once marked */
}

/* False if the thread is already inside: the caller is a signal handler that interrupted it. */
static inline bool pt__enter(void) {
  uintptr_t sp = pt__stack_pointer();
  if (pt_unlikely(pt__tls.busy != 0) && pt__busy_is_live(sp)) return false;
  pt__mark(sp);
  return true;
}

/* malloc and free, found marked at sp: the handler's way if the mark is live, else the ordinary
 * way under a mark taken over. Out of line, so that the fast paths keep no frame for the check. */
void* pt__alloc_marked(size_t n, uintptr_t sp);
void pt__free_marked(void* p, pt_desc_t* d, uintptr_t sp);

static inline void pt__leave(void) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  pt__tls.busy = 0;
}

static inline void* pt__entry_alloc(size_t n) {
  uintptr_t sp = pt__stack_pointer();
  if (pt_unlikely(pt__tls.busy != 0)) return pt__alloc_marked(n, sp);
  pt__mark(sp);
  pt_desc_t* page;
  void* p = pt__alloc_fast(n, &page);
  if (pt_unlikely(p == NULL)) return pt__alloc_slow_leave(n);
  pt__leave();
  return p;
}

static inline void* pt__entry_alloc_meta(size_t n, uint64_t** meta) {
  if (!pt__enter()) {
    void* p = pt__alloc_reentrant(n, 0, false);
    *meta = p ? pt__block_meta_of(p) : NULL;
    return p;
  }
  void* p = pt__alloc_meta(n, meta);
  pt__leave();
  return p;
}

static inline void* pt__entry_alloc_aligned(size_t n, size_t align) {
  if (!pt__enter()) return pt__alloc_reentrant(n, align, false);
  void* p = pt__alloc_aligned(n, align);
  pt__leave();
  return p;
}

static inline void* pt__entry_calloc(size_t count, size_t size) {
  if (!pt__enter()) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) return pt__alloc_reentrant(SIZE_MAX, 0, true); /* ENOMEM */
    return pt__alloc_reentrant(n, 0, true);
  }
  void* p = pt__calloc(count, size);
  pt__leave();
  return p;
}

static inline void* pt__entry_realloc(void* p, size_t n) {
  if (!pt__enter()) return pt__realloc_reentrant(p, n);
  void* q = pt__realloc(p, n);
  pt__leave();
  return q;
}

/* Frees p, a block of descriptor d (not NULL). */
static inline void pt__entry_free_in(void* p, pt_desc_t* d) {
  uintptr_t sp = pt__stack_pointer();
  if (pt_unlikely(pt__tls.busy != 0)) {
    pt__free_marked(p, d, sp);
    return;
  }
  pt__mark(sp);
  if (pt_unlikely(!pt__free_fast(p, d))) {
    pt__free_slow_leave(p, d);
    return;
  }
  pt__leave();
}

/* As pt__free: false if p is foreign. */
static inline bool pt__entry_free(void* p) {
  pt_desc_t* d = pt__pagemap_lookup(p);
  if (pt_unlikely(d == NULL)) return p == NULL;
  pt__entry_free_in(p, d);
  return true;
}

#endif
