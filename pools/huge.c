/* huge.c - blocks above 4 MiB get their own mapping, 64 KiB aligned so the page map resolves them.
 * realloc moves pages with mremap instead of copying. A small cache (8 slots, at most
 * huge_cache_mb MiB in all) absorbs the allocate/free loops of big buffers without new page faults:
 * a request takes the smallest cached mapping that holds it, and one more than 25% too big is first
 * shrunk in place (mremap), so the cache never makes a block hold more resident memory than asked.
 * An entry older than purge_delay_ms is unmapped by the next maintenance. Descriptors come from a
 * table claimed with a bitmap: lock-free, no ABA. */
#include "internal.h"

#include <string.h>

#define HUGE_DESCS 65536
#define HUGE_WORDS (HUGE_DESCS / 64)
#define CACHE_SLOTS 8
#define CACHE_ENTRY_MAX (64 * PT_MiB)

static _Atomic(pt_desc_t*) desc_table;
static _Atomic uint64_t desc_used[HUGE_WORDS];
static _Atomic(pt_desc_t*) cache[CACHE_SLOTS];
static _Atomic size_t cache_bytes; /* bytes in cached mappings */
static _Atomic size_t live_bytes;  /* bytes in huge blocks handed out */

static pt_desc_t* desc_alloc(void) {
  pt_desc_t* table = pt_load_acquire(&desc_table);
  if (!table) {
    pt_desc_t* fresh = pt__os_reserve(HUGE_DESCS * sizeof(pt_desc_t), 4096);
    if (!fresh) return NULL;
    pt_desc_t* expected = NULL;
    if (pt_cas_strong_acq_rel(&desc_table, &expected, fresh)) {
      table = fresh;
    } else {
      pt__os_release(fresh, HUGE_DESCS * sizeof(pt_desc_t));
      table = expected;
    }
  }
  for (uint32_t wi = 0; wi < HUGE_WORDS; wi++) {
    uint64_t w = pt_load_relaxed(&desc_used[wi]);
    while (~w) {
      uint64_t bit = ~w & (w + 1);
      if (pt_cas_weak_acq_rel(&desc_used[wi], &w, w | bit)) return &table[wi * 64 + (uint32_t)__builtin_ctzll(bit)];
    }
  }
  return NULL;
}

static void desc_free(pt_desc_t* d) {
  size_t idx = (size_t)(d - pt_load_relaxed(&desc_table));
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_FREE);
  pt_fetch_and_acq_rel(&desc_used[idx / 64], ~(1ull << (idx % 64)));
}

static void unmap_block(pt_desc_t* d) {
  pt__os_release(d->start, d->huge.size);
  desc_free(d);
}

/* The smallest cached mapping that holds `need`, else the largest one, resized in place or moved
 * with mremap: either way its resident pages are reused and only the difference faults or is freed.
 * `fitting`: only one that holds need and is at most 25% larger (no resize), else none. */
static pt_desc_t* cache_take(size_t need, size_t* reused, bool fitting) {
  for (int attempt = 0; attempt < 2; attempt++) {
    int best = -1;
    size_t best_size = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
      pt_desc_t* d = pt_load_acquire(&cache[i]);
      if (!d) continue;
      size_t size = d->huge.size;
      bool better = best < 0 || (size >= need ? best_size < need || size < best_size : size > best_size);
      if (better) {
        best = i;
        best_size = size;
      }
    }
    if (best < 0 || (fitting && (best_size < need || best_size - need > need / 4))) return NULL;
    pt_desc_t* d = pt_load_acquire(&cache[best]);
    if (!d || !pt_cas_strong_acq_rel(&cache[best], &d, NULL)) continue; /* raced: look again */
    pt_fetch_sub_relaxed(&cache_bytes, d->huge.size);
    *reused = d->huge.size < need ? d->huge.size : need;
    if (d->huge.size < need || d->huge.size - need > need / 4) {
      void* q = pt__os_remap(d->start, d->huge.size, need, PT_SLICE_SIZE);
      if (!q) {
        unmap_block(d);
        return NULL;
      }
      d->start = q;
      d->huge.size = need;
    }
    return d;
  }
  return NULL;
}

static bool cache_put(pt_desc_t* d) {
  size_t size = d->huge.size, cap = (size_t)pt__settings.huge_cache_mb * PT_MiB;
  if (size > CACHE_ENTRY_MAX || pt_load_relaxed(&cache_bytes) + size > cap) return false;
  pt_store_relaxed(&d->huge.cached_ms, pt__os_now_ms());
  for (int i = 0; i < CACHE_SLOTS; i++) {
    pt_desc_t* expected = NULL;
    if (pt_cas_strong_acq_rel(&cache[i], &expected, d)) {
      pt_fetch_add_relaxed(&cache_bytes, size);
      return true;
    }
  }
  return false;
}

