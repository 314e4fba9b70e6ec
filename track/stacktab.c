/* stacktab.c - stack interning: a return-address array -> a dense 32-bit id, without a lock.
 *
 * A stack's frames go to an append-only store (space claimed with one fetch_add); its id comes from
 * another fetch_add; then it is published by one CAS on an open-addressing slot holding
 * (hash high 40 bits << 24 | id). Two threads inserting the same new stack at once meet at its slot
 * and agree on one id, except when the current table (below) moves on between them: then both may
 * get one, and the report merges stacks by frames; nothing is ever removed. A small per-thread
 * cache of (64-bit hash -> id) answers repeated stacks without touching the shared table. All
 * memory is reserved address space, committed by the kernel as it is touched. (LeakSanitizer's
 * StackDepot is the same idea with a lock per bucket.)
 *
 * A stack is known by its hash: the slot's 40 bits and the 14 to 22 the slot's position holds, the
 * per-thread cache's 64. The first version compared the frames too, as StackDepot does: for
 * cppcheck (100 k stacks) the stored frames were 3-4 cache misses a lookup, and the comparison and
 * its misses 10% of all its tracked time. Two of a program's stacks share 54 bits of a well-mixed
 * hash with odds of about n^2 / 2^55: 1 in 3.6 million runs for 100 k stacks. The price of such a
 * collision is one stack's allocations counted under the other's.
 *
 * The slots are a series of tables, each 4x the one before; new stacks go to the current one, which
 * moves on when half full, and a lookup probes them oldest first. One table of 4M slots, sized for
 * the most stacks any program could have, spread a program's few thousand over 32 MiB: every lookup
 * was a cache and TLB miss (gcc's cc1 tracked: 8% of all its time on that one load), and every slot
 * touched committed a page (cc1: some 30 MiB of RSS). Most programs now fit in the first 128 KiB. */
#include <sched.h>
#include <string.h>
#include <sys/resource.h>

#include "../pools/os.h"
#include "../pools/atomic.h"
#include "leaks.h"
#include "perthread.h"
#include "track.h"

#define TABLES 5          /* 2^14, 2^16, 2^18, 2^20, 2^22 slots */
#define TABLE0_BITS 14
static inline uint32_t table_slots(unsigned k) { return 1u << (TABLE0_BITS + 2 * k); }
#define FRAMES_MAX (1u << 27)         /* 128M frames: 1 GiB of address space */
#define CACHE_SLOTS 4096 /* 64 KiB per thread, out of thread-local storage (perthread.h) */

#define ID_BITS 24 /* PT_STACK_MAX */
#define TAG_MASK (~(uint64_t)0 << ID_BITS)
static _Atomic uint64_t* tables[TABLES]; /* slots: hash's high 40 bits | id; 0 = empty */
static _Atomic uint32_t table_used[TABLES];
static _Atomic unsigned current;         /* the table new stacks go to */
static _Atomic uint64_t* index_of;    /* per id: frame offset << 8 | depth */
static uintptr_t* frames_store;
static _Atomic uint32_t next_id = 2;  /* 0 = none, 1 = unknown */
static _Atomic uint64_t frames_used;
static _Atomic int ready;             /* 0 no, 1 reserving, 2 yes, 3 failed */
uint32_t pt_track_stack_cap = PT_STACK_MAX;
static uint64_t frames_max = FRAMES_MAX;

/* Unlimited (the rule), the tables reserve what the most stacks could need: a gigabyte of frames,
 * a gigabyte of site rows per thread, committed only as touched. Under a limit on address space
 * those reservations failed and tracking stopped without a word (`ulimit -v 2000000`: a trace of
 * no allocations, and the gate passed a leaking program). There a thread's rows get 1/256 of the
 * limit (a hundred threads a quarter of it between them), at least 4096 stacks' worth, and the
 * frames 32 a stack; stacks past that count as unknown. */
void pt_track_stack_fit_address_limit(void) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return;
  uint64_t ids = 4096;
  while (ids * 2 <= (uint64_t)PT_STACK_MAX + 1 && ids * 2 * 64 <= lim.rlim_cur / 256) ids *= 2;
  pt_track_stack_cap = (uint32_t)(ids - 1);
  frames_max = ids * 32 < FRAMES_MAX ? ids * 32 : FRAMES_MAX;
}

static void warn_no_room(void) {
  static _Atomic int warned;
  if (!pt_exchange_acq_rel(&warned, 1))
    pt__os_write_stderr("ptmem: no address space for the stack table (a limit on it, RLIMIT_AS?); "
                        "allocations are counted without their stacks\n");
}

