/* realloc - realloc-heavy growth, as in vectors, string builders and read-into-growing-buffer loops.
 * Each worker owns BUFFERS buffers; an operation grows a random one. 30% of buffers grow like a
 * vector (capacity doubles, 16 B .. 1 MiB), 70% like a naive string builder (exact size, +1..64 B per
 * append, up to 64 KiB). A buffer that reaches its limit is freed and restarts small, so the sizes
 * keep cycling through every size class and the in-place / move paths of realloc are both hit.
 * The content is verified across every realloc: first byte, last byte of the old contents, and for
 * string builders every appended byte is written (appends are small, so this is what programs do).
 *
 * usage: realloc [threads=1] [scale=1] */
#include "bench.h"

enum { BUFFERS = 1000, OPS = 400000, VEC_MAX = 1 << 20, STR_MAX = 64 << 10 };

typedef struct {
  unsigned char *p;
  size_t len;
  unsigned char seed;
  int vector; /* doubling growth, else +1..64 appends */
} buffer;

static inline unsigned char byte_at(unsigned char seed, size_t i) {
  return (unsigned char)(seed ^ (i * 0x9d) ^ (i >> 8));
}

typedef struct {
  int id;
  long ops;
  uint64_t sum;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  bench_rng rng = {0x7777ull + (uint64_t)w->id * 0x1000193};
  buffer *b = calloc(BUFFERS, sizeof *b);
  if (!b) BENCH_FAIL("calloc");
  for (int i = 0; i < BUFFERS; i++) b[i].vector = bench_below(&rng, 10) < 3;
  uint64_t sum = 0;
  for (long op = 0; op < w->ops; op++) {
    buffer *x = &b[bench_below(&rng, BUFFERS)];
    if (x->len && (x->p[0] != byte_at(x->seed, 0) || x->p[x->len - 1] != byte_at(x->seed, x->len - 1)))
      BENCH_FAIL("buffer contents lost across realloc (len %zu)", x->len);
    if (x->len >= (x->vector ? VEC_MAX : STR_MAX)) { /* done with this one, start over */
      sum += x->len;
      free(x->p);
      x->p = NULL;
      x->len = 0;
    }
    if (x->len == 0) x->seed = (unsigned char)bench_rand(&rng);
    size_t old = x->len;
    size_t len = x->vector ? (old ? old * 2 : 16) : old + bench_range(&rng, 1, 64);
    x->p = realloc(x->p, len);
    if (!x->p) BENCH_FAIL("realloc(%zu) returned NULL", len);
    if (x->vector) { /* a vector fills its new capacity over time; touch each page and the ends */
      for (size_t i = old; i < len; i += 4096) x->p[i] = byte_at(x->seed, i);
      x->p[len - 1] = byte_at(x->seed, len - 1);
    } else {
      for (size_t i = old; i < len; i++) x->p[i] = byte_at(x->seed, i);
    }
    x->len = len;
  }
  for (int i = 0; i < BUFFERS; i++) {
    sum += b[i].len + (b[i].len ? b[i].p[b[i].len - 1] : 0);
    free(b[i].p);
  }
  free(b);
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
  bench_report("realloc", a, sum, secs, (double)bench_scaled(OPS, a.scale) * a.threads);
  return 0;
}
