/* stacktab.c - stack interning: a return-address array -> a dense 32-bit id, without a lock.
 *
 * A stack's frames go to an append-only store (space claimed with one fetch_add); its id comes from
 * another fetch_add; then it is published by one CAS on an open-addressing slot holding
 * (hash high 32 bits << 32 | id). Readers compare the hash half, then the frames, so two stacks
 * sharing 32 hash bits still get two ids. Two threads inserting the same new stack at once may both
 * get an id (the loser's id stays valid and is merged by frames in the report); nothing is ever
 * removed. A small per-thread cache of (64-bit hash -> id) answers repeated stacks without touching
 * the shared table. All memory is reserved address space, committed by the kernel as it is touched.
 * (LeakSanitizer's StackDepot is the same idea with a lock per bucket.) */
#include <string.h>

#include "../pools/os.h"
#include "../pools/atomic.h"
#include "leaks.h"
#include "perthread.h"
#include "track.h"

#define SLOTS_BITS 22                 /* 4M slots: 64% full at the 24-bit id limit... never reached */
#define SLOTS (1u << SLOTS_BITS)
#define FRAMES_MAX (1u << 27)         /* 128M frames: 1 GiB of address space */
#define CACHE_SLOTS 4096 /* 64 KiB per thread, out of thread-local storage (perthread.h) */

static _Atomic uint64_t* slots;       /* (hash >> 32) << 32 | id; 0 = empty */
static _Atomic uint64_t* index_of;    /* per id: frame offset << 8 | depth */
static uintptr_t* frames_store;
static _Atomic uint32_t next_id = 2;  /* 0 = none, 1 = unknown */
static _Atomic uint64_t frames_used;
static _Atomic int ready;             /* 0 no, 1 reserving, 2 yes, 3 failed */

typedef struct cache_entry_s {
  uint64_t hash;
  uint32_t id;
} cache_entry_t;
/* The shared table is 32 MiB probed at random: a lookup there is a cache miss and a TLB miss, the
 * hottest load of gcc's cc1 tracked (11% of its samples; its stacks rarely replay: 1.6 M lookups
 * for 2.3 M allocations, 43% of them answered here). 65536 entries answered 92% but gained only 2%
 * of wall time for 1 MiB a thread. */
static pt_perthread_pool_t cache_pool = {.size = CACHE_SLOTS * sizeof(cache_entry_t)};
static __thread cache_entry_t* tls_cache __attribute__((tls_model("initial-exec")));

static cache_entry_t* cache_of_thread(void) {
  if (pt_unlikely(!tls_cache)) tls_cache = pt_perthread_take(&cache_pool);
  return tls_cache;
}

void pt_track_stacktab_thread_exit(void) {
  pt_perthread_give(&cache_pool, tls_cache);
  tls_cache = NULL;
}

void pt_track_stacktab_fork_child(void) { pt_perthread_fork_child(&cache_pool); }

static bool ensure_ready(void) {
  int st = pt_load_acquire(&ready);
  if (pt_likely(st == 2)) return true;
  int expected = 0;
  if (st == 0 && pt_cas_strong_acq_rel(&ready, &expected, 1)) {
    slots = pt__os_reserve((size_t)SLOTS * 8, 4096);
    index_of = pt__os_reserve((size_t)(PT_STACK_MAX + 1) * 8, 4096);
    frames_store = pt__os_reserve((size_t)FRAMES_MAX * sizeof(uintptr_t), 4096);
    pt_track_leaks_exclude(slots, (size_t)SLOTS * 8);
    pt_track_leaks_exclude(index_of, (size_t)(PT_STACK_MAX + 1) * 8);
    pt_track_leaks_exclude(frames_store, (size_t)FRAMES_MAX * sizeof(uintptr_t));
    pt_store_release(&ready, slots && index_of && frames_store ? 2 : 3);
  }
  while ((st = pt_load_acquire(&ready)) == 1) {
  }
  return st == 2;
}

static uint64_t hash_frames(const uintptr_t* f, unsigned n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (unsigned i = 0; i < n; i++) {
    h ^= f[i];
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  return h | 1; /* never 0: 0 marks an empty cache entry */
}

unsigned pt_track_stack_frames(uint32_t id, const uintptr_t** frames) {
  if (id < 2 || id >= pt_load_acquire(&next_id) || !index_of) {
    *frames = NULL;
    return 0;
  }
  uint64_t ix = pt_load_acquire(&index_of[id]);
  *frames = frames_store + (ix >> 8);
  return (unsigned)(ix & 0xFF);
}

uint32_t pt_track_stack_count(void) {
  uint32_t n = pt_load_acquire(&next_id);
  return n > PT_STACK_MAX + 1 ? PT_STACK_MAX + 1 : n;
}

static bool same_frames(uint32_t id, const uintptr_t* f, unsigned n) {
  uint64_t ix = pt_load_acquire(&index_of[id]);
  if (ix == 0 || (ix & 0xFF) != n) return false; /* 0: published slot whose index is not yet written */
  return memcmp(frames_store + (ix >> 8), f, n * sizeof *f) == 0;
}

static uint32_t intern(const uintptr_t* f, unsigned n, cache_entry_t* cache) {
  if (n == 0) return PT_STACK_UNKNOWN;
  if (n > PT_TRACK_DEPTH_MAX) n = PT_TRACK_DEPTH_MAX;
  uint64_t h = hash_frames(f, n);
  cache_entry_t* c = cache ? &cache[h & (CACHE_SLOTS - 1)] : NULL;
  if (c && c->hash == h) return c->id;
  if (!ensure_ready()) return PT_STACK_UNKNOWN;
  uint64_t tag = h & ~0xFFFFFFFFull;
  uint32_t id = PT_STACK_UNKNOWN;
  for (uint32_t i = (uint32_t)(h >> 7) & (SLOTS - 1), probes = 0; probes < SLOTS; i = (i + 1) & (SLOTS - 1), probes++) {
    uint64_t v = pt_load_acquire(&slots[i]);
    if (v == 0) {
      uint32_t fresh = pt_fetch_add_relaxed(&next_id, 1);
      uint64_t off = pt_fetch_add_relaxed(&frames_used, n);
      if (fresh > PT_STACK_MAX || off + n > FRAMES_MAX) return PT_STACK_UNKNOWN; /* table full */
      memcpy(frames_store + off, f, n * sizeof *f);
      pt_store_release(&index_of[fresh], off << 8 | n);
      uint64_t expected = 0;
      if (pt_cas_strong_acq_rel(&slots[i], &expected, tag | fresh)) {
        id = fresh;
        break;
      }
      v = expected; /* someone else took the slot: it may be our stack */
    }
    if ((v & ~0xFFFFFFFFull) == tag && same_frames((uint32_t)v, f, n)) {
      id = (uint32_t)v;
      break;
    }
  }
  if (c) {
    c->hash = h;
    c->id = id;
  }
  return id;
}

uint32_t pt_track_stack_intern(const uintptr_t* f, unsigned n) { return intern(f, n, cache_of_thread()); }
uint32_t pt_track_stack_intern_shared(const uintptr_t* f, unsigned n) { return intern(f, n, NULL); }

void pt_track_stack_reset_for_tests(void) {
  if (tls_cache) memset(tls_cache, 0, cache_pool.size);
}
