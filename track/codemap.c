/* codemap.c - see codemap.h. */
#include "codemap.h"

#include <elf.h>

#include "../pools/os.h"
#include "modules.h"

/* The table's own passes: the reference, and the answer when ranges overlap. */
static int module_by_pass(const pt_codemap_t* map, uintptr_t addr) {
  for (size_t i = 0; i < map->modules; i++) {
    const pt_module_t* m = pt_track_module(i);
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t lo = m->base + m->segments[s].vaddr;
      if (addr >= lo && addr < lo + m->segments[s].memsz) return (int)i;
    }
  }
  return -1;
}

static bool code_by_pass(const pt_codemap_t* map, uintptr_t addr) {
  for (size_t i = 0; i < map->modules; i++) {
    const pt_module_t* m = pt_track_module(i);
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t lo = m->base + m->segments[s].vaddr;
      if ((m->segments[s].flags & PF_X) && addr >= lo && addr < lo + m->segments[s].memsz) return true;
    }
  }
  return false;
}

static bool span_before(const pt_codemap_span_t* a, const pt_codemap_span_t* b) { return a->lo < b->lo; }

/* Heapsort: in place and without malloc, which the trace writer must not call. */
static void sift_down(pt_codemap_span_t* v, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && span_before(&v[child], &v[child + 1])) child++;
    if (!span_before(&v[root], &v[child])) return;
    pt_codemap_span_t t = v[root];
    v[root] = v[child];
    v[child] = t;
    root = child;
  }
}

static void sort_spans(pt_codemap_span_t* v, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sift_down(v, i, n);
  for (size_t end = n; end > 1; end--) {
    pt_codemap_span_t t = v[0];
    v[0] = v[end - 1];
    v[end - 1] = t;
    sift_down(v, 0, end - 1);
  }
}

bool pt_codemap_build(pt_codemap_t* map, size_t modules) {
  *map = (pt_codemap_t){.modules = modules};
  size_t n = 0;
  for (size_t i = 0; i < modules; i++) n += pt_track_module(i)->nsegments;
  map->bytes = (n ? n : 1) * sizeof *map->spans;
  map->spans = pt__os_reserve(map->bytes, 4096);
  if (!map->spans) {
    map->overlapping = true;
    return false;
  }
  for (size_t i = 0; i < modules; i++) {
    const pt_module_t* m = pt_track_module(i);
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t lo = m->base + m->segments[s].vaddr;
      if (!m->segments[s].memsz) continue;
      map->spans[map->nspans++] =
          (pt_codemap_span_t){lo, lo + m->segments[s].memsz, (int32_t)i, (m->segments[s].flags & PF_X) != 0};
    }
  }
  sort_spans(map->spans, map->nspans);
  for (size_t i = 1; i < map->nspans; i++)
    if (map->spans[i].lo < map->spans[i - 1].hi) map->overlapping = true;
  return true;
}

void pt_codemap_free(pt_codemap_t* map) {
  if (map->spans) pt__os_release(map->spans, map->bytes);
  *map = (pt_codemap_t){0};
}

/* The span holding addr, when no two overlap; NULL if none. */
static const pt_codemap_span_t* span_of(const pt_codemap_t* map, uintptr_t addr) {
  size_t lo = 0, hi = map->nspans; /* the first span with lo > addr is at `lo` when this ends */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (map->spans[mid].lo <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && addr < map->spans[lo - 1].hi ? &map->spans[lo - 1] : NULL;
}

int pt_codemap_module(const pt_codemap_t* map, uintptr_t addr) {
  if (map->overlapping) return module_by_pass(map, addr);
  const pt_codemap_span_t* s = span_of(map, addr);
  return s ? s->module : -1;
}

bool pt_codemap_code(const pt_codemap_t* map, uintptr_t addr) {
  if (map->overlapping) return code_by_pass(map, addr);
  const pt_codemap_span_t* s = span_of(map, addr);
  return s && s->code;
}
