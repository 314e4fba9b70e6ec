/* sites.c - per-site counters, the exact peak and temporary allocations.
 *
 * Each thread counts into its own rows (one 64-byte row per stack id, in reserved address space), so
 * the event path writes no shared cache line except the process-wide live total. A free counts in
 * the freeing thread's row, so a row may go negative: only sums over threads mean anything.
 *
 * The peak (shared/DESIGN.md): a global generation `gen` is bumped whenever the live total exceeds
 * the previous maximum. Before a row changes, if its snap_gen is not the current gen, it saves its
 * live bytes (the value it had at that peak) and takes the gen. At the end a row's share of the peak
 * is its snapshot if it changed since the last peak, else its live bytes, which have not changed.
 * Single-threaded this is exact. With threads, an event of another thread that is between reading
 * gen and updating its row when the peak is crossed lands on the wrong side: the attribution error
 * is at most one allocation in flight per other thread (tests/track check this bound).
 *
 * A thread that ends merges its rows into a retired table under a spin lock (thread exit is rare; the
 * fork child resets it), following the same snapshot rule, and its row memory is reused. */
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../pools/atomic.h"
#include "../pools/os.h"
#include "leaks.h"
#include "timeline.h"
#include "sites.h"

typedef pt_track_row_t row_t;
typedef pt_track_thread_t thread_rows_t;
_Static_assert(sizeof(row_t) == 64, "a row is one cache line");

#define ROWS_BYTES (((size_t)pt_track_stack_cap + 1) * sizeof(row_t)) /* ids never exceed the cap */

_Atomic int64_t pt_track_live_total;
/* With several threads each one adds to the shared total only every PT_TRACK_BATCH bytes of
 * change: one shared cache line written per event made tracking 12x slower than untracked on
 * larson. With one thread every event goes through, so the peak stays exact. */
_Atomic int pt_track_active_threads;
_Atomic int64_t pt_track_peak_total;
static _Atomic uint64_t peak_ticks; /* when: cheap clock ticks, converted by the report (below) */
static uint64_t start_ticks, start_ns;
static _Atomic(thread_rows_t*) all_threads;
static row_t* retired;
static uint32_t retired_max; /* highest stack id with a retired row */
static _Atomic int retired_lock;
bool (*pt_track_thread_start_hook)(void);
__thread pt_track_thread_t* pt_track_tls_thread __attribute__((tls_model("initial-exec")));

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Stamping every new peak with clock_gettime would cost more than the rest of the event while a
 * heap grows (every allocation is a new peak): x86's time-stamp counter costs a few cycles and is
 * converted with the rate measured between the first event and the report. */
static inline uint64_t ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  return now_ns();
#endif
}

/* In integers: a program that ends with the x87 unit in MMX state (an MMX instruction without
 * emms, against the ABI) made long double arithmetic give garbage, and the trace a peak time of
 * 9.2e18 ns, which the report refused as out of range. */
__extension__ typedef unsigned __int128 u128; /* GCC's and clang's; x86-64 multiplies 64x64->128 */
static uint64_t ticks_to_ns(uint64_t t) {
  uint64_t end_ticks = ticks(), end_ns = now_ns();
  if (!start_ticks || end_ticks <= start_ticks || t < start_ticks || end_ns < start_ns) return end_ns;
  if (t > end_ticks) t = end_ticks;
  u128 elapsed = (u128)(t - start_ticks) * (end_ns - start_ns);
  return start_ns + (uint64_t)(elapsed / (end_ticks - start_ticks));
}

__thread unsigned pt_track_locks_held __attribute__((tls_model("initial-exec")));
__thread volatile int pt_track_deferred_signal __attribute__((tls_model("initial-exec")));
void (*pt_track_deferred_hook)(void);

static void lock_retired(void) {
  pt_track_locks_held++;
  pt_spin_lock(&retired_lock);
}
static void unlock_retired(void) {
  pt_spin_unlock(&retired_lock);
  pt_track_locks_release();
}