typedef struct cache_entry_s {
  uint64_t hash;
  uint32_t id;
} cache_entry_t;
/* Repeated stacks are answered here without the shared tables: gcc's cc1 tracked rarely replays
 * (1.6 M lookups for 2.3 M allocations) and 43% of them are answered here. 65536 entries answered
 * 92% but gained only 2% of wall time for 1 MiB a thread (measured with the one 32 MiB table). */
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

#define EMPTY_INDEX ((uint64_t)1 << 8) /* a published stack without frames */

/* An id a thread of the parent had taken but not yet published never will be here (the thread did
 * not come along): published empty, or every trace of the child would stop before it. */
void pt_track_stacktab_fork_child(void) {
  pt_perthread_fork_child(&cache_pool);
  if (!index_of) return;
  for (uint32_t id = 2, n = pt_track_stack_count(); id < n; id++)
    if (!pt_load_relaxed(&index_of[id])) pt_store_release(&index_of[id], EMPTY_INDEX);
}

/* The stores grow at their end and the tables fill evenly, page after page: the claim that enters a
 * chunk of a store populates that chunk, and a table is populated whole when it becomes the
 * current one, so stack interning takes few page faults (each costs some 11 us on this project's
 * VMs, populating 1.1 us a page; cppcheck's 100 k stacks took 6,000 faults). A store's first chunk
 * faults page by page: a small program uses one or two of its pages. */
#define CHUNK ((uint64_t)64 * 1024)
static void populate_entered(void* store, uint64_t store_bytes, uint64_t from, uint64_t to) {
  bool enters = from / CHUNK != (to - 1) / CHUNK || (from % CHUNK == 0 && from != 0);
  if (!enters) return;
  uint64_t entered = (to - 1) / CHUNK * CHUNK;
  pt__os_populate((char*)store + entered, entered + CHUNK <= store_bytes ? CHUNK : store_bytes - entered);
}

static bool ensure_ready(void) {
  int st = pt_load_acquire(&ready);
  if (pt_likely(st == 2)) return true;
  int expected = 0;
  if (st == 0 && pt_cas_strong_acq_rel(&ready, &expected, 1)) {
    bool ok = true;
    /* Only the tables that the most ids can fill to half: the last one is never full. */
    for (unsigned k = 0; k < TABLES && (k == 0 || table_slots(k - 1) / 2 <= pt_track_stack_cap); k++) {
      tables[k] = pt__os_reserve((size_t)table_slots(k) * 8, 4096);
      if (tables[k]) pt_track_leaks_exclude(tables[k], (size_t)table_slots(k) * 8);
      ok = ok && tables[k];
    }
    size_t index_bytes = ((size_t)pt_track_stack_cap + 1) * 8;
    index_of = pt__os_reserve(index_bytes, 4096);
    frames_store = pt__os_reserve(frames_max * sizeof(uintptr_t), 4096);
    pt_track_leaks_exclude(index_of, index_bytes);
    pt_track_leaks_exclude(frames_store, frames_max * sizeof(uintptr_t));
    ok = ok && index_of && frames_store;
    if (ok) pt__os_populate(tables[0], (size_t)table_slots(0) * 8); /* a few dozen stacks touch most of its 32 pages */
    else warn_no_room();
    pt_store_release(&ready, ok ? 2 : 3);
  }
  while ((st = pt_load_acquire(&ready)) == 1) {
  }
  return st == 2;
}

/* Pairs of frames multiplied into 128 bits and folded (wyhash's "mum"), each pair with its own
 * keys so that the same frames in another order hash differently. The products are independent:
 * a 32-frame stack is some 25 cycles, against 200 for the serial multiply-xorshift chain it
 * replaces (7% of cppcheck's tracked time). The keys have the top bit set, which no user-space
 * address has, so no factor is ever 0. */
