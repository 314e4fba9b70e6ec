/* pagemap.c - the global map from a 64 KiB slice to the descriptor of the span holding it. Two
 * levels cover a 47-bit address space: a 2 MiB top array in .bss (untouched entries cost no memory)
 * and 64 KiB submaps mapped on first use and installed with one CAS (the loser unmaps its copy).
 * Submaps are never freed, so a lookup needs no lock and never reads freed memory. A NULL entry
 * means "not a live block of ours": the reliable foreign-pointer answer free() needs. */
#include "internal.h"

_Atomic(pt_pagemap_sub_t*) pt__pagemap[1u << PT_PAGEMAP_TOP_BITS];

static pt_pagemap_sub_t* submap_get(uintptr_t top) {
  pt_pagemap_sub_t* sub = pt_load_acquire(&pt__pagemap[top]);
  if (sub) return sub;
  pt_pagemap_sub_t* fresh = pt__os_reserve(sizeof(pt_pagemap_sub_t), 4096);
  if (!fresh) return NULL;
  pt_pagemap_sub_t* expected = NULL;
  if (pt_cas_strong_acq_rel(&pt__pagemap[top], &expected, fresh)) return fresh;
  pt__os_release(fresh, sizeof(pt_pagemap_sub_t));
  return expected;
}

bool pt__pagemap_set(const void* start, size_t size, pt_desc_t* d) {
  uintptr_t first = (uintptr_t)start >> PT_SLICE_SHIFT;
  uintptr_t last = ((uintptr_t)start + size - 1) >> PT_SLICE_SHIFT;
  if (((uintptr_t)start + size - 1) >> 47) return false;
  const uintptr_t sub_mask = (1u << PT_PAGEMAP_SUB_BITS) - 1;
  for (uintptr_t s = first; s <= last; s++) {
    pt_pagemap_sub_t* sub = submap_get(s >> PT_PAGEMAP_SUB_BITS);
    if (!sub) return false;
    /* Release: a thread that finds d through the map also sees d's fields written before. */
    pt_store_release(&(*sub)[s & sub_mask], d);
  }
  return true;
}
