/* stats.c - honest statistics computed on demand by walking the spans, so the fast paths keep no
 * counters. A block freed by another thread but not yet collected by its owner counts as in use. */
#include "internal.h"

#include <string.h>

static void count_span(pt_desc_t* d, void* arg) {
  pt_stats_t* s = arg;
  uintptr_t x = pt_load_relaxed(&d->xowner);
  size_t bytes = (size_t)d->nslices * PT_SLICE_SIZE;
  if (pt__kind_is_slab(x)) {
    s->in_use += (size_t)d->page.used * d->bsize;
    *(x == PT_KIND_ABANDONED ? &s->abandoned_pages : &s->slab_pages) += bytes;
  } else if (x == PT_KIND_MEDIUM) {
    s->medium_chunks += bytes;
    uint64_t free_bits = pt_load_relaxed(&d->bits);
    s->in_use += (size_t)(pt_load_relaxed(&d->medium.nblocks) - (uint32_t)__builtin_popcountll(free_bits)) * d->bsize;
  } else if (x == PT_KIND_LARGE || x == PT_KIND_ARENA) {
    s->in_use += bytes;
    if (x == PT_KIND_LARGE) s->large_spans += bytes;
  } else if (x == PT_KIND_POOL) {
    s->in_use += (size_t)d->nslices * PT_SLICE_SIZE; /* pool chunks count whole */
  }
}

static void count_heap(pt_heap_t* h, void* arg) {
  (void)h;
  ((pt_stats_t*)arg)->heaps++;
}

void pt__stats_collect(pt_stats_t* out) {
  memset(out, 0, sizeof *out);
  pt_arena_stats_t a;
  pt__arena_stats(&a);
  pt__arena_foreach_span(count_span, out);
  pt__heap_foreach(count_heap, out);
  out->huge = pt__huge_bytes();
  out->mapped = a.claimed + out->huge;
  out->in_use += out->huge;
  out->free_dirty = a.dirty_free;
  out->rss = pt__os_rss();
}
