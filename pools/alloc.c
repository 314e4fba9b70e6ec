/* alloc.c - routing by size and the malloc-level operations that are not fast paths: the generic
 * allocation, free by kind, aligned allocation, realloc, calloc, usable size.
 *
 * Routing:  0 .. 32 KiB  slab (40 classes)      32 KiB .. 128 KiB  pool engine (8 classes)
 *           128 KiB .. 4 MiB  arena span         above 4 MiB  huge mapping
 * Aligned requests never produce interior pointers: a class whose natural alignment (its size's
 * lowest set bit, since pages and chunks start 64 KiB aligned) covers the request is used instead,
 * then an aligned span, then an aligned huge mapping. */
#include "alloc.h"

#include <errno.h>
#include <string.h>

#include "os.h"

/* `copy`: bytes the caller is about to write at the start (realloc's move). On fresh memory they
 * are populated first: each 4 KiB page the copy would fault costs some 11 us on this project's VMs,
 * populating 1.1 us (realloc-1t: 20 k faults, a third of its run time). */
static void* large_alloc(size_t n, uint32_t align_slices, bool zero, size_t copy) {
  uint32_t slices = (uint32_t)((n + PT_SLICE_SIZE - 1) / PT_SLICE_SIZE);
  bool is_zero;
  pt__maintenance(false);
  pt_desc_t* d = pt__span_claim(slices, align_slices, &is_zero);
  if (!d) return NULL;
  d->meta = NULL;
  d->large.own_meta = 0;
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_LARGE);
  if (zero && !is_zero) memset(d->start, 0, n);
  if (is_zero && copy >= 2 * 4096) pt__os_populate(d->start, copy);
  return d->start;
}

static void* alloc_sized(size_t n, bool zero) {
  pt_heap_t* h = pt__tls_heap;
  void* p = NULL;
  if (pt_unlikely(h == &pt__heap_empty) && !pt__heap_thread_is_done() && (h = pt__heap_acquire()) == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  if (n <= PT_SLAB_MAX) {
    p = pt__slab_alloc_generic(h, n, pt__size_class(n));
    if (p && zero) memset(p, 0, n);
  } else if (n <= PT_LARGE_MAX) {
    if (n <= PT_MEDIUM_MAX) p = pt__medium_alloc(h, pt__size_class(n));
    if (p && zero) memset(p, 0, n);
    if (!p) p = large_alloc(n, 1, zero, 0);
  } else if (n <= PTRDIFF_MAX) {
    pt__maintenance(false);
    p = pt__huge_alloc(n, 0, zero);
  }
  if (!p) errno = ENOMEM;
  return p;
}

void* pt__alloc_slow(size_t n) {
  if (n <= PT_SLAB_MAX) { /* sizes above the direct table: same pop, the class computed */
    unsigned cls = pt__size_class(n);
    pt_desc_t* pg = pt__tls_heap->queue[cls].first;
    if (pt_likely(pg != NULL)) {
      pt_block_t* b = pg->page.free;
      if (pt_likely(b != NULL)) {
        pg->page.free = b->next;
        pg->page.used++;
        return b;
      }
    }
  }
  return alloc_sized(n, false);
}

void* pt__calloc(size_t count, size_t size) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  if (n <= PT_DIRECT_MAX) {
    void* p = pt__alloc(n);
    if (p) memset(p, 0, n);
    return p;
  }
  return alloc_sized(n, true);
}

void pt__invalid_free(const void* p, const char* why) {
  static _Atomic int reported;
  if (pt_fetch_add_relaxed(&reported, 1) >= 10) return; /* a buggy loop must not flood stderr */
  char hex[24];
  pt__fmt_hex(hex, (uintptr_t)p);
  pt__os_write_stderr("ptmem: invalid free(");
  pt__os_write_stderr(hex);
  pt__os_write_stderr("): ");
  pt__os_write_stderr(why);
  pt__os_write_stderr("; ignored\n");
}

