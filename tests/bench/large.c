/* large - big blocks. Phase 1 keeps LIVE blocks of 256 KiB .. 4 MiB and replaces a random one per
 * operation (image buffers, I/O buffers, hash table resizes); phase 2 allocates huge blocks of
 * 8 .. 64 MiB one at a time (loading a file, a big matrix). Every page of every block is touched, as a
 * program would, so the cost of page faults and of returning memory to the OS (munmap/madvise and
 * faulting it back in) is measured, and the peak RSS shows how much is retained.
 *
 * usage: large [threads=1] [scale=1] */
#include "bench.h"

enum { LIVE = 8, OPS = 2000, HUGE_OPS = 40 };
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

typedef struct {
  int id;
  long ops, huge_ops;
  uint64_t sum;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  bench_rng rng = {0x1a46eull + (uint64_t)w->id * 7919};
  void *slot[LIVE] = {0};
  size_t size[LIVE] = {0};
  uint64_t tag[LIVE] = {0};
  uint64_t sum = 0;
  for (long i = 0; i < w->ops; i++) {
    uint32_t k = bench_below(&rng, LIVE);
    if (slot[k]) {
      sum += bench_verify(slot[k], size[k], tag[k]);
      free(slot[k]);
    }
    /* Log-uniform sizes: as many 256-512 KiB blocks as 2-4 MiB ones. */
    size_t lo = 256 * KiB << bench_below(&rng, 4);
    size[k] = bench_range(&rng, lo, 2 * lo - 1);
    tag[k] = bench_rand(&rng);
    slot[k] = bench_malloc(size[k]);
    bench_stamp(slot[k], size[k], tag[k]);
  }
  for (int k = 0; k < LIVE; k++)
    if (slot[k]) {
      sum += bench_verify(slot[k], size[k], tag[k]);
      free(slot[k]);
    }
  for (long i = 0; i < w->huge_ops; i++) {
    size_t n = bench_range(&rng, 8 * MiB, 64 * MiB);
    uint64_t t = bench_rand(&rng);
    void *p = bench_malloc(n);
    bench_stamp(p, n, t);
    sum += bench_verify(p, n, t);
    free(p);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  worker *w = calloc((size_t)a.threads, sizeof *w);
  for (int i = 0; i < a.threads; i++) w[i] = (worker){.id = i, .ops = bench_scaled(OPS, a.scale), .huge_ops = bench_scaled(HUGE_OPS, a.scale)};
  double secs = bench_run_workers(a.threads, w, sizeof *w, work);
  uint64_t sum = 0;
  for (int i = 0; i < a.threads; i++) sum += w[i].sum;
  free(w);
  bench_report("large", a, sum, secs, 0);
  return 0;
}
