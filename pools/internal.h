/* internal.h - types and prototypes shared by the files of pools/, grouped under the file that
 * defines them. Nothing here is public; the public API is include/ptmem/pools.h.
 *
 * Glossary
 *   slice   64 KiB of address space, the unit the arena hands out and the page map resolves.
 *   region  1 GiB reservation: a header (slice bitmaps + one descriptor per slice), then slices.
 *   span    1..64 consecutive slices inside one 64-slice word of a region's bitmap.
 *   desc    descriptor of a span (out of band, in the region header, never unmapped, so any thread
 *           may read one at any time: "type-stable"). Huge blocks have descriptors in their own table.
 *   page    a span used by the slab for blocks of one size class, owned by one thread's heap.
 *   chunk   a span used by the pool engine: fixed-size blocks any thread may take or give back.
 *   heap    per-thread slab state: page queues per class. Recycled, never freed (type-stable).
 */
#ifndef PTMEM_POOLS_INTERNAL_H
#define PTMEM_POOLS_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "atomic.h"
#include "os.h"

#define PT_KiB ((size_t)1024)
#define PT_MiB (PT_KiB * 1024)
#define PT_GiB (PT_MiB * 1024)

#define PT_SLICE_SHIFT 16
#define PT_SLICE_SIZE ((size_t)1 << PT_SLICE_SHIFT)
#define PT_REGION_SHIFT 30
#define PT_REGION_SIZE ((size_t)1 << PT_REGION_SHIFT)
#define PT_REGION_SLICES (PT_REGION_SIZE >> PT_SLICE_SHIFT) /* 16384 */
#define PT_REGION_WORDS (PT_REGION_SLICES / 64)              /* 256 */
#define PT_MAX_REGIONS 512                                   /* 512 GiB of address space */
#define PT_SPAN_MAX_SLICES 64                                /* one bitmap word: 4 MiB */
#define PT_SPAN_MAX_SIZE (PT_SPAN_MAX_SLICES * PT_SLICE_SIZE)

/* Size classes (see docs/design.md, "Size classes"): 16-byte steps to 128 B, then 4 per doubling.
 * Classes 0..39 (16 B .. 32 KiB) are slab classes; 40..47 (40 KiB .. 128 KiB) are pool classes. */
#define PT_SLAB_CLASSES 40
#define PT_MEDIUM_CLASSES 8
#define PT_SLAB_MAX (32 * PT_KiB)
#define PT_MEDIUM_MAX (128 * PT_KiB)
#define PT_LARGE_MAX PT_SPAN_MAX_SIZE /* above: huge, mapped directly */
#define PT_DIRECT_MAX 1024            /* sizes served by the direct page table */
#define PT_DIRECT_SLOTS (PT_DIRECT_MAX / 16 + 1)
#define PT_MEDIUM_SLOTS 1024 /* chunks per medium class */
#define PT_ALIGN_MIN 16

/* desc->xowner holds either the owning heap of a slab page (| PT_PAGE_FULL) or one of these kinds.
 * Kinds are below 0x100, heaps are 64-byte aligned addresses far above it. */
enum {
  PT_KIND_FREE = 0, /* zero-filled descriptors are free: no initialisation needed */
  PT_KIND_ABANDONED = 0x10,
  PT_KIND_MEDIUM = 0x20,
  PT_KIND_POOL = 0x30,
  PT_KIND_LARGE = 0x40,
  PT_KIND_HUGE = 0x50,
  PT_KIND_ARENA = 0x60,
  PT_KIND_META = 0x70,
  PT_KIND_LIMIT = 0x100,
};
#define PT_PAGE_FULL ((uintptr_t)1)
/* A slab page's descriptor: owned by a heap, or abandoned by a heap that ended. */
static inline bool pt__kind_is_slab(uintptr_t xowner) { return xowner >= PT_KIND_LIMIT || xowner == PT_KIND_ABANDONED; }

typedef struct pt_block_s {
  struct pt_block_s* next;
} pt_block_t;

struct pt_heap_s;
struct pt_pool_s;

/* Invariants: a descriptor is never unmapped. `xowner`, `thread_free`, `bits` and `empty_since_ms`
 * may be touched by any thread at any time; every other field is written only while the span is
 * claimed and is read only by threads that reached the span through a block they hold.
 *
 * Layout: the first cache line is what any thread reads to free a block or find its meta word, with
 * the two words other threads write; the second is the owner's. A slab page's owner keeps its own
 * copy of `meta` and `recip` there: with them in the first line, every tracked malloc read the line
 * that other threads' frees CAS, and a producer/consumer pair (tests/bench xmalloc, tracked) ran
 * 1.28x slower for that alone. */