void pt__free_kind(void* p, pt_desc_t* d, bool in_handler) {
  uintptr_t x = pt_load_relaxed(&d->xowner);
  if (pt__kind_is_slab(x)) {
    if (in_handler) pt__slab_free_remote(d, p);
    else pt__slab_free_slow(d, p, x);
    return;
  }
  switch (x) {
  case PT_KIND_MEDIUM: pt__medium_free(d, p); return;
  case PT_KIND_POOL: pt__pool_free_block(d, p); return;
  case PT_KIND_LARGE:
    if (p != d->start) break;
    pt__span_free(d);
    if (!in_handler) pt__maintenance(false);
    return;
  case PT_KIND_HUGE:
    if (p != d->start) break;
    pt__huge_free(d);
    if (!in_handler) pt__maintenance(false);
    return;
  case PT_KIND_ARENA: pt__invalid_free(p, "memory of a pt_arena cannot be freed with free()"); return;
  default: break;
  }
  pt__invalid_free(p, "not the start of a block ptmem handed out");
}

void pt__free_slow(void* p, pt_desc_t* d) { pt__free_kind(p, d, false); }

void pt__free_rest(void* p, pt_desc_t* d) {
  pt_heap_t* h = pt__tls_heap;
  if (pt_load_relaxed(&d->xowner) == (uintptr_t)h) pt__page_retire(h, d); /* already on its list */
  else pt__free_slow(p, d);
}

size_t pt__usable_size_of(const void* p, pt_desc_t* d) {
  uintptr_t x = pt_load_relaxed(&d->xowner);
  if (pt__kind_is_slab(x) || x == PT_KIND_MEDIUM) return d->bsize;
  switch (x) {
  case PT_KIND_POOL: return pt__pool_block_size(d);
  case PT_KIND_LARGE: return (size_t)d->nslices * PT_SLICE_SIZE - (size_t)((const uint8_t*)p - d->start);
  case PT_KIND_HUGE: return d->huge.size - (size_t)((const uint8_t*)p - d->start);
  default: return 0;
  }
}

void* pt__alloc_aligned(size_t n, size_t align) {
  if (align <= PT_ALIGN_MIN) return pt__alloc(n);
  if (n > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  if (align <= PT_SLICE_SIZE && n <= PT_MEDIUM_MAX) {
    for (unsigned cls = pt__size_class(n); cls < PT_SLAB_CLASSES + PT_MEDIUM_CLASSES; cls++) {
      size_t size = pt__class_size(cls);
      if ((size & (~size + 1)) >= align) return pt__alloc(size);
    }
  }
  if (n <= PT_LARGE_MAX && align <= PT_SPAN_MAX_SIZE) {
    void* p = large_alloc(n ? n : 1, (uint32_t)(align > PT_SLICE_SIZE ? align / PT_SLICE_SIZE : 1), false, 0);
    if (p) return p;
  }
  void* p = pt__huge_alloc(n ? n : 1, align, false);
  if (!p) errno = ENOMEM;
  return p;
}

/* Same block if the new size fits and wastes at most half of it (mimalloc's rule). */
void* pt__realloc(void* p, size_t n) {
  if (!p) return pt__alloc(n);
  if (n > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  pt_desc_t* d = pt__pagemap_lookup(p);
  size_t usable = pt__usable_size_of(p, d);
  uintptr_t x = pt_load_relaxed(&d->xowner);
  if (x == PT_KIND_LARGE) {
    uint32_t slices = (uint32_t)((n + PT_SLICE_SIZE - 1) / PT_SLICE_SIZE);
    if (n > PT_MEDIUM_MAX && n <= PT_LARGE_MAX) {
      if (slices <= d->nslices) {
        pt__span_shrink(d, slices);
        return p;
      }
      if (pt__span_grow(d, slices)) return p;
    }
  } else if (x == PT_KIND_HUGE) {
    if (n > PT_LARGE_MAX) {
      void* q = pt__huge_realloc(d, n);
      if (q) return q;
    }
  } else if (n <= usable && n >= usable / 2) {
    return p;
  }
  size_t copy = n < usable ? n : usable;
  void* q = n > PT_MEDIUM_MAX && n <= PT_LARGE_MAX ? large_alloc(n, 1, false, copy) : NULL;
  if (!q) q = pt__alloc(n);
  if (!q) return NULL;
  pt__move_contents(q, p, copy);
  pt__free(p);
  return q;
}
