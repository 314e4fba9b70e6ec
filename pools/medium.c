/* medium.c - blocks of 32 KiB .. 128 KiB (8 classes, all multiples of 8 KiB) from the pool engine:
 * chunks of up to 16 equal blocks (at most 4 MiB), any thread takes a block by clearing a bit of
 * the chunk's free bitmap and gives it back by setting it. No owner, so cross-thread frees cost the
 * same as local ones and a dying thread abandons nothing.
 *
 * The bitmap lives in the chunk's descriptor, which is type-stable, and is zero for any descriptor
 * that is not a live medium chunk. So a stale pointer to a descriptor (a hint, a registry read
 * racing with a release) can never claim a block of something else: the claim fails on a zero
 * word, or it succeeds on a live chunk, which cannot be released while we hold one of its bits, and
 * we check its class before using the block. Empty chunks are released by maintenance once they have
 * been empty for purge_delay_ms, with one CAS (all free -> none free) that fails if anyone took a
 * block meanwhile. */
#include "internal.h"

#include <string.h>

typedef struct medium_class_s {
  _Atomic(pt_desc_t*) slots[PT_MEDIUM_SLOTS];
  _Atomic uint64_t nonfull[PT_MEDIUM_SLOTS / 64];  /* hint: the chunk may have a free block */
  _Atomic uint64_t occupied[PT_MEDIUM_SLOTS / 64]; /* slot holds a chunk */
} medium_class_t;

static medium_class_t classes[PT_MEDIUM_CLASSES];

static uint32_t blocks_per_chunk(size_t bsize) {
  size_t n = PT_SPAN_MAX_SIZE / bsize;
  return (uint32_t)(n > 16 ? 16 : n);
}

static void* chunk_claim(pt_desc_t* d, unsigned cls) {
  int i = pt__bits_take_lowest(&d->bits);
  if (i < 0) return NULL;
  void* p = d->start + (size_t)i * d->bsize;
  if (pt_unlikely(d->cls != cls)) { /* a recycled descriptor of another class: give it back */
    pt__medium_free(d, p);
    return NULL;
  }
  return p;
}

static void nonfull_recheck(medium_class_t* mc, uint32_t slot, pt_desc_t* d) {
  uint64_t bit = 1ull << (slot % 64);
  pt_fetch_and_seqcst(&mc->nonfull[slot / 64], ~bit);
  /* A free may have set the bit just before we cleared it: look again (Dekker pair with free). */
  if (d && pt_load_seqcst(&d->bits)) pt_fetch_or_seqcst(&mc->nonfull[slot / 64], bit);
}

static void* chunk_new(pt_heap_t* h, unsigned cls) {
  medium_class_t* mc = &classes[cls - PT_SLAB_CLASSES];
  uint32_t slot = UINT32_MAX;
  for (uint32_t wi = 0; wi < PT_MEDIUM_SLOTS / 64 && slot == UINT32_MAX; wi++) {
    uint64_t w = pt_load_relaxed(&mc->occupied[wi]);
    while (~w) {
      uint64_t bit = ~w & (w + 1);
      if (pt_cas_weak_acq_rel(&mc->occupied[wi], &w, w | bit)) {
        slot = wi * 64 + (uint32_t)__builtin_ctzll(bit);
        break;
      }
    }
  }
  if (slot == UINT32_MAX) return NULL; /* registry full: the caller falls back to a large span */
  size_t bsize = pt__class_size(cls);
  uint32_t nblocks = blocks_per_chunk(bsize);
  size_t bytes = nblocks * bsize + pt__meta_bytes(nblocks); /* meta words after the last block */
  uint32_t slices = (uint32_t)((bytes + PT_SLICE_SIZE - 1) / PT_SLICE_SIZE);
  bool is_zero;
  pt_desc_t* d = pt__span_claim(slices, 1, &is_zero);
  if (!d) {
    pt_fetch_and_acq_rel(&mc->occupied[slot / 64], ~(1ull << (slot % 64)));
    return NULL;
  }
  d->cls = cls;
  d->bsize = (uint32_t)bsize;
  d->medium.slot = slot;
  pt_store_relaxed(&d->medium.nblocks, nblocks);
  d->recip = pt__recip((uint32_t)bsize);
  d->meta = NULL;
  if (pt__settings.block_meta) {
    d->meta = (uint64_t*)(d->start + nblocks * bsize);
    if (!is_zero) memset(d->meta, 0, pt__meta_bytes(nblocks));
  }
  pt_store_relaxed(&d->empty_since_ms, 0);
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_MEDIUM);
  pt_store_release(&d->bits, pt__bits_mask(1, nblocks - 1)); /* block 0 is ours */
  pt_store_release(&mc->slots[slot], d);
  if (nblocks > 1) pt_fetch_or_seqcst(&mc->nonfull[slot / 64], 1ull << (slot % 64));
  if (h != &pt__heap_empty) h->medium_hint[cls - PT_SLAB_CLASSES] = d;
  return d->start;
}

