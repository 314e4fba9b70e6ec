/* bench.h - shared helpers of the benchmark workloads in tests/bench.
 *
 * Every workload is `prog [threads] [scale]`: threads <= 0 or "-" keeps the default, scale multiplies
 * the amount of work (default 1.0, sized so one run takes roughly 0.5-2 s under glibc on a 2-core
 * machine). stdout gets exactly one line, "<name> checksum=<hex>": the checksum depends only on
 * (threads, scale), never on the allocator or on thread scheduling, so scripts/bench.sh and the smoke
 * tests can compare a run under any allocator with a run under glibc. Timing goes to stderr because it
 * differs between runs.
 *
 * The data every block carries is written and checked (sparsely: first word, last byte, one byte per
 * page) for two reasons: the compiler cannot drop the allocations as dead code, and an allocator that
 * hands out overlapping or prematurely reused memory is caught (abort) instead of being "fast". */
#ifndef PTMEM_BENCH_H
#define PTMEM_BENCH_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* splitmix64: tiny, fast, and seedable per thread/chain, so each logical worker draws the same
 * sequence whatever OS thread runs it and whatever the allocator does (no rand(): global state, and
 * glibc's takes a lock). */
typedef struct {
  uint64_t s;
} bench_rng;

static inline uint64_t bench_rand(bench_rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform in [0, n): multiply-shift instead of %, which is slow and biased. */
static inline uint32_t bench_below(bench_rng *r, uint32_t n) {
  return (uint32_t)(((bench_rand(r) >> 32) * (uint64_t)n) >> 32);
}
/* Uniform in [lo, hi]. */
static inline size_t bench_range(bench_rng *r, size_t lo, size_t hi) {
  return lo + (size_t)((bench_rand(r) >> 11) % (uint64_t)(hi - lo + 1));
}

typedef struct {
  int threads;
  double scale;
} bench_args;

static inline bench_args bench_parse(int argc, char **argv, int default_threads) {
  bench_args a = {default_threads, 1.0};
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    fprintf(stderr, "usage: %s [threads (default %d)] [scale (default 1.0)]\n", argv[0], default_threads);
    exit(2);
  }
  if (argc > 1 && strcmp(argv[1], "-") != 0 && atoi(argv[1]) > 0) a.threads = atoi(argv[1]);
  if (argc > 2) a.scale = atof(argv[2]);
  if (!(a.scale > 0)) a.scale = 1.0;
  if (a.threads > 256) a.threads = 256;
  return a;
}

/* Work counts are scaled but never reach 0, so --quick's tiny scales still exercise every path. */
static inline long bench_scaled(long n, double scale) {
  double v = (double)n * scale;
  return v < 1 ? 1 : (long)v;
}

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define BENCH_FAIL(...)                                                                              \
  do {                                                                                               \
    fprintf(stderr, "%s:%d: verification failed: ", __FILE__, __LINE__);                             \
    fprintf(stderr, __VA_ARGS__);                                                                    \
    fputc('\n', stderr);                                                                             \
    abort();                                                                                         \
  } while (0)

static inline void *bench_malloc(size_t n) {
  void *p = malloc(n);
  if (!p) BENCH_FAIL("malloc(%zu) returned NULL", n);
  return p;
}

/* Block stamping: the tag goes in the first 8 bytes, its top byte in the last byte and (for blocks
 * that span pages) one byte per 4 KiB page. One byte value everywhere because for n = 8 the last byte
 * is the head's top byte and a page byte can be the last byte. Touching each page is what makes peak RSS meaningful for
 * large blocks; writing every byte would turn the benchmarks into memset benchmarks. n >= 8. */
static inline void bench_stamp(void *p, size_t n, uint64_t tag) {
  unsigned char *b = p;
  memcpy(b, &tag, 8);
  for (size_t off = 4096; off < n; off += 4096) b[off] = (unsigned char)(tag >> 56);
  b[n - 1] = (unsigned char)(tag >> 56);
}

/* Checks a stamp; returns a value derived from what was read so callers fold it into the checksum. */
static inline uint64_t bench_verify(const void *p, size_t n, uint64_t tag) {
  const unsigned char *b = p;
  uint64_t got;
  memcpy(&got, b, 8);
  if (got != tag) BENCH_FAIL("block %p (%zu B): head %016" PRIx64 " != %016" PRIx64, p, n, got, tag);
  for (size_t off = 4096; off < n; off += 4096)
    if (b[off] != (unsigned char)(tag >> 56)) BENCH_FAIL("block %p (%zu B): byte at %zu clobbered", p, n, off);
  if (b[n - 1] != (unsigned char)(tag >> 56)) BENCH_FAIL("block %p (%zu B): last byte clobbered", p, n);
  return got ^ (uint64_t)n;
}

/* Order-independent checksum combination (sum), so threads can add their parts in any order. */
static inline void bench_report(const char *name, bench_args a, uint64_t checksum, double secs, double ops) {
  printf("%s checksum=%016" PRIx64 "\n", name, checksum);
  fflush(stdout);
  fprintf(stderr, "%s: threads=%d scale=%g time=%.3f s", name, a.threads, a.scale, secs);
  if (ops > 0) fprintf(stderr, " ops=%.0f (%.2f Mops/s)", ops, ops / secs / 1e6);
  fputc('\n', stderr);
}

/* Runs fn(i) on `threads` threads and joins them; arg i is the worker index. */
static inline void bench_spawn_join(int threads, void *(*fn)(void *), void **args);

/* Runs fn once per worker (workers: an array of `threads` structs of `size` bytes, each passed to
 * its thread), all at once, and returns the wall time in seconds. */
static inline double bench_run_workers(int threads, void *workers, size_t size, void *(*fn)(void *)) {
  void **args = bench_malloc(sizeof(void *) * (size_t)threads);
  for (int i = 0; i < threads; i++) args[i] = (char *)workers + (size_t)i * size;
  double t0 = bench_now();
  bench_spawn_join(threads, fn, args);
  double secs = bench_now() - t0;
  free(args);
  return secs;
}

static inline void bench_spawn_join(int threads, void *(*fn)(void *), void **args) {
  pthread_t *tid = bench_malloc(sizeof(pthread_t) * (size_t)threads);
  for (int i = 0; i < threads; i++)
    if (pthread_create(&tid[i], NULL, fn, args[i]) != 0) BENCH_FAIL("pthread_create failed");
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  free(tid);
}

#endif