static void* huge_alloc(size_t size, size_t align, bool zero, bool fitting) {
  if (align < PT_SLICE_SIZE) align = PT_SLICE_SIZE;
  size_t need = (size + PT_SLICE_SIZE - 1) & ~(PT_SLICE_SIZE - 1);
  if (need < size) return NULL;
  size_t reused = 0;
  pt_desc_t* d = align == PT_SLICE_SIZE ? cache_take(need, &reused, fitting) : NULL;
  if (d) {
    if (zero) memset(d->start, 0, reused < size ? reused : size); /* pages added by mremap are zero */
  } else {
    d = desc_alloc();
    if (!d) return NULL;
    void* p = pt__os_map(need, align);
    if (!p) {
      desc_free(d);
      return NULL;
    }
    d->start = p;
    d->huge.size = need;
  }
  d->huge.align = align;
  d->nslices = 0;
  d->meta = NULL;
  d->huge.own_meta = 0;
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_HUGE);
  if (!pt__pagemap_set(d->start, d->huge.size, d)) {
    unmap_block(d);
    return NULL;
  }
  pt_fetch_add_relaxed(&live_bytes, d->huge.size);
  return d->start;
}

void* pt__huge_alloc(size_t size, size_t align, bool zero) { return huge_alloc(size, align, zero, false); }
void* pt__huge_alloc_fitting(size_t size, size_t align, bool zero) { return huge_alloc(size, align, zero, true); }

void pt__huge_free(pt_desc_t* d) {
  pt__pagemap_set(d->start, d->huge.size, NULL);
  pt_fetch_sub_relaxed(&live_bytes, d->huge.size);
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_FREE);
  if (d->huge.align == PT_SLICE_SIZE && cache_put(d)) return;
  unmap_block(d);
}

void* pt__huge_realloc(pt_desc_t* d, size_t size) {
  size_t need = (size + PT_SLICE_SIZE - 1) & ~(PT_SLICE_SIZE - 1);
  if (need < size) return NULL;
  size_t old = d->huge.size;
  if (need == old) return d->start;
  /* The address space mremap gives up (the tail it shrinks off, the whole block when it moves) is
   * another thread's to map the moment it is free, and that thread's block enters the page map at
   * once: the entries must be gone before, or clearing them after would erase its block (which then
   * looked foreign: glibc's free was handed it). The caller owns the block: nobody looks it up. */
  pt__pagemap_set(d->start, old, NULL);
  void* q = pt__os_remap(d->start, old, need, d->huge.align);
  if (!q) {
    pt__pagemap_set(d->start, old, d);
    return NULL;
  }
  d->start = q;
  d->huge.size = need;
  if (!pt__pagemap_set(q, need, d)) return NULL; /* cannot happen below 2^47: submaps exist or map */
  pt_fetch_add_relaxed(&live_bytes, need - old); /* wraps correctly when shrinking */
  return q;
}

void pt__huge_purge(bool force) {
  uint64_t now = pt__os_now_ms();
  for (int i = 0; i < CACHE_SLOTS; i++) {
    pt_desc_t* d = pt_load_acquire(&cache[i]);
    if (!d) continue;
    if (!force && now - pt_load_relaxed(&d->huge.cached_ms) < pt__settings.purge_delay_ms) continue;
    if (pt_cas_strong_acq_rel(&cache[i], &d, NULL)) {
      pt_fetch_sub_relaxed(&cache_bytes, d->huge.size);
      unmap_block(d);
    }
  }
}

size_t pt__huge_bytes(void) { return pt_load_relaxed(&live_bytes); }

void pt__huge_foreach(void (*fn)(pt_desc_t* d, void* arg), void* arg) {
  pt_desc_t* table = pt_load_acquire(&desc_table);
  if (!table) return;
  for (uint32_t wi = 0; wi < HUGE_WORDS; wi++) {
    uint64_t w = pt_load_relaxed(&desc_used[wi]);
    while (w) {
      pt_desc_t* d = &table[wi * 64 + (uint32_t)__builtin_ctzll(w)];
      w &= w - 1;
      if (pt_load_acquire(&d->xowner) == PT_KIND_HUGE) fn(d, arg);
    }
  }
}

uintptr_t pt__huge_internal_end(uintptr_t addr) {
  uintptr_t table = (uintptr_t)pt_load_acquire(&desc_table);
  if (table && addr >= table && addr < table + HUGE_DESCS * sizeof(pt_desc_t)) return table + HUGE_DESCS * sizeof(pt_desc_t);
  for (int i = 0; i < CACHE_SLOTS; i++) { /* cached mappings hold stale data, not live pointers */
    pt_desc_t* d = pt_load_acquire(&cache[i]);
    if (d && addr >= (uintptr_t)d->start && addr < (uintptr_t)d->start + d->huge.size) return (uintptr_t)d->start + d->huge.size;
  }
  pt_desc_t* d = pt__pagemap_lookup((const void*)addr);
  if (!d || pt_load_relaxed(&d->xowner) != PT_KIND_HUGE) return 0;
  uintptr_t end = (uintptr_t)d->start + d->huge.size;
  return end > addr ? end : addr + 1;
}