typedef struct pt_desc_s {
  _Atomic uintptr_t xowner;      /* owner heap | FULL (slab), else a PT_KIND_*; written by owner */
  _Atomic uintptr_t thread_free; /* slab: other threads' frees, push-one / take-all: head<<16 | count */
  _Atomic uint64_t bits;         /* medium chunk: 1 = block free. Zero for every other kind. */
  uint8_t* start;                /* first byte of the span */
  uint64_t recip;                /* ceil(2^42 / bsize): block index = (offset * recip) >> 42 */
  uint64_t* meta;                /* one word per block for the embedder (NULL: none), see meta.c */
  uint32_t nslices;              /* span length in slices (huge: unused) */
  uint32_t bsize;                /* block size in bytes (slab, medium, pool) */
  uint32_t cls;                  /* size class (slab, medium) */
  /* medium chunk: when its last block came back (low 32 bits of ms, | 1; 0 = not empty). Outside
   * the union, like `bits`: a free's store of it can land after maintenance released the chunk
   * (its stamp from an earlier empty spell let the release through), and then it must hit a field
   * no other kind uses. In the union it overwrote a reused span's fields (TSan: a large block's
   * meta word; before that, possibly a slab page's free list). */
  _Atomic uint32_t empty_since_ms;
  union {
    struct { /* slab page; written by the owner only */
      pt_block_t* free;       /* malloc pops here */
      pt_block_t* local_free; /* owner's frees; swapped into `free` when it runs dry */
      uint64_t* meta;         /* the owner's copies of `meta` and `recip` (see Layout above) */
      uint64_t recip;
      struct pt_desc_s* next; /* heap queue, or the abandoned list */
      struct pt_desc_s* prev;
      uint32_t used;     /* blocks handed out and not yet collected back */
      uint32_t capacity; /* blocks carved so far (the free list is extended lazily) */
      uint32_t reserved; /* blocks that fit in the page */
      uint8_t in_full;   /* on the heap's full list */
      uint8_t fresh;     /* its memory was never touched: populate ahead of the free list */
    } page;
    struct {
      uint32_t slot;                   /* index in its class registry */
      _Atomic uint32_t nblocks;        /* atomic: maintenance reads it from chunks being recycled */
    } medium;
    struct {
      struct pool_chunk_hdr_s* hdr; /* in-band header at the chunk start */
    } pool;
    struct {
      uint64_t own_meta; /* the meta word of the span's one block */
    } large;
    struct {
      size_t size;  /* mapping length (a multiple of 64 KiB) */
      size_t align; /* alignment asked for at allocation (for realloc) */
      _Atomic uint64_t cached_ms;
      uint64_t own_meta; /* the meta word of the mapping's one block */
    } huge;
  };
} __attribute__((aligned(64))) pt_desc_t; /* whole cache lines: neighbours belong to other threads */

_Static_assert(sizeof(pt_desc_t) == 128, "descriptors are 128 bytes (two cache lines)");
_Static_assert(offsetof(pt_desc_t, page) == 64, "the owner's fields start the second cache line");

/* ---- "sizeclass.c" / inline -------------------------------------------------------------------- */
static inline unsigned pt__size_class(size_t n) {
  if (n <= 128) return n == 0 ? 0 : (unsigned)((n + 15) >> 4) - 1;
  unsigned b = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1)); /* n-1 in [2^b, 2^b+1) */
  return 8u + (b - 7u) * 4u + (unsigned)((n - 1) >> (b - 2)) - 4u;
}
static inline size_t pt__class_size(unsigned cls) {
  if (cls < 8) return (size_t)(cls + 1) * 16;
  unsigned b = 7u + (cls - 8u) / 4u, k = (cls - 8u) % 4u + 5u;
  return (size_t)k << (b - 2);
}
/* Slab pages hold at least 8 blocks: 64 KiB pages up to 8 KiB, 256 KiB pages above. */
static inline unsigned pt__class_page_slices(unsigned cls) { return pt__class_size(cls) <= 8 * PT_KiB ? 1 : 4; }

/* ---- "pagemap.c": 64 KiB slice -> descriptor, two levels, lock-free ---------------------------- */
#define PT_PAGEMAP_TOP_BITS 18 /* 47-bit address space: 2^18 submaps of 2^13 slices */
#define PT_PAGEMAP_SUB_BITS 13
typedef _Atomic(pt_desc_t*) pt_pagemap_sub_t[1u << PT_PAGEMAP_SUB_BITS];
extern _Atomic(pt_pagemap_sub_t*) pt__pagemap[1u << PT_PAGEMAP_TOP_BITS];

