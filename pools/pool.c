/* pool.c - public typed pools (pt_pool_*): exact-size blocks, thread-safe, lock-free, destroyed
 * all at once. The engine is the medium classes' one (bits.c claims, a chunk registry with a
 * non-full bitmap), with the free bitmap in an in-band header at the chunk start because a chunk
 * can hold thousands of blocks. Chunks are only released by pt_pool_destroy, so a stale chunk
 * pointer never points at memory reused for something else. */
#include "internal.h"
#include "ptmem/pools.h"

#include <errno.h>
#include <string.h>

#define POOL_SLOTS 4096

typedef struct pool_chunk_hdr_s {
  struct pt_pool_s* pool;
  uint32_t slot;
  uint32_t nwords;
  _Atomic uint64_t bits[]; /* 1 = block free */
} pool_chunk_hdr_t;

struct pt_pool_s {
  size_t block_size;
  size_t align;
  size_t first_offset; /* from chunk start to block 0 */
  uint32_t blocks_per_chunk;
  uint32_t chunk_slices;
  _Atomic uint32_t hint;       /* slot where the last allocation succeeded */
  _Atomic uint64_t live;       /* blocks handed out */
  pt_desc_t* self;             /* span holding this struct */
  char name[48];
  _Atomic(pool_chunk_hdr_t*) slots[POOL_SLOTS];
  _Atomic uint64_t nonfull[POOL_SLOTS / 64];
  _Atomic uint64_t occupied[POOL_SLOTS / 64];
};

static size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

pt_pool_t* pt_pool_create(size_t block_size, size_t align, const char* name) {
  if (align == 0) align = PT_ALIGN_MIN;
  if ((align & (align - 1)) || align > PT_SLICE_SIZE || block_size == 0 || block_size > PT_SPAN_MAX_SIZE / 2) {
    errno = EINVAL;
    return NULL;
  }
  size_t bsize = align_up(block_size < sizeof(void*) ? sizeof(void*) : block_size, align);
  size_t chunk = align_up(bsize * 64, PT_SLICE_SIZE);
  if (chunk > PT_SPAN_MAX_SIZE) chunk = PT_SPAN_MAX_SIZE;
  size_t blocks = chunk / bsize, offset = 0;
  for (int i = 0; i < 3; i++) { /* the header size depends on the block count and back */
    offset = align_up(sizeof(pool_chunk_hdr_t) + (blocks + 63) / 64 * 8, align);
    blocks = (chunk - offset) / bsize;
  }
  if (blocks == 0) {
    errno = EINVAL;
    return NULL;
  }
  bool is_zero;
  _Static_assert(sizeof(struct pt_pool_s) <= PT_SLICE_SIZE, "pool struct must fit in one slice");
  pt_desc_t* self = pt__span_claim(1, 1, &is_zero);
  if (!self) {
    errno = ENOMEM;
    return NULL;
  }
  pt_store_release(&self->xowner, (uintptr_t)PT_KIND_META);
  pt_pool_t* pool = (pt_pool_t*)self->start;
  memset(pool, 0, sizeof *pool);
  pool->block_size = bsize;
  pool->align = align;
  pool->first_offset = offset;
  pool->blocks_per_chunk = (uint32_t)blocks;
  pool->chunk_slices = (uint32_t)(chunk / PT_SLICE_SIZE);
  pool->self = self;
  if (name) {
    strncpy(pool->name, name, sizeof pool->name - 1);
  }
  return pool;
}

static void* chunk_claim(pt_pool_t* pool, pool_chunk_hdr_t* c) {
  for (uint32_t wi = 0; wi < c->nwords; wi++) {
    if (!pt_load_relaxed(&c->bits[wi])) continue;
    int i = pt__bits_take_lowest(&c->bits[wi]);
    if (i >= 0) return (uint8_t*)c + pool->first_offset + ((size_t)wi * 64 + (size_t)i) * pool->block_size;
  }
  return NULL;
}

static bool chunk_has_free(pool_chunk_hdr_t* c) {
  for (uint32_t wi = 0; wi < c->nwords; wi++)
    if (pt_load_seqcst(&c->bits[wi])) return true;
  return false;
}

