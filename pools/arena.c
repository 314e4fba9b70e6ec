/* arena.c - address space for everything but huge blocks: 1 GiB regions of 64 KiB slices.
 * Under a limit on address space (RLIMIT_AS, `ulimit -v`) regions are smaller, down to 8 MiB: with
 * only 1 GiB regions every malloc failed under a 1 GB limit, where glibc runs in 50 MB. A smaller
 * region only has fewer bitmap words in use.
 *
 * Algorithm: each region keeps two bitmaps over its slices, `used` (claimed) and `dirty` (touched
 * since the last purge). A span of 1..64 slices is claimed lock-free with one CAS on one 64-bit word
 * (spans never straddle words; regions are 4 MiB aligned, so a word covers an aligned 4 MiB),
 * first-fit from the lowest address so that recently freed, still resident memory is reused first.
 * Coalescing is implicit: neighbouring free bits form a run again the moment they are cleared.
 *
 * Return to the OS (the delay policy): freeing a span only clears its `used` bits; its slices stay
 * dirty and are marked `fresh`. The first free after a purge arms the region's deadline at now +
 * purge_delay_ms. When any thread's periodic maintenance finds the deadline passed, it claims every
 * free dirty slice of the region that is not fresh (so nobody allocates it meanwhile),
 * MADV_DONTNEEDs the runs, clears their dirty bits and releases them; then it clears `fresh` and, if
 * fresh free slices remain, arms the next deadline. So a slice is purged only after it stayed free
 * across a whole delay: memory freed after a peak leaves RSS between delay and 2 x delay later, as
 * long as the program keeps allocating; malloc_trim() purges at once. Without `fresh`, a deadline
 * armed by an early free purged everything free at that moment, including what was freed a
 * millisecond before: a program that frees a big structure and builds the next one a little later
 * (tests/bench alloc_small) faulted it all back in, and more often the slower it ran (tracked: 2x
 * the page faults in one run of three, 1.7x the time).
 *
 * Descriptors live in the region header, one per slice, and are never unmapped (type-stable). */
#include "internal.h"

#include <string.h>
#include <sys/resource.h>

#define REGION_ALIGN (PT_SPAN_MAX_SLICES * PT_SLICE_SIZE)

typedef struct pt_region_s {
  _Atomic uint64_t used[PT_REGION_WORDS];  /* 1 = slice claimed */
  _Atomic uint64_t dirty[PT_REGION_WORDS]; /* 1 = slice may be resident */
  _Atomic uint64_t fresh[PT_REGION_WORDS]; /* 1 = freed since the last purge: not old enough */
  _Atomic uint64_t purge_at_ms;            /* 0 = nothing to purge */
  uint8_t* base;
  size_t size;    /* reserved: PT_REGION_SIZE, or less under a limit on address space */
  uint32_t words; /* bitmap words in use: size / REGION_ALIGN */
  pt_desc_t* descs; /* PT_REGION_SLICES entries */
} pt_region_t;

#define DESCS_OFFSET 8192
_Static_assert(sizeof(pt_region_t) <= DESCS_OFFSET, "region header overflows into descriptors");
#define HEADER_BYTES (DESCS_OFFSET + PT_REGION_SLICES * sizeof(pt_desc_t))
#define HEADER_SLICES ((HEADER_BYTES + PT_SLICE_SIZE - 1) / PT_SLICE_SIZE)
_Static_assert(HEADER_SLICES < 64, "region header must fit in the first bitmap word");
_Static_assert(HEADER_BYTES < REGION_ALIGN, "descriptor -> region mask needs the header in 4 MiB");

static _Atomic(pt_region_t*) regions[PT_MAX_REGIONS];
static _Atomic uint32_t region_count; /* slots below this may be set */

static pt_region_t* region_of_desc(const pt_desc_t* d) {
  return (pt_region_t*)((uintptr_t)d & ~(uintptr_t)(REGION_ALIGN - 1));
}

#define REGION_MIN_SIZE (2 * REGION_ALIGN) /* the header (first word) and one largest span */

/* At most an eighth of a limit on address space: the program needs the rest for thread stacks,
 * libraries and its own mappings (a greedy 256 MiB region under `ulimit -v 300000` left python3
 * no room to start a thread). */
