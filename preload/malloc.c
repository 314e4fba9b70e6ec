/* malloc.c - the exported C malloc family, with glibc's semantics (the glibc manual's "Replacing
 * malloc" list plus the __libc_* aliases, so programs and libraries that call those directly reach
 * ptmem too). Pointers ptmem did not allocate go to the C library's own functions.
 * Rules kept here: malloc(0) is unique; realloc(p, 0) frees and returns NULL; every size above
 * PTRDIFF_MAX and every overflow is NULL with ENOMEM; posix_memalign reports EINVAL/ENOMEM only
 * through its result; free never changes errno; memalign rounds a non-power-of-two alignment up, as
 * glibc 2.36 does (aligned_alloc too). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "entry.h"
#include "preload.h"
#include "tracking.h"

/* Every allocating entry point other than malloc ends in tracked(); every freeing one goes through
 * free(). With PTMEM_TRACK=0 each costs one predictable branch. */
static inline void* tracked(void* p, size_t n) {
  if (pt_unlikely(ptmem_tracking)) ptmem_track_alloc(p, n);
  return p;
}

/* malloc and free decide first and tail-call the tracked variants: untracked, they need no stack
 * frame at all (this file keeps frame pointers for the tracker's sake, these two opt out); tracked,
 * the jump leaves no frame of theirs between the caller and the tracker's frame-pointer walk. */
#define PT_NO_FRAME __attribute__((optimize("omit-frame-pointer")))

PT_EXPORT PT_NO_FRAME void* malloc(size_t n) {
  if (pt_unlikely(ptmem_tracking)) return ptmem_tracked_malloc(n);
  return pt__entry_alloc(n);
}

PT_EXPORT PT_NO_FRAME void free(void* p) {
  if (pt_unlikely(ptmem_tracking)) {
    ptmem_tracked_free(p);
    return;
  }
  if (pt_unlikely(!pt__entry_free(p))) ptmem_foreign_free(p);
}

PT_EXPORT void* calloc(size_t count, size_t size) { return tracked(pt__entry_calloc(count, size), count * size); }

void* ptmem_foreign_realloc(void* p, size_t n) {
  size_t old = ptmem_libc.usable_size ? ptmem_libc.usable_size(p) : 0;
  if (!old) {
    errno = ENOMEM; /* we cannot know how much to copy: refuse rather than guess */
    return NULL;
  }
  void* q = tracked(pt__entry_alloc(n), n);
  if (!q) return NULL;
  memcpy(q, p, old < n ? old : n);
  ptmem_foreign_free(p);
  return q;
}

PT_EXPORT void* realloc(void* p, size_t n) {
  if (p && n == 0) {
    free(p);
    return NULL;
  }
  if (p && pt_unlikely(!pt__owns(p))) return ptmem_foreign_realloc(p, n);
  if (pt_likely(!ptmem_tracking)) return pt__entry_realloc(p, n);
  uint64_t old = ptmem_track_realloc_begin(p);
  void* q = pt__entry_realloc(p, n);
  ptmem_track_realloc_end(p, old, q, n);
  return q;
}

PT_EXPORT void* reallocarray(void* p, size_t count, size_t size) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, n);
}

static size_t round_up_pow2(size_t a) {
  if (a <= 1) return 1;
  if (a > (SIZE_MAX >> 1) + 1) return 0;
  return (size_t)1 << (64 - __builtin_clzll((unsigned long long)(a - 1)));
}

PT_EXPORT void* memalign(size_t align, size_t n) {
  size_t a = round_up_pow2(align);
  if (a == 0) {
    errno = EINVAL;
    return NULL;
  }
  return tracked(pt__entry_alloc_aligned(n, a), n);
}

PT_EXPORT void* aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

PT_EXPORT int posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  int saved = errno;
  void* p = tracked(pt__entry_alloc_aligned(n, align), n);
  errno = saved;
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

PT_EXPORT void* valloc(size_t n) { return tracked(pt__entry_alloc_aligned(n, ptmem_page_size()), n); }

PT_EXPORT void* pvalloc(size_t n) {
  size_t ps = ptmem_page_size();
  size_t rounded = (n + ps - 1) & ~(ps - 1);
  if (rounded < n) {
    errno = ENOMEM;
    return NULL;
  }
  return tracked(pt__entry_alloc_aligned(rounded ? rounded : ps, ps), rounded ? rounded : ps);
}

PT_EXPORT size_t malloc_usable_size(void* p) {
  if (!p) return 0;
  size_t n = pt__usable_size(p);
  if (n && ptmem_tracking) ptmem_track_usable(p);
  if (n || pt__owns(p)) return n;
  return ptmem_libc.usable_size ? ptmem_libc.usable_size(p) : 0;
}

PT_EXPORT void cfree(void* p) { free(p); }
PT_EXPORT void free_sized(void* p, size_t size) {
  (void)size;
  free(p);
}
PT_EXPORT void free_aligned_sized(void* p, size_t align, size_t size) {
  (void)align;
  (void)size;
  free(p);
}

/* The __libc_* names: some programs and libraries call them directly to reach "the real malloc". */
PT_EXPORT void* __libc_malloc(size_t n) { return malloc(n); }
PT_EXPORT void __libc_free(void* p) { free(p); }
PT_EXPORT void* __libc_calloc(size_t count, size_t size) { return calloc(count, size); }
PT_EXPORT void* __libc_realloc(void* p, size_t n) { return realloc(p, n); }
PT_EXPORT void* __libc_memalign(size_t align, size_t n) { return memalign(align, n); }
PT_EXPORT void* __libc_valloc(size_t n) { return valloc(n); }
PT_EXPORT void* __libc_pvalloc(size_t n) { return pvalloc(n); }
PT_EXPORT int __posix_memalign(void** out, size_t align, size_t n) { return posix_memalign(out, align, n); }