static void* chunk_new(pt_pool_t* pool) {
  uint32_t slot = UINT32_MAX;
  for (uint32_t wi = 0; wi < POOL_SLOTS / 64 && slot == UINT32_MAX; wi++) {
    uint64_t w = pt_load_relaxed(&pool->occupied[wi]);
    while (~w) {
      uint64_t bit = ~w & (w + 1);
      if (pt_cas_weak_acq_rel(&pool->occupied[wi], &w, w | bit)) {
        slot = wi * 64 + (uint32_t)__builtin_ctzll(bit);
        break;
      }
    }
  }
  if (slot == UINT32_MAX) return NULL;
  bool is_zero;
  pt_desc_t* d = pt__span_claim(pool->chunk_slices, 1, &is_zero);
  if (!d) {
    pt_fetch_and_acq_rel(&pool->occupied[slot / 64], ~(1ull << (slot % 64)));
    return NULL;
  }
  pool_chunk_hdr_t* c = (pool_chunk_hdr_t*)d->start;
  c->pool = pool;
  c->slot = slot;
  c->nwords = (pool->blocks_per_chunk + 63) / 64;
  for (uint32_t wi = 0; wi < c->nwords; wi++) {
    uint32_t left = pool->blocks_per_chunk - wi * 64;
    pt_store_relaxed(&c->bits[wi], pt__bits_mask(0, left > 64 ? 64 : left));
  }
  pt_store_relaxed(&c->bits[0], pt_load_relaxed(&c->bits[0]) & ~1ull); /* block 0 is ours */
  d->bsize = (uint32_t)pool->block_size;
  d->pool.hdr = c;
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_POOL);
  pt_store_release(&pool->slots[slot], c);
  pt_fetch_or_seqcst(&pool->nonfull[slot / 64], 1ull << (slot % 64));
  pt_store_relaxed(&pool->hint, slot);
  return (uint8_t*)c + pool->first_offset;
}

void* pt_pool_alloc(pt_pool_t* pool) {
  uint32_t hint = pt_load_relaxed(&pool->hint);
  pool_chunk_hdr_t* c = pt_load_acquire(&pool->slots[hint]);
  void* p = c ? chunk_claim(pool, c) : NULL;
  for (uint32_t wi = 0; !p && wi < POOL_SLOTS / 64; wi++) {
    uint64_t w = pt_load_relaxed(&pool->nonfull[wi]);
    while (w && !p) {
      uint32_t slot = wi * 64 + (uint32_t)__builtin_ctzll(w);
      w &= w - 1;
      c = pt_load_acquire(&pool->slots[slot]);
      if (c && (p = chunk_claim(pool, c)) != NULL) {
        pt_store_relaxed(&pool->hint, slot);
        break;
      }
      uint64_t bit = 1ull << (slot % 64);
      pt_fetch_and_seqcst(&pool->nonfull[wi], ~bit);
      if (c && chunk_has_free(c)) pt_fetch_or_seqcst(&pool->nonfull[wi], bit);
    }
  }
  if (!p) p = chunk_new(pool);
  if (!p) {
    errno = ENOMEM;
    return NULL;
  }
  pt_fetch_add_relaxed(&pool->live, 1);
  return p;
}

void pt__pool_free_block(pt_desc_t* d, void* p) {
  pool_chunk_hdr_t* c = d->pool.hdr;
  pt_pool_t* pool = c->pool;
  size_t off = (size_t)((uint8_t*)p - (uint8_t*)c);
  size_t idx = (off - pool->first_offset) / pool->block_size;
  if (off < pool->first_offset || (off - pool->first_offset) % pool->block_size || idx >= pool->blocks_per_chunk) {
    pt__invalid_free(p, "pointer is not the start of a pool block");
    return;
  }
  uint64_t bit = 1ull << (idx % 64);
  uint64_t old = pt_fetch_or_seqcst(&c->bits[idx / 64], bit);
  if (old & bit) {
    pt__invalid_free(p, "double free of a pool block");
    return;
  }
  pt_fetch_sub_relaxed(&pool->live, 1);
  uint64_t sbit = 1ull << (c->slot % 64);
  if (!(pt_load_relaxed(&pool->nonfull[c->slot / 64]) & sbit)) pt_fetch_or_seqcst(&pool->nonfull[c->slot / 64], sbit);
}

size_t pt__pool_block_size(pt_desc_t* d) { return d->pool.hdr->pool->block_size; }

void pt_pool_free(pt_pool_t* pool, void* p) {
  if (!p) return;
  pt_desc_t* d = pt__pagemap_lookup(p);
  if (!d || pt_load_relaxed(&d->xowner) != PT_KIND_POOL || d->pool.hdr->pool != pool) {
    pt__invalid_free(p, "pt_pool_free: pointer does not belong to this pool");
    return;
  }
  pt__pool_free_block(d, p);
}

size_t pt_pool_block_size(const pt_pool_t* pool) { return pool->block_size; }
size_t pt_pool_live(const pt_pool_t* pool) { return (size_t)pt_load_relaxed(&((pt_pool_t*)pool)->live); }
const char* pt_pool_name(const pt_pool_t* pool) { return pool->name; }

void pt_pool_destroy(pt_pool_t* pool) {
  if (!pool) return;
  for (uint32_t slot = 0; slot < POOL_SLOTS; slot++) {
    pool_chunk_hdr_t* c = pt_load_acquire(&pool->slots[slot]);
    if (c) pt__span_free(pt__pagemap_lookup(c));
  }
  pt__span_free(pool->self);
}
