/* meta.c - the per-block meta word: where it is, and walking the blocks that have one. The pools
 * only store it; what it means belongs to the embedder (the tracker keeps its allocation record
 * there: no hash table, no lock, found from the pointer by the page map and one multiplication). */
#include "internal.h"

bool pt__block_find(const void* addr, void** start, size_t* size, uint64_t** meta) {
  pt_desc_t* d = pt__pagemap_lookup(addr);
  if (!d) return false;
  uintptr_t x = pt_load_relaxed(&d->xowner);
  uint64_t* m;
  if (pt__kind_is_slab(x) || x == PT_KIND_MEDIUM) {
    if (!d->meta) return false;
    uint32_t idx = pt__block_index(d, addr);
    uint32_t limit = x == PT_KIND_MEDIUM ? pt_load_relaxed(&d->medium.nblocks) : d->page.capacity;
    if (idx >= limit) return false; /* the meta words themselves, or blocks never carved */
    m = &d->meta[idx];
    *start = d->start + (size_t)idx * d->bsize;
    *size = d->bsize;
  } else if (x == PT_KIND_LARGE) {
    m = &d->large.own_meta;
    *start = d->start;
    *size = (size_t)d->nslices * PT_SLICE_SIZE;
  } else if (x == PT_KIND_HUGE) {
    m = &d->huge.own_meta;
    *start = d->start;
    *size = d->huge.size;
  } else {
    return false;
  }
  if (*m == 0) return false;
  *meta = m;
  return true;
}

typedef struct visit_s {
  pt_meta_visit_fn fn;
  void* arg;
} visit_t;

static void visit_span(pt_desc_t* d, void* arg) {
  visit_t* v = arg;
  uintptr_t x = pt_load_relaxed(&d->xowner);
  if (pt__kind_is_slab(x) || x == PT_KIND_MEDIUM) {
    if (!d->meta) return;
    uint32_t n = x == PT_KIND_MEDIUM ? pt_load_relaxed(&d->medium.nblocks) : d->page.capacity;
    for (uint32_t i = 0; i < n; i++)
      if (d->meta[i]) v->fn(d->start + (size_t)i * d->bsize, d->bsize, &d->meta[i], v->arg);
  } else if (x == PT_KIND_LARGE && d->large.own_meta) {
    v->fn(d->start, (size_t)d->nslices * PT_SLICE_SIZE, &d->large.own_meta, v->arg);
  }
}

static void visit_huge(pt_desc_t* d, void* arg) {
  visit_t* v = arg;
  if (d->huge.own_meta) v->fn(d->start, d->huge.size, &d->huge.own_meta, v->arg);
}

void pt__foreach_meta(pt_meta_visit_fn fn, void* arg) {
  visit_t v = {fn, arg};
  pt__arena_foreach_span(visit_span, &v);
  pt__huge_foreach(visit_huge, &v);
}

uintptr_t pt__internal_end(uintptr_t addr) {
  uintptr_t end = pt__arena_internal_end(addr);
  return end ? end : pt__huge_internal_end(addr);
}
