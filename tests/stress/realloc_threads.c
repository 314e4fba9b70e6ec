/* realloc_threads.c - several threads realloc their own buffers up and down across every size range
 * (16 B .. 64 MiB: slab classes, medium pool blocks, large spans, huge mappings; in place and
 * moving). Each buffer's content is a stream derived from (id, offset), so after every realloc the
 * kept prefix min(old, new) is verified byte for byte and the new tail is filled.
 * Each thread runs (a) random resizes of 8 buffers, log-uniform sizes weighted to small, and
 * (b) one "string builder" sweep: grow by ~12% steps from 16 B to 64 MiB, then shrink back down.
 * Asserts: content preserved, 16-byte alignment, malloc_usable_size >= requested size, no crash,
 * no deadlock, RSS bounded after everything is freed. */
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

enum { THREADS = 3, BUFS = 8, RANDOM_OPS = 15000 };
#define MAX_BYTES ((size_t)64 << 20)

static inline uint64_t stream_word(uint64_t seed, size_t w) { return seed ^ (w * 0x9E3779B97F4A7C15ull); }

/* Writes the stream for offsets [a, b). */
static void stream_fill(uint8_t* p, size_t a, size_t b, uint64_t id) {
  uint64_t seed = mix64(id);
  size_t o = a;
  while (o < b && o % 8) {
    p[o] = (uint8_t)(stream_word(seed, o / 8) >> (o % 8 * 8));
    o++;
  }
  for (; o + 8 <= b; o += 8) *(uint64_t*)(p + o) = stream_word(seed, o / 8);
  for (; o < b; o++) p[o] = (uint8_t)(stream_word(seed, o / 8) >> (o % 8 * 8));
}

/* Offset of the first byte of [0, n) that differs from the stream, or SIZE_MAX. */
static size_t stream_check(const uint8_t* p, size_t n, uint64_t id) {
  uint64_t seed = mix64(id);
  size_t o = 0;
  for (; o + 8 <= n; o += 8)
    if (*(const uint64_t*)(p + o) != stream_word(seed, o / 8)) break;
  for (; o < n; o++)
    if (p[o] != (uint8_t)(stream_word(seed, o / 8) >> (o % 8 * 8))) return o;
  return SIZE_MAX;
}

typedef struct {
  uint8_t* p;
  size_t n;
  uint64_t id;
} buf_t;

static _Atomic uint64_t total_reallocs, moved;

static void resize(buf_t* b, size_t n) {
  uint8_t* q = realloc(b->p, n);
  if (!q) {
    fprintf(stderr, "realloc(%p, %zu) failed\n", (void*)b->p, n);
    abort();
  }
  CHECK_ALIGNED(q, 16);
  CHECK_UGE(malloc_usable_size(q), n);
  if (q != b->p) moved++;
  size_t keep = b->n < n ? b->n : n;
  size_t bad = stream_check(q, keep, b->id);
  if (bad != SIZE_MAX) {
    fprintf(stderr, "realloc %p (%zu B) -> %p (%zu B): kept content differs at offset %zu\n",
            (void*)b->p, b->n, (void*)q, n, bad);
    abort();
  }
  if (n > b->n) stream_fill(q, b->n, n, b->id);
  b->p = q;
  b->n = n;
  total_reallocs++;
}

/* Log-uniform between 16 B and a cap picked by weight: mostly small, sometimes up to 64 MiB. */
static size_t pick_size(rng_t* r) {
  unsigned k = (unsigned)rng_below(r, 1000);
  unsigned max_log = k < 700 ? 12 : k < 920 ? 19 : k < 990 ? 22 : 26; /* 4 KiB, 512 KiB, 4 MiB, 64 MiB */
  unsigned lg = 4 + (unsigned)rng_below(r, max_log - 4 + 1);
  size_t lo = (size_t)1 << lg, n = lo + rng_below(r, lo);
  return n > MAX_BYTES ? MAX_BYTES : n;
}

static void* worker(void* arg) {
  unsigned index = (unsigned)(uintptr_t)arg;
  rng_t r = rng_make(index + 1000);
  buf_t bufs[BUFS];
  for (int i = 0; i < BUFS; i++) {
    bufs[i].id = ((uint64_t)index << 32) | (uint64_t)i;
    bufs[i].n = 16;
    bufs[i].p = malloc(16);
    CHECK(bufs[i].p != NULL);
    stream_fill(bufs[i].p, 0, 16, bufs[i].id);
  }
  /* (a) random resizes; also realloc(NULL, n) and small +-1 steps around class boundaries. */
  for (int op = 0; op < RANDOM_OPS; op++) {
    buf_t* b = &bufs[rng_below(&r, BUFS)];
    switch (rng_below(&r, 8)) {
    case 0: resize(b, b->n + 1 + rng_below(&r, 64)); break;
    case 1: resize(b, b->n > 80 ? b->n - 1 - rng_below(&r, 64) : 16); break;
    default: resize(b, pick_size(&r)); break;
    }
  }
  /* (b) string builder sweep on buffer 0. */
  buf_t* b = &bufs[0];
  resize(b, 16);
  while (b->n < MAX_BYTES) {
    size_t n = b->n + b->n / 8 + 1 + rng_below(&r, 16);
    resize(b, n > MAX_BYTES ? MAX_BYTES : n);
  }
  while (b->n > 16) {
    size_t n = b->n - b->n / 8 - 1;
    resize(b, n < 16 ? 16 : n);
  }
  for (int i = 0; i < BUFS; i++) {
    size_t bad = stream_check(bufs[i].p, bufs[i].n, bufs[i].id);
    CHECK_UEQ(bad, SIZE_MAX);
    free(bufs[i].p);
  }
  return NULL;
}

int main(void) {
  stress_init("stress_realloc_threads", 100);
  double t0 = now_s();
  pthread_t th[THREADS];
  for (unsigned i = 0; i < THREADS; i++) CHECK_EQ(pthread_create(&th[i], NULL, worker, (void*)(uintptr_t)i), 0);
  for (unsigned i = 0; i < THREADS; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
  size_t rss = rss_bytes();
  printf("%llu reallocs (%llu moved) in %.2f s; RSS after freeing everything %.1f MiB, mapped %.1f MiB\n",
         (unsigned long long)total_reallocs, (unsigned long long)moved, now_s() - t0, (double)rss / MiB_,
         (double)mapped_bytes() / MiB_);
  CHECK(moved > 0 && moved < total_reallocs);
  /* Everything is freed; what stays resident is caches (ptmem keeps up to 256 MiB of huge blocks
   * and purges free slices after 250 ms). A leak of the buffers would be GiBs. */
  CHECK_LE(rss, 640 * MiB_);
  printf("ok\n");
  return 0;
}
