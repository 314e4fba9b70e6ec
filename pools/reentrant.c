/* reentrant.c - the allocator for a signal handler that interrupted its thread inside it (entry.h):
 * nothing here touches the thread's heap. Its blocks are mappings of their own (64 KiB at least:
 * such calls are rare, and a mapping needs no heap), taken from the huge blocks' cache only if one
 * there is about the size (not by shrinking a cached 32 MiB buffer): without the cache, a handler
 * under a 20 us timer spent its period in mmap and munmap and the thread it interrupted starved.
 * Its frees go where another thread's would: a slab block onto its page's remote list, every other
 * kind through its own atomic path; the periodic maintenance is left to the thread's next call. */
#include "entry.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

void* pt__alloc_slow_leave(size_t n) {
  void* p = pt__alloc_slow(n);
  pt__leave();
  return p;
}

void pt__free_slow_leave(void* p, pt_desc_t* d) {
  pt__free_rest(p, d);
  pt__leave();
}

void* pt__alloc_marked(size_t n, uintptr_t sp) {
  if (pt__busy_is_live(sp)) return pt__alloc_reentrant(n, 0, false);
  pt__mark(sp);
  void* p = pt__alloc(n);
  pt__leave();
  return p;
}

void pt__free_marked(void* p, pt_desc_t* d, uintptr_t sp) {
  if (pt__busy_is_live(sp)) {
    pt__free_reentrant(p, d);
    return;
  }
  pt__mark(sp);
  pt__free_in(p, d);
  pt__leave();
}

bool pt__busy_is_live(uintptr_t sp) {
  if (sp < pt__tls.busy) return true;
  stack_t ss;
  return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

void* pt__alloc_reentrant(size_t n, size_t align, bool zero) {
  void* p = n <= PTRDIFF_MAX ? pt__huge_alloc_fitting(n ? n : 1, align, zero) : NULL;
  if (!p) errno = ENOMEM;
  return p;
}

void pt__free_reentrant(void* p, pt_desc_t* d) { pt__free_kind(p, d, true); }

void* pt__realloc_reentrant(void* p, size_t n) {
  if (!p) return pt__alloc_reentrant(n, 0, false);
  pt_desc_t* d = pt__pagemap_lookup(p);
  if (!d) { /* the caller sends foreign blocks elsewhere */
    errno = ENOMEM;
    return NULL;
  }
  void* q = pt__alloc_reentrant(n, 0, false);
  if (!q) return NULL;
  size_t usable = pt__usable_size_of(p, d);
  pt__move_contents(q, p, n < usable ? n : usable);
  pt__free_reentrant(p, d);
  return q;
}
