/* mixed - a general-purpose mix: sizes 8 B .. 64 KiB drawn from a skewed distribution (mostly small,
 * as measured in real C/C++ programs: most requests are under 128 B, a long thin tail of buffers),
 * with random lifetimes. Each worker keeps a live set of SLOTS blocks; an operation replaces a random
 * slot. Half the operations hit a small "hot" part of the set, so lifetimes mix very short and long
 * (fragmentation over time, like a program's temporaries next to its long-lived data), and one in
 * four operations is a pure temporary (allocate, use, free at once). Workers are independent: with
 * threads > 1 this measures how well per-thread state scales, not cross-thread traffic (larson and
 * xmalloc do that).
 *
 * usage: mixed [threads=1] [scale=1] */
#include "bench.h"

enum { SLOTS = 20000, HOT = SLOTS / 16, OPS = 8000000 };

static size_t draw_size(bench_rng *r) {
  uint32_t p = bench_below(r, 1000);
  if (p < 600) return bench_range(r, 8, 64);          /* 60%: small structs, strings */
  if (p < 850) return bench_range(r, 65, 512);        /* 25%: nodes, short buffers */
  if (p < 950) return bench_range(r, 513, 4096);      /* 10%: buffers */
  if (p < 990) return bench_range(r, 4097, 16384);    /*  4%: larger buffers */
  return bench_range(r, 16385, 65536);                /*  1%: big arrays */
}

typedef struct {
  int id;
  long ops;
  uint64_t sum;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  bench_rng rng = {0xabcdef12ull * (uint64_t)(w->id + 1)};
  void **slot = calloc(SLOTS, sizeof(void *));
  uint32_t *size = calloc(SLOTS, sizeof(uint32_t));
  uint64_t *tag = calloc(SLOTS, sizeof(uint64_t));
  if (!slot || !size || !tag) BENCH_FAIL("calloc");
  uint64_t sum = 0;
  for (long i = 0; i < w->ops; i++) {
    uint32_t kind = bench_below(&rng, 4);
    size_t n = draw_size(&rng);
    uint64_t t = bench_rand(&rng);
    if (kind == 0) { /* temporary */
      void *p = bench_malloc(n);
      bench_stamp(p, n, t);
      sum += bench_verify(p, n, t);
      free(p);
      continue;
    }
    uint32_t k = kind == 1 ? bench_below(&rng, HOT) : bench_below(&rng, SLOTS);
    if (slot[k]) {
      sum += bench_verify(slot[k], size[k], tag[k]);
      free(slot[k]);
    }
    slot[k] = bench_malloc(n);
    bench_stamp(slot[k], n, t);
    size[k] = (uint32_t)n;
    tag[k] = t;
  }
  for (uint32_t k = 0; k < SLOTS; k++)
    if (slot[k]) {
      sum += bench_verify(slot[k], size[k], tag[k]);
      free(slot[k]);
    }
  free(slot);
  free(size);
  free(tag);
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  worker *w = calloc((size_t)a.threads, sizeof *w);
  for (int i = 0; i < a.threads; i++) w[i] = (worker){.id = i, .ops = bench_scaled(OPS, a.scale)};
  double secs = bench_run_workers(a.threads, w, sizeof *w, work);
  uint64_t sum = 0;
  for (int i = 0; i < a.threads; i++) sum += w[i].sum;
  free(w);
  bench_report("mixed", a, sum, secs, (double)bench_scaled(OPS, a.scale) * a.threads);
  return 0;
}
