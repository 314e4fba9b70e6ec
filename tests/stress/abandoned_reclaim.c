/* abandoned_reclaim.c - memory freed into the pages of a thread that has exited must come back.
 * A worker thread allocates 64 MiB in 16 KiB blocks and exits; the main thread verifies and frees
 * them all (frees into abandoned pages: they sit on the pages' remote-free lists until someone
 * collects them). The process then keeps allocating for ~2 s, but never that size class again:
 * short-lived threads come and go, allocating small blocks, while the main thread only waits.
 * Within that time the allocator's periodic work (purge delay 250 ms by default) must have
 * collected the abandoned pages and returned them: RSS must drop back near its level before the
 * burst. (glibc: back to ~2 MiB.)
 * Asserts: data integrity, and RSS after the idle-ish period <= RSS before the burst + 24 MiB. */
#include <pthread.h>

#include "stress.h"

enum { BLOCKS = 4096, BSIZE = 16384 };
static void* blocks[BLOCKS];

static void* burst(void* arg) {
  (void)arg;
  for (int i = 0; i < BLOCKS; i++) blocks[i] = tagged_alloc(BSIZE, (uint64_t)i + 1);
  return NULL;
}

static void* small_thread(void* arg) {
  rng_t r = rng_make((uint64_t)(uintptr_t)arg);
  for (int i = 0; i < 200; i++) tagged_free(tagged_alloc(16 + rng_below(&r, 200), (uint64_t)i));
  return NULL;
}

int main(void) {
  stress_init("stress_abandoned_reclaim", 60);
  for (int i = 0; i < 1000; i++) tagged_free(tagged_alloc(64, (uint64_t)i));
  size_t rss_before = rss_bytes();
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, burst, NULL), 0);
  CHECK_EQ(pthread_join(th, NULL), 0);
  size_t rss_peak = rss_bytes();
  for (int i = 0; i < BLOCKS; i++) tagged_free(blocks[i]);
  double end = now_s() + 2.0;
  unsigned n = 0;
  while (now_s() < end) {
    /* Short-lived threads come and go, allocating small blocks; the main thread only waits (a
     * server blocked in accept() that starts a thread per request). */
    CHECK_EQ(pthread_create(&th, NULL, small_thread, (void*)(uintptr_t)++n), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  size_t rss_after = rss_bytes();
  printf("RSS before the burst %.1f MiB, after it %.1f MiB, 2 s after freeing it %.1f MiB (%u threads since)\n",
         (double)rss_before / MiB_, (double)rss_peak / MiB_, (double)rss_after / MiB_, n);
  CHECK_GE(rss_peak, rss_before + 48 * MiB_); /* the burst really was resident */
  CHECK_LE(rss_after, rss_before + 24 * MiB_);
  printf("ok\n");
  return 0;
}
