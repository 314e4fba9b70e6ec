/* rss_after_peak - memory freed after a peak goes back to the OS under the delay policy: a single
 * thread builds a 256 MiB peak out of blocks of every backend (slab, medium, spans, huge), frees it
 * all, then keeps doing small allocations (which run ptmem's periodic maintenance) for a few purge
 * delays: RSS must fall back near where it started. A second peak is then released at once by
 * malloc_trim(0). */
#include "stress.h"

enum { BLOCKS = 40000 };
static void* blocks[BLOCKS];

static size_t build_peak(void) {
  size_t total = 0;
  uint64_t seed = 42;
  for (int i = 0; i < BLOCKS; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    unsigned kind = (unsigned)(seed >> 60) % 16;
    size_t n = kind < 10 ? 16 + (seed >> 20) % 4000         /* slab */
               : kind < 14 ? 33000 + (seed >> 20) % 90000   /* medium pool */
               : kind < 15 ? 200000 + (seed >> 20) % 3000000 /* spans */
                           : 5000000 + (seed >> 20) % 6000000; /* huge */
    if (total + n > 256u << 20) n = 64;
    blocks[i] = malloc(n);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x5A, n); /* resident */
    total += n;
  }
  return total;
}

static void free_peak(void) {
  for (int i = 0; i < BLOCKS; i++) free(blocks[i]);
}

int main(void) {
  stress_init("rss_after_peak", 60);
  size_t base = rss_bytes();
  size_t total = build_peak();
  size_t peak = rss_bytes();
  printf("baseline RSS %.1f MiB, peak %.1f MiB (%.1f MiB allocated)\n", base / 1048576.0, peak / 1048576.0,
         total / 1048576.0);
  CHECK_GE(peak, base + (200u << 20));
  free_peak();
  /* Keep the program allocating, as a real one would, for four default purge delays. */
  double until = now_s() + 1.0;
  while (now_s() < until) {
    for (int i = 0; i < 100; i++) free(malloc((size_t)(16 + i * 8)));
    usleep(1000);
  }
  size_t after = rss_bytes();
  printf("1 s after freeing: RSS %.1f MiB\n", after / 1048576.0);
  CHECK_LE(after, base + (24u << 20));

  build_peak();
  free_peak();
  malloc_trim(0);
  size_t trimmed = rss_bytes();
  printf("right after malloc_trim(0): RSS %.1f MiB\n", trimmed / 1048576.0);
  CHECK_LE(trimmed, base + (24u << 20));
  puts("ok");
  return 0;
}