static inline pt_desc_t* pt__pagemap_lookup(const void* p) {
  uintptr_t u = (uintptr_t)p;
  if (pt_unlikely(u >> 47)) return NULL;
  pt_pagemap_sub_t* sub = pt_load_relaxed(&pt__pagemap[u >> (PT_SLICE_SHIFT + PT_PAGEMAP_SUB_BITS)]);
  if (pt_unlikely(!sub)) return NULL;
  return pt_load_relaxed(&(*sub)[(u >> PT_SLICE_SHIFT) & ((1u << PT_PAGEMAP_SUB_BITS) - 1)]);
}
/* Point every slice of [start, start+size) at d (NULL to forget). False if a submap cannot be mapped. */
bool pt__pagemap_set(const void* start, size_t size, pt_desc_t* d);

/* ---- "arena.c": regions, spans, purge ------------------------------------------------------------ */
/* Claim `nslices` (1..64) consecutive slices aligned to `align_slices` (power of two <= 64) and map
 * them to the returned head descriptor, with xowner still PT_KIND_FREE. *is_zero tells whether all
 * the slices are untouched since mapping or purge. NULL when address space is exhausted. */
pt_desc_t* pt__span_claim(uint32_t nslices, uint32_t align_slices, bool* is_zero);
/* Give a span back; its memory is purged later under the delay policy. */
void pt__span_free(pt_desc_t* d);
/* Shrink a span in place to `nslices` (>= 1), freeing its tail. */
void pt__span_shrink(pt_desc_t* d, uint32_t nslices);
/* Try to grow a span in place to `nslices` (<= 64) by claiming the free slices after it. */
bool pt__span_grow(pt_desc_t* d, uint32_t nslices);
/* True if p lies inside a region (even in a free slice): used to tell "invalid" from "foreign". */
bool pt__arena_contains(const void* p);
/* Purge free dirty slices whose delay expired (all of them if force). Any thread may call it. */
void pt__arena_purge(bool force);
typedef struct pt_arena_stats_s {
  size_t reserved, claimed, dirty_free;
} pt_arena_stats_t;
void pt__arena_stats(pt_arena_stats_t* out);
/* Calls fn for the head descriptor of every claimed span (racy snapshot, for stats and fork). */
void pt__arena_foreach_span(void (*fn)(pt_desc_t* d, void* arg), void* arg);

/* ---- "maintenance.c": settings (the embedder sets them in pt__embedder_init) and periodic work ---- */
typedef struct pt_settings_s {
  uint32_t purge_delay_ms; /* free memory returns to the OS this long after it was freed */
  uint32_t huge_cache_mb;  /* huge mappings kept for reuse, in MiB */
  bool block_meta;         /* give every block a zeroed 64-bit meta word (tracking); set before use */
} pt_settings_t;
extern pt_settings_t pt__settings;
/* Runs the periodic work (purge expired memory, release empty chunks) if `purge_delay_ms` passed since
 * the last run. Cheap to call often: one clock read. */
void pt__maintenance(bool force);
void pt__maintenance_fork_child(void);

/* ---- "huge.c": blocks above 4 MiB, mapped directly, with a small reuse cache -------------------- */
void* pt__huge_alloc(size_t size, size_t align, bool zero);
/* The same, taking from the cache only a mapping of about the size asked (no shrinking a big one). */
void* pt__huge_alloc_fitting(size_t size, size_t align, bool zero);
void pt__huge_free(pt_desc_t* d);
void* pt__huge_realloc(pt_desc_t* d, size_t size);
void pt__huge_purge(bool force);
size_t pt__huge_bytes(void);

/* ---- "slab.c": small blocks in thread-owned pages ----------------------------------------------- */
void* pt__slab_alloc_generic(struct pt_heap_s* h, size_t n, unsigned cls);
void pt__slab_free_slow(pt_desc_t* d, void* p, uintptr_t xowner);
void pt__slab_free_remote(pt_desc_t* d, void* p); /* as another thread frees, whoever owns the page */
void pt__page_collect(pt_desc_t* pg);
void pt__page_retire(struct pt_heap_s* h, pt_desc_t* pg);
void pt__page_release(pt_desc_t* pg);

