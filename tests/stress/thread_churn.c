/* thread_churn.c - thousands of short-lived threads, a few at a time. Each thread allocates mixed
 * sizes, frees most of them itself, swaps some of its blocks into a global array of survivors
 * (freeing the earlier threads' blocks it takes out: frees into pages whose owner is dead, i.e.
 * abandoned pages) and exits. Every thread also sets a pthread key (created by the test after the
 * process's first malloc, so its destructor runs after ptmem's own thread-exit destructor); that
 * destructor verifies and frees the key's block, then mallocs a new survivor and churns a little:
 * allocation after ptmem's destructor ran, which must get a heap again and give it back.
 * Asserts: every block intact when freed, no crash, no deadlock, and RSS / mapped bytes at the end
 * within a bound of their value after the first few hundred threads (abandoned pages are adopted or
 * released, thread heaps are recycled). */
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

enum { THREADS = 10000, AT_ONCE = 4, SLOTS = 4096, PER_THREAD = 256, SWAPS = 48 };

static _Atomic(void*) slots[SLOTS];
static pthread_key_t key;
static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t destructor_runs;

static uint64_t new_id(void) { return atomic_fetch_add(&next_id, 1); }

/* Put p into a random slot; verify and free what was there. */
static void swap_into_slot(rng_t* r, void* p) {
  void* old = atomic_exchange(&slots[rng_below(r, SLOTS)], p);
  tagged_free(old);
}

static void key_destructor(void* v) {
  tagged_free(v); /* allocated by this thread before exit */
  rng_t r = rng_make(new_id());
  /* ptmem's destructor has (very likely) run already: these need a heap again. */
  void* local[16];
  for (int i = 0; i < 16; i++) local[i] = tagged_alloc(rng_size(&r, 4096), new_id());
  swap_into_slot(&r, tagged_alloc(rng_size(&r, 2048), new_id()));
  for (int i = 0; i < 16; i++) tagged_free(local[i]);
  destructor_runs++;
}

static void* worker(void* arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg;
  rng_t r = rng_make(seed);
  void* mine[PER_THREAD];
  CHECK_EQ(pthread_setspecific(key, tagged_alloc(64 + rng_below(&r, 1000), new_id())), 0);
  for (int i = 0; i < PER_THREAD; i++) mine[i] = tagged_alloc(rng_size(&r, 64 * 1024), new_id());
  /* Free half in random order. */
  for (int i = 0; i < PER_THREAD / 2; i++) {
    size_t k = rng_below(&r, PER_THREAD);
    tagged_free(mine[k]);
    mine[k] = NULL;
  }
  /* Reallocate some of the holes (reuse of our own frees). */
  for (int i = 0; i < PER_THREAD; i += 3)
    if (!mine[i]) mine[i] = tagged_alloc(rng_size(&r, 1024), new_id());
  /* Survivors: leave some blocks for later threads, free earlier threads' blocks. */
  int swapped = 0;
  for (int i = 0; i < PER_THREAD && swapped < SWAPS; i++) {
    if (!mine[i]) continue;
    swap_into_slot(&r, mine[i]);
    mine[i] = NULL;
    swapped++;
  }
  for (int i = 0; i < PER_THREAD; i++) tagged_free(mine[i]);
  return NULL;
}

int main(void) {
  stress_init("stress_thread_churn", 100);
  free(malloc(1)); /* ptmem's key exists before ours */
  CHECK_EQ(pthread_key_create(&key, key_destructor), 0);
  size_t rss_base = 0, mapped_base = 0, rss_max = 0, mapped_max = 0;
  double t0 = now_s();
  for (unsigned t = 0; t < THREADS; t += AT_ONCE) {
    pthread_t th[AT_ONCE];
    for (unsigned i = 0; i < AT_ONCE; i++)
      CHECK_EQ(pthread_create(&th[i], NULL, worker, (void*)(uintptr_t)(t + i + 1)), 0);
    for (unsigned i = 0; i < AT_ONCE; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
    if ((t / AT_ONCE) % 250 == 249) {
      size_t rss = rss_bytes(), mapped = mapped_bytes();
      printf("%u threads: RSS %.1f MiB, mapped %.1f MiB, %.2f s\n", t + AT_ONCE, (double)rss / MiB_,
             (double)mapped / MiB_, now_s() - t0);
      if (!rss_base) {
        rss_base = rss;
        mapped_base = mapped;
      } else {
        if (rss > rss_max) rss_max = rss;
        if (mapped > mapped_max) mapped_max = mapped;
      }
    }
  }
  CHECK_UEQ(destructor_runs, THREADS);
  /* Every survivor still intact at the end. */
  for (int i = 0; i < SLOTS; i++) tagged_free(atomic_exchange(&slots[i], NULL));
  /* THREADS threads each leave pages behind; if abandoned pages or heaps leaked, the footprint
   * would grow with the number of threads (~ THREADS * (a few 64 KiB pages)). */
  printf("RSS base %.1f MiB max %.1f MiB; mapped base %.1f MiB max %.1f MiB\n", (double)rss_base / MiB_,
         (double)rss_max / MiB_, (double)mapped_base / MiB_, (double)mapped_max / MiB_);
  CHECK_LE(rss_max, 2 * rss_base + 64 * MiB_);
  if (stress_under_ptmem()) CHECK_LE(mapped_max, 2 * mapped_base + 64 * MiB_);
  printf("ok\n");
  return 0;
}