static size_t region_size_goal(void) {
  struct rlimit lim;
  size_t size = PT_REGION_SIZE;
  if (getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return size;
  while (size > REGION_MIN_SIZE && size > lim.rlim_cur / 8) size /= 2;
  return size;
}

static pt_region_t* region_new(void) {
  size_t size = region_size_goal();
  pt_region_t* r;
  while (!(r = pt__os_reserve(size, REGION_ALIGN)) && size > REGION_MIN_SIZE) size /= 2;
  if (!r) return NULL;
  r->base = (uint8_t*)r;
  r->size = size;
  r->words = (uint32_t)(size / REGION_ALIGN);
  r->descs = (pt_desc_t*)((uint8_t*)r + DESCS_OFFSET);
  pt_store_relaxed(&r->used[0], pt__bits_mask(0, HEADER_SLICES));
  for (uint32_t i = 0; i < PT_MAX_REGIONS; i++) {
    pt_region_t* expected = NULL;
    if (pt_cas_strong_acq_rel(&regions[i], &expected, r)) {
      uint32_t c = pt_load_relaxed(&region_count);
      while (c < i + 1 && !pt_cas_weak_acq_rel(&region_count, &c, i + 1)) {
      }
      return r;
    }
  }
  pt__os_release(r, size);
  return NULL;
}

static pt_desc_t* region_claim(pt_region_t* r, uint32_t n, uint32_t align, bool* is_zero) {
  for (uint32_t wi = 0; wi < r->words; wi++) {
    uint64_t w = pt_load_relaxed(&r->used[wi]);
    if (w == ~0ull) continue;
    for (;;) {
      int pos = pt__bits_find_run(w, n, align);
      if (pos < 0) break;
      uint64_t mask = pt__bits_mask((unsigned)pos, n);
      if (!pt_cas_weak_acq_rel(&r->used[wi], &w, w | mask)) continue;
      uint32_t first = wi * 64 + (uint32_t)pos;
      pt_desc_t* d = &r->descs[first];
      uint64_t was_dirty = pt_fetch_or_acq_rel(&r->dirty[wi], mask);
      *is_zero = (was_dirty & mask) == 0;
      d->start = r->base + (size_t)first * PT_SLICE_SIZE;
      d->nslices = n;
      if (!pt__pagemap_set(d->start, (size_t)n * PT_SLICE_SIZE, d)) {
        pt_fetch_and_acq_rel(&r->used[wi], ~mask);
        return NULL;
      }
      return d;
    }
  }
  return NULL;
}

pt_desc_t* pt__span_claim(uint32_t nslices, uint32_t align_slices, bool* is_zero) {
  if (nslices == 0 || nslices > PT_SPAN_MAX_SLICES) return NULL;
  if (align_slices == 0) align_slices = 1;
  for (;;) {
    uint32_t count = pt_load_acquire(&region_count);
    for (uint32_t i = 0; i < count; i++) {
      pt_region_t* r = pt_load_acquire(&regions[i]);
      if (!r) continue;
      pt_desc_t* d = region_claim(r, nslices, align_slices, is_zero);
      if (d) return d;
    }
    if (!region_new()) return NULL;
  }
}

static void arm_purge(pt_region_t* r) {
  if (pt_load_relaxed(&r->purge_at_ms) == 0)
    pt_store_relaxed(&r->purge_at_ms, pt__os_now_ms() + pt__settings.purge_delay_ms + 1);
}

static void release_slices(pt_region_t* r, uint32_t first, uint32_t n) {
  uint32_t wi = first / 64, pos = first % 64;
  pt__pagemap_set(r->base + (size_t)first * PT_SLICE_SIZE, (size_t)n * PT_SLICE_SIZE, NULL);
  pt_fetch_or_acq_rel(&r->fresh[wi], pt__bits_mask(pos, n));
  arm_purge(r);
  pt_fetch_and_acq_rel(&r->used[wi], ~pt__bits_mask(pos, n));
}

void pt__span_free(pt_desc_t* d) {
  pt_region_t* r = region_of_desc(d);
  uint32_t first = (uint32_t)(d - r->descs), n = d->nslices;
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_FREE);
  release_slices(r, first, n);
}

void pt__span_shrink(pt_desc_t* d, uint32_t nslices) {
  if (nslices == 0 || nslices >= d->nslices) return;
  pt_region_t* r = region_of_desc(d);
  uint32_t first = (uint32_t)(d - r->descs);
  uint32_t tail = d->nslices - nslices;
  d->nslices = nslices;
  release_slices(r, first + nslices, tail);
}

bool pt__span_grow(pt_desc_t* d, uint32_t nslices) {
  if (nslices <= d->nslices) return true;
  pt_region_t* r = region_of_desc(d);
  uint32_t first = (uint32_t)(d - r->descs), wi = first / 64, pos = first % 64;
  if (pos + nslices > 64) return false;
  uint64_t extra = pt__bits_mask(pos + d->nslices, nslices - d->nslices);
  uint64_t w = pt_load_relaxed(&r->used[wi]);
  do {
    if (w & extra) return false;
  } while (!pt_cas_weak_acq_rel(&r->used[wi], &w, w | extra));
  pt_fetch_or_acq_rel(&r->dirty[wi], extra);
  uint8_t* from = d->start + (size_t)d->nslices * PT_SLICE_SIZE;
  if (!pt__pagemap_set(from, (size_t)(nslices - d->nslices) * PT_SLICE_SIZE, d)) {
    pt_fetch_and_acq_rel(&r->used[wi], ~extra);
    return false;
  }
  d->nslices = nslices;
  return true;
}