static inline uint64_t mum(uint64_t a, uint64_t b) {
  __uint128_t p = (__uint128_t)a * b;
  return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint64_t mix64(uint64_t h) { /* splitmix64's finaliser */
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

static uint64_t hash_frames(const uintptr_t* f, unsigned n) {
  const uint64_t step = 0x9E3779B97F4A7C15ull; /* keys: successive multiples, top bit forced */
  uint64_t acc = n, k = 0xA0761D6478BD642Full;
  unsigned i = 0;
  for (; i + 1 < n; i += 2, k += 2 * step)
    acc += mum(f[i] ^ (k | 1ull << 63), f[i + 1] ^ ((k + step) | 1ull << 63));
  if (i < n) acc += mum(f[i] ^ (k | 1ull << 63), 0xE7037ED1A0B428DBull);
  return mix64(acc) | 1; /* never 0: 0 marks an empty cache entry */
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
  return n > pt_track_stack_cap + 1 ? pt_track_stack_cap + 1 : n;
}

/* An id is taken before its frames are copied and published: below the first id still on its way,
 * every stack's frames stay as they are. The thread publishing it takes microseconds, unless it is
 * the one this call interrupted: a short wait, then the stacks before it. */
uint32_t pt_track_stack_count_published(void) {
  uint32_t n = pt_track_stack_count();
  if (!index_of) return n < 2 ? n : 2;
  for (uint32_t id = 2; id < n; id++)
    for (int tries = 0; !pt_load_acquire(&index_of[id]); tries++) {
      if (tries == 1000) return id;
      sched_yield();
    }
  return n;
}

/* The stack's id if table k holds it; else 0, with the empty slot that ended the probe in
 * *empty_at (UINT32_MAX: the table is full). */
static uint32_t probe(unsigned k, uint64_t h, uint32_t* empty_at) {
  _Atomic uint64_t* slots = tables[k];
  uint32_t mask = table_slots(k) - 1;
  uint64_t tag = h & TAG_MASK;
  for (uint32_t i = (uint32_t)(h >> 7) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
    uint64_t v = pt_load_acquire(&slots[i]);
    if (v == 0) {
      *empty_at = i;
      return 0;
    }
    if ((v & TAG_MASK) == tag) return (uint32_t)(v & ~TAG_MASK);
  }
  *empty_at = UINT32_MAX;
  return 0;
}

/* A new id for the stack, published at table k's slot i unless another thread takes the slot
 * first (then 0, and the caller probes again from there). */
static uint32_t insert(unsigned k, uint32_t i, uint64_t h, const uintptr_t* f, unsigned n, uint64_t* seen) {
  uint32_t fresh = pt_fetch_add_relaxed(&next_id, 1);
  uint64_t off = pt_fetch_add_relaxed(&frames_used, n);
  if (fresh > pt_track_stack_cap) return PT_STACK_UNKNOWN; /* past every id: never counted */
  if (off + n > frames_max) { /* store full: the id is published without frames */
    pt_store_release(&index_of[fresh], EMPTY_INDEX);
    return PT_STACK_UNKNOWN;
  }
  populate_entered(frames_store, frames_max * 8, off * 8, (off + n) * 8);
  populate_entered(index_of, ((uint64_t)pt_track_stack_cap + 1) * 8, (uint64_t)fresh * 8, (uint64_t)fresh * 8 + 8);
  memcpy(frames_store + off, f, n * sizeof *f);
  pt_store_release(&index_of[fresh], off << 8 | n);
  uint64_t expected = 0;
  if (!pt_cas_strong_acq_rel(&tables[k][i], &expected, (h & TAG_MASK) | fresh)) {
    *seen = expected;
    return 0;
  }
  if (pt_fetch_add_relaxed(&table_used[k], 1) + 1 > table_slots(k) / 2 && k + 1 < TABLES && tables[k + 1]) {
    unsigned cur = k;
    if (pt_cas_strong_acq_rel(&current, &cur, k + 1)) /* half full: the next stacks go to the next table */
      pt__os_populate(tables[k + 1], (size_t)table_slots(k + 1) * 8);
  }
  return fresh;
}

static uint32_t lookup_or_insert(uint64_t h, const uintptr_t* f, unsigned n) {
  unsigned cur = pt_load_acquire(&current);
  uint32_t empty_at = UINT32_MAX;
  for (unsigned k = 0; k <= cur; k++) {
    uint32_t id = probe(k, h, &empty_at);
    if (id) return id;
  }
  while (empty_at != UINT32_MAX) { /* not found: into the current table, where the probe ended */
    uint64_t seen = 0;
    uint32_t id = insert(cur, empty_at, h, f, n, &seen);
    if (id) return id;
    if ((seen & TAG_MASK) == (h & TAG_MASK)) return (uint32_t)(seen & ~TAG_MASK);
    id = probe(cur, h, &empty_at); /* someone else took the slot: look on from there */
    if (id) return id;
  }
  return PT_STACK_UNKNOWN; /* every table full */
}

static uint32_t intern(const uintptr_t* f, unsigned n, cache_entry_t* cache) {
  if (n == 0) return PT_STACK_UNKNOWN;
  if (n > PT_TRACK_DEPTH_MAX) n = PT_TRACK_DEPTH_MAX;
  uint64_t h = hash_frames(f, n);
  cache_entry_t* c = cache ? &cache[h & (CACHE_SLOTS - 1)] : NULL;
  if (c && c->hash == h) return c->id;
  if (!ensure_ready()) return PT_STACK_UNKNOWN;
  uint32_t id = lookup_or_insert(h, f, n);
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
