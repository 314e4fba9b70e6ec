/* cache_scratch - passive false sharing, modelled on Hoard's cache-scratch: the main thread allocates
 * one small object per worker back to back (so they share cache lines) and hands one to each worker.
 * The worker frees it, then repeatedly allocates a small object and writes it heavily. An allocator
 * that gives the freed object (or its neighbours) back to the worker that freed it makes the workers
 * write to the same cache line from different cores: the line ping-pongs and the run becomes many
 * times slower. Allocators that keep per-thread memory apart do not.
 *
 * usage: cache_scratch [threads=2] [scale=1] */
#include "bench.h"

enum { OBJ_SIZE = 8, ITERATIONS = 8000, REPETITIONS = 10000 };

typedef struct {
  void *initial;
  long iterations;
  uint64_t sum;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  free(w->initial); /* a remote free: the object belongs to the main thread's memory */
  uint64_t sum = 0;
  for (long i = 0; i < w->iterations; i++) {
    /* volatile: the stores must really happen (GCC may delete stores to memory that is freed). */
    volatile unsigned char *p = bench_malloc(OBJ_SIZE);
    for (int j = 0; j < OBJ_SIZE; j++) p[j] = 0;
    for (int r = 0; r < REPETITIONS; r++)
      for (int j = 0; j < OBJ_SIZE; j++) p[j] = (unsigned char)(p[j] + r + j);
    /* Each byte ends as sum over r of (r + j) mod 256: a wrong value means another thread (or the
     * allocator) wrote into our object. */
    for (int j = 0; j < OBJ_SIZE; j++) {
      unsigned char want = (unsigned char)((uint64_t)REPETITIONS * (REPETITIONS - 1) / 2 + (uint64_t)REPETITIONS * j);
      if (p[j] != want) BENCH_FAIL("object %p byte %d is %u, want %u", (void *)p, j, p[j], want);
      sum += p[j];
    }
    free((void *)p);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 2);
  long iters = bench_scaled(ITERATIONS, a.scale);
  worker *w = calloc((size_t)a.threads, sizeof *w);
  for (int i = 0; i < a.threads; i++) { /* consecutive small allocations: neighbours in memory */
    w[i].initial = bench_malloc(OBJ_SIZE);
    memset(w[i].initial, 0, OBJ_SIZE);
    w[i].iterations = iters;
  }
  double secs = bench_run_workers(a.threads, w, sizeof *w, work);
  uint64_t sum = 0;
  for (int i = 0; i < a.threads; i++) sum += w[i].sum;
  free(w);
  bench_report("cache_scratch", a, sum, secs, (double)iters * a.threads * REPETITIONS * OBJ_SIZE);
  return 0;
}
