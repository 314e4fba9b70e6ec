/* alloc.h - the malloc-level fast paths of the pools library, inline so that preload/ compiles them
 * straight into malloc() and free(). Everything not handled here goes to alloc.c. */
#ifndef PTMEM_POOLS_ALLOC_H
#define PTMEM_POOLS_ALLOC_H
#include "internal.h"

/* The fast path: a block of the thread's page for size n, and that page; NULL if it has none. */
static inline void* pt__alloc_fast(size_t n, pt_desc_t** page) {
  pt_heap_t* h = pt__tls_heap;
  if (pt_likely(n <= PT_DIRECT_MAX)) {
    pt_desc_t* pg = h->direct[(n + 15) >> 4];
    pt_block_t* b = pg->page.free;
    if (pt_likely(b != NULL)) {
      pg->page.free = b->next;
      pg->page.used++;
      *page = pg;
      return b;
    }
  }
  return NULL;
}

/* Any size; NULL with errno = ENOMEM on failure (including sizes above PTRDIFF_MAX). */
static inline void* pt__alloc(size_t n) {
  pt_desc_t* page;
  void* b = pt__alloc_fast(n, &page);
  return pt_likely(b != NULL) ? b : pt__alloc_slow(n);
}

/* The fast path's pages are one slice each, so a block's page starts at the block's slice. */
_Static_assert(PT_DIRECT_MAX <= 8 * PT_KiB, "pt__class_page_slices: direct sizes have one-slice pages");

/* pt__alloc for the tracker: also the block's meta word (NULL if it has none), which the fast path
 * finds from the page it took the block from, without the page map, and from the owner's line of
 * the page's descriptor only (see pt_desc_t). */
static inline void* pt__alloc_meta(size_t n, uint64_t** meta) {
  pt_desc_t* page;
  void* b = pt__alloc_fast(n, &page);
  if (pt_likely(b != NULL)) {
    /* The next malloc's block: its first word (the free list's next link) is read then, and if
     * another thread freed it, the load misses while everything waits on it. The tracker's work
     * between the two mallocs covers the fetch. (Untracked, with little work to cover it, the
     * prefetch cost more than it saved: xmalloc-2t 1.29x.) */
    __builtin_prefetch(page->page.free, 1);
    uint64_t offset = (uintptr_t)b & (PT_SLICE_SIZE - 1);
    *meta = page->page.meta ? &page->page.meta[(offset * page->page.recip) >> 42] : NULL;
    return b;
  }
  b = pt__alloc_slow(n);
  *meta = b ? pt__block_meta_of(b) : NULL;
  return b;
}

/* The fast path of freeing p, a block of descriptor d (the page map's answer for it, not NULL):
 * true if done; else pt__free_rest finishes (a page of ours whose last block came back, or a block
 * of another kind or owner). */
static inline bool pt__free_fast(void* p, pt_desc_t* d) {
  if (pt_unlikely(pt_load_relaxed(&d->xowner) != (uintptr_t)pt__tls_heap)) return false;
  pt_block_t* b = p;
  b->next = d->page.local_free;
  d->page.local_free = b;
  return pt_likely(--d->page.used != 0);
}
void pt__free_rest(void* p, pt_desc_t* d);

/* Frees p, a block of descriptor d (not NULL). */
static inline void pt__free_in(void* p, pt_desc_t* d) {
  if (pt_unlikely(!pt__free_fast(p, d))) pt__free_rest(p, d);
}

/* Frees p if ptmem owns it; false if p is foreign (NULL counts as owned: nothing to do). */
static inline bool pt__free(void* p) {
  pt_desc_t* d = pt__pagemap_lookup(p);
  if (pt_unlikely(d == NULL)) return p == NULL;
  pt__free_in(p, d);
  return true;
}

static inline bool pt__owns(const void* p) { return pt__pagemap_lookup(p) != NULL; }

/* Usable size of a block ptmem owns; 0 if p is NULL or foreign. */
static inline size_t pt__usable_size(const void* p) {
  pt_desc_t* d = pt__pagemap_lookup(p);
  return d ? pt__usable_size_of(p, d) : 0;
}

#endif