void* pt__medium_alloc(pt_heap_t* h, unsigned cls) {
  unsigned k = cls - PT_SLAB_CLASSES;
  medium_class_t* mc = &classes[k];
  pt_desc_t* hint = h->medium_hint[k];
  if (hint) {
    void* p = chunk_claim(hint, cls);
    if (p) return p;
  }
  for (uint32_t wi = 0; wi < PT_MEDIUM_SLOTS / 64; wi++) {
    uint64_t w = pt_load_relaxed(&mc->nonfull[wi]);
    while (w) {
      uint32_t slot = wi * 64 + (uint32_t)__builtin_ctzll(w);
      w &= w - 1;
      pt_desc_t* d = pt_load_acquire(&mc->slots[slot]);
      void* p = d ? chunk_claim(d, cls) : NULL;
      if (p) {
        if (h != &pt__heap_empty) h->medium_hint[k] = d;
        return p;
      }
      nonfull_recheck(mc, slot, d);
    }
  }
  pt__maintenance(false);
  return chunk_new(h, cls);
}

/* Everything read from the descriptor is read before the block goes back: once it is back, the
 * chunk may be released and its descriptor reused by another thread. */
void pt__medium_free(pt_desc_t* d, void* p) {
  size_t off = (size_t)((uint8_t*)p - d->start);
  uint32_t idx = (uint32_t)(off / d->bsize), nblocks = pt_load_relaxed(&d->medium.nblocks);
  if (off % d->bsize != 0 || idx >= nblocks) {
    pt__invalid_free(p, "pointer is not the start of a block");
    return;
  }
  uint32_t slot = d->medium.slot;
  medium_class_t* mc = &classes[d->cls - PT_SLAB_CLASSES];
  uint64_t bit = 1ull << idx, full = pt__bits_mask(0, nblocks);
  uint64_t old = pt_fetch_or_seqcst(&d->bits, bit);
  if (old & bit) {
    pt__invalid_free(p, "double free");
    return;
  }
  if ((old | bit) == full) pt_store_relaxed(&d->empty_since_ms, (uint32_t)pt__os_now_ms() | 1);
  if (old == 0) pt_fetch_or_seqcst(&mc->nonfull[slot / 64], 1ull << (slot % 64));
}

void pt__medium_release_empty(bool force) {
  uint64_t now = pt__os_now_ms();
  for (unsigned k = 0; k < PT_MEDIUM_CLASSES; k++) {
    medium_class_t* mc = &classes[k];
    for (uint32_t wi = 0; wi < PT_MEDIUM_SLOTS / 64; wi++) {
      uint64_t w = pt_load_relaxed(&mc->occupied[wi]);
      while (w) {
        uint32_t slot = wi * 64 + (uint32_t)__builtin_ctzll(w);
        w &= w - 1;
        pt_desc_t* d = pt_load_acquire(&mc->slots[slot]);
        if (!d) continue;
        uint32_t since = pt_load_relaxed(&d->empty_since_ms);
        if (!since || (!force && (uint32_t)now - since < pt__settings.purge_delay_ms)) continue; /* mod 2^32 */
        uint64_t full = pt__bits_mask(0, pt_load_relaxed(&d->medium.nblocks));
        if (!pt_cas_strong_acq_rel(&d->bits, &full, 0)) continue; /* someone took a block */
        pt_store_relaxed(&d->empty_since_ms, 0);
        pt_store_release(&mc->slots[slot], NULL);
        pt_fetch_and_seqcst(&mc->nonfull[wi], ~(1ull << (slot % 64)));
        pt__span_free(d);
        pt_fetch_and_acq_rel(&mc->occupied[wi], ~(1ull << (slot % 64)));
      }
    }
  }
}