/* A new record, active, on the list (NULL if out of address space). */
static thread_rows_t* record_new(void) {
  thread_rows_t* t = pt__os_reserve(sizeof *t, 4096); /* a page per thread record: rare, and never returned */
  if (!t) return NULL;
  t->rows = pt__os_reserve(ROWS_BYTES, 4096);
  if (!t->rows) {
    static _Atomic int warned;
    if (!pt_exchange_acq_rel(&warned, 1))
      pt__os_write_stderr("ptmem: no address space for a thread's site counters (a limit on it, RLIMIT_AS?); "
                          "that thread's allocations are not counted\n");
    return NULL;
  }
  pt_track_leaks_exclude(t, sizeof *t);
  pt_track_leaks_exclude(t->rows, ROWS_BYTES);
  pt_store_relaxed(&t->active, 1);
  thread_rows_t* head = pt_load_relaxed(&all_threads);
  do {
    t->next_all = head;
  } while (!pt_cas_weak_acq_rel(&all_threads, &head, t));
  return t;
}

/* A thread meets new stacks in id order as a rule, so its rows are written from the start of its
 * array towards the end: a row entering a new 64 KiB chunk populates that chunk (1.1 us a page
 * against 11 us a fault; cppcheck's 100 k stacks took 1,600 faults here). Not the first chunk (a
 * thread with few stacks uses a page or two of it), nor after a jump (ids arriving sparsely: a
 * thread among many that sees only some of the program's stacks). */
#define ROWS_CHUNK ((size_t)64 * 1024)
void pt_track_rows_reach(pt_track_thread_t* t, uint32_t stack) {
  size_t last = ((size_t)t->max_stack + 1) * sizeof(row_t) - 1, reach = (size_t)stack * sizeof(row_t);
  bool dense = stack - t->max_stack <= ROWS_CHUNK / sizeof(row_t);
  t->max_stack = stack;
  if (dense && reach / ROWS_CHUNK != last / ROWS_CHUNK && reach >= ROWS_CHUNK)
    pt__os_populate((char*)t->rows + reach / ROWS_CHUNK * ROWS_CHUNK, ROWS_CHUNK);
}

/* Thread-rows records are never freed: a thread that ends leaves its record inactive for the next. */
thread_rows_t* pt_track_thread_start(void) {
  thread_rows_t* t;
  for (t = pt_load_acquire(&all_threads); t; t = t->next_all) {
    int expected = 0;
    if (pt_load_relaxed(&t->active) == 0 && pt_cas_strong_acq_rel(&t->active, &expected, 1)) break;
  }
  pt_fetch_add_acq_rel(&pt_track_active_threads, 1);
  if (!t && !(t = record_new())) return NULL;
  t->last_alloc = NULL;
  t->max_stack = 0;
  pt_store_relaxed(&t->pending, 0);
  pt_track_tls_thread = t;
  return t;
}

/* Threads the hook says are ending count into one shared record under a lock: past its last key
 * destructor round (glibc runs PTHREAD_DESTRUCTOR_ITERATIONS) nothing would give a record of their
 * own back (tests/stress thread_dtor_rounds, tracked: RSS +32 KiB a thread), and taking and giving
 * one back on each event cost 7x on thread_churn. The record is not one of the active threads: its
 * change goes to the live total at once, so the totals stay exact. */
static thread_rows_t* ending;
static _Atomic int ending_lock;

static thread_rows_t* lock_ending(void) {
  pt_track_locks_held++;
  pt_spin_lock(&ending_lock);
  if (!ending) ending = record_new();
  return ending;
}

static void unlock_ending(thread_rows_t* t) {
  if (t) pt_track_flush_pending(t);
  pt_spin_unlock(&ending_lock);
  pt_track_locks_release();
}

/* The record of this thread's first event (NULL: it is ending, or out of memory). */
static thread_rows_t* record_of_thread(bool* ending_thread) {
  *ending_thread = pt_track_thread_start_hook && !pt_track_thread_start_hook();
  if (*ending_thread) return NULL;
  return pt_track_tls_thread ? pt_track_tls_thread : pt_track_thread_start(); /* the hook may have counted */
}