uintptr_t pt__arena_internal_end(uintptr_t addr) {
  uint32_t count = pt_load_acquire(&region_count);
  for (uint32_t i = 0; i < count; i++) {
    pt_region_t* r = pt_load_acquire(&regions[i]);
    if (r && addr >= (uintptr_t)r->base && addr < (uintptr_t)r->base + r->size) return (uintptr_t)r->base + r->size;
  }
  return 0;
}

bool pt__arena_contains(const void* p) {
  uint32_t count = pt_load_acquire(&region_count);
  for (uint32_t i = 0; i < count; i++) {
    pt_region_t* r = pt_load_acquire(&regions[i]);
    if (r && (const uint8_t*)p >= r->base && (const uint8_t*)p < r->base + r->size) return true;
  }
  return false;
}

/* Purges the free dirty slices of `r` (all of them if `force`, else those not fresh); true if fresh
 * free dirty slices are left for the next deadline. */
static bool region_purge(pt_region_t* r, bool force) {
  bool left = false;
  for (uint32_t wi = 0; wi < r->words; wi++) {
    uint64_t young = pt_exchange_acq_rel(&r->fresh[wi], 0);
    uint64_t u = pt_load_relaxed(&r->used[wi]);
    uint64_t free_dirty = pt_load_relaxed(&r->dirty[wi]) & ~u;
    uint64_t cand = force ? free_dirty : free_dirty & ~young;
    if (free_dirty & ~cand) left = true;
    if (!cand) continue;
    /* Claim the candidates so no one hands them out while their pages are dropped. */
    while (!pt_cas_weak_acq_rel(&r->used[wi], &u, u | cand)) {
      cand &= ~u;
      if (!cand) break;
    }
    if (!cand) continue;
    uint64_t rest = cand;
    while (rest) {
      unsigned pos = (unsigned)__builtin_ctzll(rest);
      uint64_t shifted = rest >> pos;
      unsigned len = shifted == ~0ull ? 64 : (unsigned)__builtin_ctzll(~shifted);
      pt__os_decommit(r->base + ((size_t)wi * 64 + pos) * PT_SLICE_SIZE, (size_t)len * PT_SLICE_SIZE);
      rest &= ~pt__bits_mask(pos, len);
    }
    pt_fetch_and_acq_rel(&r->dirty[wi], ~cand);
    pt_fetch_and_acq_rel(&r->used[wi], ~cand);
  }
  return left;
}

void pt__arena_purge(bool force) {
  uint64_t now = pt__os_now_ms();
  uint32_t count = pt_load_acquire(&region_count);
  for (uint32_t i = 0; i < count; i++) {
    pt_region_t* r = pt_load_acquire(&regions[i]);
    if (!r) continue;
    uint64_t at = pt_load_relaxed(&r->purge_at_ms);
    if (at == 0 || (!force && now < at)) continue;
    if (!pt_cas_strong_acq_rel(&r->purge_at_ms, &at, 0)) continue; /* another thread purges it */
    if (region_purge(r, force)) arm_purge(r);
  }
}

void pt__arena_stats(pt_arena_stats_t* out) {
  memset(out, 0, sizeof *out);
  uint32_t count = pt_load_acquire(&region_count);
  for (uint32_t i = 0; i < count; i++) {
    pt_region_t* r = pt_load_acquire(&regions[i]);
    if (!r) continue;
    out->reserved += r->size;
    for (uint32_t wi = 0; wi < r->words; wi++) {
      uint64_t u = pt_load_relaxed(&r->used[wi]), dt = pt_load_relaxed(&r->dirty[wi]);
      if (wi == 0) u &= ~pt__bits_mask(0, HEADER_SLICES);
      out->claimed += (size_t)__builtin_popcountll(u) * PT_SLICE_SIZE;
      out->dirty_free += (size_t)__builtin_popcountll(dt & ~u) * PT_SLICE_SIZE;
    }
  }
}

void pt__arena_foreach_span(void (*fn)(pt_desc_t* d, void* arg), void* arg) {
  uint32_t count = pt_load_acquire(&region_count);
  for (uint32_t i = 0; i < count; i++) {
    pt_region_t* r = pt_load_acquire(&regions[i]);
    if (!r) continue;
    for (uint32_t wi = 0; wi < r->words; wi++) {
      uint64_t u = pt_load_relaxed(&r->used[wi]);
      if (wi == 0) u &= ~pt__bits_mask(0, HEADER_SLICES);
      while (u) {
        unsigned pos = (unsigned)__builtin_ctzll(u);
        u &= u - 1;
        pt_desc_t* d = &r->descs[wi * 64 + pos];
        if (pt_load_acquire(&d->xowner) != PT_KIND_FREE) fn(d, arg);
      }
    }
  }
}