/* ---- "heap.c": per-thread heaps, thread exit, abandoned pages, fork ------------------------------ */
typedef struct pt_page_queue_s {
  pt_desc_t* first;
  pt_desc_t* last;
} pt_page_queue_t;

/* Invariants: only the owning thread touches a heap, except `remote_hint` (set by any thread that
 * frees into one of the heap's full pages) and `state` (claimed by CAS when a thread adopts it). */
typedef struct pt_heap_s {
  pt_desc_t* direct[PT_DIRECT_SLOTS]; /* (n+15)/16 -> page with free blocks, or the empty page */
  pt_page_queue_t queue[PT_SLAB_CLASSES];
  pt_page_queue_t full;
  pt_desc_t* medium_hint[PT_MEDIUM_CLASSES];
  _Atomic uint32_t remote_hint; /* a full page got a remote free */
  _Atomic uint32_t state;       /* PT_HEAP_UNUSED / PT_HEAP_ACTIVE */
  uint32_t generic_calls;
  struct pt_heap_s* next_all; /* registry of every heap ever made */
} __attribute__((aligned(64))) pt_heap_t;
enum { PT_HEAP_UNUSED = 0, PT_HEAP_ACTIVE = 1 };

/* The thread's heap, and whether the thread is inside the allocator (entry.h: its stack pointer
 * then, else 0), side by side: one thread-pointer offset for both in the fast path. */
typedef struct pt_tls_s {
  pt_heap_t* heap;
  uintptr_t busy;
} pt_tls_t;
extern __thread pt_tls_t pt__tls __attribute__((tls_model("initial-exec")));
#define pt__tls_heap (pt__tls.heap)
extern pt_heap_t pt__heap_empty;
extern pt_desc_t pt__page_empty;
pt_heap_t* pt__heap_acquire(void);    /* give this thread a heap; NULL only if out of memory */
void pt__heap_thread_done(void);      /* this thread ends: abandon its pages, recycle its heap */
bool pt__heap_thread_is_done(void);   /* the heap destructor of this thread already ran */
void* pt__heap_dying_alloc(size_t n, unsigned cls);
void pt__heap_queue_push_front(pt_heap_t* h, pt_desc_t* pg);
void pt__heap_queue_push_back(pt_heap_t* h, pt_desc_t* pg);
void pt__heap_queue_remove(pt_heap_t* h, pt_desc_t* pg);
void pt__heap_direct_update(pt_heap_t* h, unsigned cls);
void pt__abandoned_push(pt_desc_t* pg);
void pt__abandoned_push_list(pt_desc_t* first); /* a chain linked by page.next, one class */
pt_desc_t* pt__abandoned_take(unsigned cls);
void pt__slab_fork_child(void);
void pt__abandoned_sweep(void);
void pt__heap_fork_child(void);
/* Call in the child after fork() (pthread_atfork): rescues the pages of the vanished threads. */
void pt__fork_child(void);
void pt__heap_foreach(void (*fn)(pt_heap_t* h, void* arg), void* arg);

/* ---- "medium.c": 32 KiB..128 KiB blocks from the lock-free pool engine ------------------------- */
void* pt__medium_alloc(pt_heap_t* h, unsigned cls);
void pt__medium_free(pt_desc_t* d, void* p);
void pt__medium_release_empty(bool force);

/* ---- "pool.c": public typed pools ---------------------------------------------------------------- */
void pt__pool_free_block(pt_desc_t* d, void* p);
size_t pt__pool_block_size(pt_desc_t* d);

/* ---- "bits.c": claiming bits of atomic 64-bit words --------------------------------------------- */
/* Find `n` consecutive zero bits in w starting at a multiple of `align` (both <= 64); -1 if none. */
int pt__bits_find_run(uint64_t w, unsigned n, unsigned align);
/* Atomically clear the lowest set bit of *w; its index, or -1 if the word is zero. */
int pt__bits_take_lowest(_Atomic uint64_t* w);
static inline uint64_t pt__bits_mask(unsigned pos, unsigned n) {
  return (n >= 64 ? ~0ull : ((1ull << n) - 1)) << pos;
}

/* ---- "alloc.c": routing by size, the malloc-level API of the pools library ---------------------- */
void* pt__alloc_slow(size_t n);
void pt__free_slow(void* p, pt_desc_t* d);
/* pt__free_slow's work by kind; in_handler: as a signal handler inside malloc must (entry.h), a
 * slab block onto its page's remote list whoever owns the page, and no maintenance. */