static void count_unowned(bool is_alloc, const void* p, uint32_t stack, size_t size) {
  bool ending_thread;
  thread_rows_t* t = record_of_thread(&ending_thread);
  bool shared = !t && ending_thread;
  /* A signal handler's event in a thread that holds one of the tracker's locks (this one, say,
   * mid-way through the event it interrupted) would wait for itself forever: not counted. */
  if (shared && pt_track_locks_held) return;
  if (shared) t = lock_ending();
  if (t && is_alloc) pt_track_alloc_in(t, p, stack, size);
  else if (t) pt_track_free_in(t, p, stack, size);
  if (shared) unlock_ending(t);
}

void pt_track_alloc_unowned(const void* p, uint32_t stack, size_t size) { count_unowned(true, p, stack, size); }
void pt_track_free_unowned(const void* p, uint32_t stack, size_t size) { count_unowned(false, p, stack, size); }

void pt_track_raise_peak(int64_t total) {
  int64_t peak = pt_load_relaxed(&pt_track_peak_total);
  while (total > peak) {
    if (pt_cas_weak_acq_rel(&pt_track_peak_total, &peak, total)) {
      pt_store_relaxed(&peak_ticks, ticks());
      break;
    }
  }
}

void pt_track_flush_pending(thread_rows_t* t) {
  int64_t delta = pt_load_relaxed(&t->pending);
  pt_store_relaxed(&t->pending, 0);
  int64_t total = pt_fetch_add_acq_rel(&pt_track_live_total, delta) + delta;
  pt_track_raise_peak(total);
  pt_track_timeline_event(total);
}

/* A row's share of the current peak. */
static int64_t row_peak_share(const row_t* r, uint64_t gen) { return r->snap_gen == gen ? r->snap_bytes : r->live_bytes; }

static void merge_row(row_t* into, const row_t* from, uint64_t gen) {
  if (into->snap_gen != gen) { /* the retired row is a row like any other: snapshot before change */
    into->snap_bytes = into->live_bytes;
    into->snap_gen = gen;
  }
  into->allocs += from->allocs;
  into->frees += from->frees;
  into->alloc_bytes += from->alloc_bytes;
  into->temporary += from->temporary;
  into->live_bytes += from->live_bytes;
  into->live_count += from->live_count;
  into->snap_bytes += row_peak_share(from, gen);
}

void pt_track_thread_exit(void) {
  thread_rows_t* t = pt_track_tls_thread;
  if (!t) return;
  pt_track_flush_pending(t);
  pt_track_tls_thread = NULL;
  pt_fetch_sub_relaxed(&pt_track_active_threads, 1);
  lock_retired();
  if (!retired) {
    retired = pt__os_reserve(ROWS_BYTES, 4096);
    pt_track_leaks_exclude(retired, ROWS_BYTES);
  }
  uint64_t gen = (uint64_t)pt_load_acquire(&pt_track_peak_total);
  if (retired)
    for (uint32_t s = 0; s <= t->max_stack; s++)
      if (t->rows[s].allocs || t->rows[s].frees) {
        merge_row(&retired[s], &t->rows[s], gen);
        if (s > retired_max) retired_max = s;
      }
  unlock_retired();
  /* Zero the rows for the next thread: dropping the pages is cheaper than clearing them. */
  size_t used = ((size_t)t->max_stack + 1) * sizeof(row_t);
  madvise(t->rows, (used + 4095) & ~(size_t)4095, MADV_DONTNEED);
  pt_store_release(&t->active, 0);
}

static void add_row(pt_site_t* out, const row_t* r, uint64_t gen) {
  out->allocs += r->allocs;
  out->frees += r->frees;
  out->alloc_bytes += r->alloc_bytes;
  out->temporary += r->temporary;
  out->live_bytes += r->live_bytes;
  out->live_count += r->live_count;
  out->peak_bytes += row_peak_share(r, gen);
}

