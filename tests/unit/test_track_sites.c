/* Unit tests of track/sites.c: counters per site, temporary allocations, the exact peak and each
 * site's share of it (single thread), the peak's error bound with threads (32 KiB per thread),
 * and rows of ended threads merged without losing anything. */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "sites.h"
#include "track.h"

enum { S1 = 10, S2 = 11, S3 = 12 };
static char blocks[64];

static void check_site(uint32_t s, uint64_t allocs, uint64_t frees, int64_t live, int64_t peak, uint64_t temp) {
  pt_site_t site;
  pt_track_site(s, &site);
  CHECK_UEQ(site.allocs, allocs);
  CHECK_UEQ(site.frees, frees);
  CHECK_EQ(site.live_bytes, live);
  CHECK_EQ(site.peak_bytes, peak);
  CHECK_UEQ(site.temporary, temp);
}

static void* ends_with_live_blocks(void* arg) {
  (void)arg;
  pt_track_alloc(&blocks[20], S3, 5000);
  pt_track_alloc(&blocks[21], S3, 7000);
  pt_track_free(&blocks[21], S3, 7000);
  pt_track_thread_exit();
  return NULL;
}

enum { THREADS = 3, ROUNDS = 200000 };
static void* churn(void* arg) {
  uint32_t site = 20 + (uint32_t)(uintptr_t)arg;
  for (int i = 0; i < ROUNDS; i++) {
    pt_track_alloc(&blocks[40], site, 100);
    pt_track_free(&blocks[40], site, 100);
  }
  pt_track_thread_exit();
  return NULL;
}

int main(void) {
  /* A known pattern: S1 grows to 3000, S2 to 500; the peak is 3500 with S1 3000 + S2 500; then S1
   * drops and S2 grows to 1000 (total 1000 + 1000 = 2000 < 3500: no new peak). */
  pt_track_alloc(&blocks[0], S1, 1000);
  pt_track_alloc(&blocks[1], S1, 2000);
  pt_track_alloc(&blocks[2], S2, 500);
  pt_track_free(&blocks[1], S1, 2000);
  pt_track_alloc(&blocks[3], S2, 500);
  pt_track_alloc(&blocks[4], S1, 10);
  pt_track_free(&blocks[4], S1, 10); /* freed before any other allocation: temporary */
  pt_track_totals_t t;
  pt_track_totals(&t);
  CHECK_EQ(t.peak_bytes, 3500);
  CHECK_EQ(t.live_bytes, 2000);
  CHECK_UEQ(t.allocs, 5);
  CHECK_UEQ(t.frees, 2);
  CHECK(t.peak_time_ns > 0);
  check_site(S1, 3, 2, 1000, 3000, 1);
  check_site(S2, 2, 0, 1000, 500, 0);

  /* A new, higher peak moves the shares. */
  pt_track_alloc(&blocks[5], S2, 4000);
  pt_track_totals(&t);
  CHECK_EQ(t.peak_bytes, 6000);
  check_site(S1, 3, 2, 1000, 1000, 1);
  check_site(S2, 3, 0, 5000, 5000, 0);
  pt_track_free(&blocks[5], S2, 4000);
  check_site(S2, 3, 1, 1000, 5000, 1); /* freed before any other allocation */

  puts("track_sites: single-threaded exact");

  /* A thread that ends: its rows are merged and still count. While two threads run, each adds to
   * the total in batches (32 KiB), so the thread's short 14000-byte moment may go unseen: the peak
   * is within 2 x 32 KiB of it, and the shares still add up to the peak. */
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, ends_with_live_blocks, NULL), 0);
  CHECK_EQ(pthread_join(th, NULL), 0);
  pt_site_t s3;
  pt_track_site(S3, &s3);
  CHECK_UEQ(s3.allocs, 2);
  CHECK_EQ(s3.live_bytes, 5000);
  CHECK_UEQ(s3.temporary, 1); /* its second block was temporary */
  pt_track_totals(&t);
  CHECK_EQ(t.live_bytes, 7000);
  CHECK_LE(t.peak_bytes, 14000);
  CHECK_GE(t.peak_bytes, 14000 - 2 * 32768);
  int64_t shares = 0;
  for (uint32_t s = 0; s < 20; s++) {
    pt_site_t site;
    pt_track_site(s, &site);
    shares += site.peak_bytes;
  }
  CHECK_EQ(shares, t.peak_bytes);

  /* Threads: churn at the same time; every site ends at zero live bytes, and the peak's sum of
   * shares is within one allocation in flight per thread of the peak. */
  pthread_t w[THREADS];
  for (int k = 0; k < THREADS; k++) CHECK_EQ(pthread_create(&w[k], NULL, churn, (void*)(uintptr_t)k), 0);
  for (int k = 0; k < THREADS; k++) CHECK_EQ(pthread_join(w[k], NULL), 0);
  pt_track_totals(&t);
  int64_t share_sum = 0;
  for (uint32_t s = 0; s < 40; s++) {
    pt_site_t site;
    pt_track_site(s, &site);
    share_sum += site.peak_bytes;
    if (s >= 20 && s < 20 + THREADS) {
      CHECK_UEQ(site.allocs, ROUNDS);
      CHECK_EQ(site.live_bytes, 0);
    }
  }
  CHECK_EQ(t.live_bytes, 7000);
  CHECK_LE(share_sum, t.peak_bytes + (THREADS + 1) * 32768);
  CHECK_GE(share_sum, t.peak_bytes - (THREADS + 1) * 32768);
  puts("track_sites: threads within the bound");
  return 0;
}