void pt__free_kind(void* p, pt_desc_t* d, bool in_handler);
void* pt__alloc_aligned(size_t n, size_t align);
void* pt__realloc(void* p, size_t n);
size_t pt__usable_size_of(const void* p, pt_desc_t* d);
void* pt__calloc(size_t count, size_t size);
/* realloc's move of a block's contents. Not memcpy: glibc's (AVX-512) leaves the last 32-64 bytes
 * it moved in ymm16-31, which little other code touches, and a leak checker reads a thread's
 * vector registers as roots (LSan does; so does the tracker at exit): the pointers at the end of a
 * realloc'd array kept the blocks they point to "reachable" after the array itself was lost (8 of
 * 64 strings; LSan, whose allocator copies without vector registers, said all 64 indirect).
 * `rep movsb` moves through no register the program can see afterwards. */
static inline void pt__move_contents(void* dst, const void* src, size_t n) {
#if defined(__x86_64__)
  __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
  memcpy(dst, src, n);
#endif
}
void pt__invalid_free(const void* p, const char* why);

/* ---- "meta.c": one 64-bit word per block, owned by the embedder (the tracker's record) ---------- */
/* The word lives outside the block (page or chunk tail, or the descriptor), is zero while the block
 * is free, and survives until the block is freed: the embedder writes it after malloc and clears it
 * before free. NULL for blocks without one (made while block_meta was off, pools, arenas). */
/* Bytes the page or chunk needs for the meta words of `blocks` blocks. */
static inline size_t pt__meta_bytes(uint32_t blocks) { return pt__settings.block_meta ? (size_t)blocks * 8 : 0; }
static inline uint64_t pt__recip(uint32_t bsize) { return ((1ull << 42) + bsize - 1) / bsize; }
static inline uint32_t pt__block_index(const pt_desc_t* d, const void* p) {
  return (uint32_t)(((uint64_t)((const uint8_t*)p - d->start) * d->recip) >> 42);
}
/* Inline: the tracker asks on every malloc and free. (Defined here, after what it needs.) */
static inline uint64_t* pt__block_meta(const void* p, pt_desc_t* d) {
  uintptr_t x = pt_load_relaxed(&d->xowner);
  if (pt__kind_is_slab(x) || x == PT_KIND_MEDIUM) /* blocks of a size class: one word each */
    return d->meta ? &d->meta[pt__block_index(d, p)] : NULL;
  if (x == PT_KIND_LARGE) return &d->large.own_meta;
  if (x == PT_KIND_HUGE) return &d->huge.own_meta;
  return NULL;
}
/* The meta word of block p, found through the page map; NULL as pt__block_meta does, or if p is
 * not ptmem's. */
static inline uint64_t* pt__block_meta_of(const void* p) {
  pt_desc_t* d = pt__pagemap_lookup(p);
  return d ? pt__block_meta(p, d) : NULL;
}
/* The live block containing address `addr` (interior pointers too): its start, usable size and meta
 * word; false if addr is not inside a block ptmem handed out with a non-zero meta word. */
bool pt__block_find(const void* addr, void** start, size_t* size, uint64_t** meta);
/* Calls fn for every block whose meta word is non-zero (not thread-safe against frees: call it with
 * the world quiet, e.g. at exit). */
typedef void (*pt_meta_visit_fn)(void* block, size_t size, uint64_t* meta, void* arg);
void pt__foreach_meta(pt_meta_visit_fn fn, void* arg);
void pt__huge_foreach(void (*fn)(pt_desc_t* d, void* arg), void* arg);
/* If `addr` is in memory of the allocator itself (a region, a huge block, a cached huge mapping or
 * the huge descriptor table), the end of that piece of memory; otherwise 0. */
uintptr_t pt__huge_internal_end(uintptr_t addr);
uintptr_t pt__arena_internal_end(uintptr_t addr);
uintptr_t pt__internal_end(uintptr_t addr);

/* ---- "stats.c" ------------------------------------------------------------------------------------ */
typedef struct pt_stats_s {
  size_t mapped;     /* bytes of address space holding blocks or metadata (claimed spans + huge) */
  size_t in_use;     /* bytes in blocks handed out (block sizes, not requests) */
  size_t free_dirty; /* free bytes still resident until purged */
  size_t huge;       /* bytes in huge mappings */
  size_t rss;        /* resident set size of the process */
  size_t heaps;      /* thread heaps in use */
  size_t slab_pages, abandoned_pages, medium_chunks, large_spans; /* bytes claimed by each */
} pt_stats_t;
void pt__stats_collect(pt_stats_t* out);

#endif