void pt_track_site(uint32_t stack, pt_site_t* out) {
  memset(out, 0, sizeof *out);
  if (stack > PT_STACK_MAX) return;
  uint64_t gen = (uint64_t)pt_load_acquire(&pt_track_peak_total);
  if (retired) add_row(out, &retired[stack], gen);
  for (thread_rows_t* t = pt_load_acquire(&all_threads); t; t = t->next_all)
    if (pt_load_acquire(&t->active) && stack <= t->max_stack) add_row(out, &t->rows[stack], gen);
}

void pt_track_totals(pt_track_totals_t* out) {
  /* every thread's unflushed change: a thread alone keeps the whole heap's there */
  out->live_bytes = pt_load_acquire(&pt_track_live_total);
  for (thread_rows_t* t = pt_load_acquire(&all_threads); t; t = t->next_all)
    if (pt_load_acquire(&t->active)) out->live_bytes += pt_load_relaxed(&t->pending);
  out->peak_bytes = pt_load_acquire(&pt_track_peak_total);
  out->allocs = out->frees = 0;
  uint32_t n = retired_max + 1;
  for (thread_rows_t* t = pt_load_acquire(&all_threads); t; t = t->next_all)
    if (pt_load_acquire(&t->active) && t->max_stack + 1 > n) n = t->max_stack + 1;
  for (uint32_t s = 0; s < n; s++) { /* counts are summed here, not counted on the event path */
    pt_site_t site;
    pt_track_site(s, &site);
    out->allocs += site.allocs;
    out->frees += site.frees;
  }
  out->peak_time_ns = out->peak_bytes ? ticks_to_ns(pt_load_relaxed(&peak_ticks)) : 0;
}

void pt_track_clock_start(void) {
  start_ns = now_ns();
  start_ticks = ticks();
}

static void restart_counts(row_t* rows, uint32_t max) {
  for (uint32_t id = 0; id <= max; id++) {
    row_t* r = &rows[id];
    r->allocs = r->frees = r->alloc_bytes = r->temporary = 0;
    r->snap_bytes = r->live_bytes;
    r->snap_gen = 0; /* not the new peak's generation: the next change snapshots the inherited value */
  }
}

void pt_track_sites_fork_child(void) {
  pt_store_relaxed(&retired_lock, 0);
  pt_store_relaxed(&ending_lock, 0);
  ending = NULL; /* folded below with the other threads' records, then free for any thread to take */
  pt_store_relaxed(&pt_track_active_threads, pt_track_tls_thread ? 1 : 0);
  thread_rows_t* mine = pt_track_tls_thread;
  /* The other threads are gone: fold their rows in as if they had ended. */
  for (thread_rows_t* t = pt_load_acquire(&all_threads); t; t = t->next_all) {
    if (t == mine || !pt_load_relaxed(&t->active)) continue;
    thread_rows_t* saved = pt_track_tls_thread;
    pt_track_tls_thread = t;
    pt_fetch_add_relaxed(&pt_track_active_threads, 1); /* pt_track_thread_exit takes it off again */
    pt_track_thread_exit();
    pt_track_tls_thread = saved;
  }
  /* The child's trace tells what the child did: the parent's counts up to the fork are in the
   * parent's trace, and a report merging both would count them twice. What the child inherited
   * stays live, and its peak starts there (every row snapshotted at this new generation). */
  if (mine) {
    pt_fetch_add_relaxed(&pt_track_live_total, pt_load_relaxed(&mine->pending));
    pt_store_relaxed(&mine->pending, 0);
    restart_counts(mine->rows, mine->max_stack);
  }
  if (retired) restart_counts(retired, retired_max);
  int64_t live = pt_load_relaxed(&pt_track_live_total);
  pt_store_relaxed(&pt_track_peak_total, live > 0 ? live : 1);
  pt_store_relaxed(&peak_ticks, ticks());
}

void pt_track_forget_last_allocs(void) {
  for (thread_rows_t* t = pt_load_acquire(&all_threads); t; t = t->next_all) t->last_alloc = NULL;
}
