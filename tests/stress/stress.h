/* stress.h - helpers shared by the stress tests, which run under LD_PRELOAD=libptmem.so:
 *   stress_init()        watchdog (alarm) + "is ptmem really loaded?" check
 *   fill_block/verify_block  a pattern derived from an id over every byte of a block
 *   rss_bytes(), mapped_bytes()  memory bounds
 *   rng (xorshift), now_s()
 * Each test program can also run without the preload (STRESS_ALLOW_GLIBC=1 in the environment) so
 * the test itself can be checked against glibc's malloc. */
#ifndef PTMEM_TESTS_STRESS_H
#define PTMEM_TESTS_STRESS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* also set on the command line (CMakeLists.txt): system headers come first */
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"

/* ---- set-up ------------------------------------------------------------------------------------ */
static const char* stress_name_ = "stress";

static void stress_alarm_(int sig) {
  (void)sig;
  static const char a[] = ": WATCHDOG: test did not finish in time (deadlock or livelock?)\n";
  (void)!write(2, stress_name_, strlen(stress_name_));
  (void)!write(2, a, sizeof a - 1);
  _exit(3);
}

static inline bool stress_under_ptmem(void) { return dlsym(RTLD_DEFAULT, "pt_pool_create") != NULL; }

/* `fn` handles `sig` (interrupted calls restart); aborts if it cannot be installed. */
static inline void stress_handle_signal(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;
  CHECK_EQ(sigaction(sig, &sa, NULL), 0);
}

/* Installs the watchdog and checks that libptmem.so is loaded (unless STRESS_ALLOW_GLIBC=1). */
static inline void stress_init(const char* name, unsigned watchdog_s) {
  stress_name_ = name;
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = stress_alarm_;
  sigaction(SIGALRM, &sa, NULL);
  alarm(watchdog_s);
  bool ptmem = stress_under_ptmem();
  const char* allow = getenv("STRESS_ALLOW_GLIBC");
  if (!ptmem && !(allow && allow[0] == '1')) {
    fprintf(stderr, "%s: libptmem.so is not loaded (dlsym(pt_pool_create) == NULL); run it with "
                    "LD_PRELOAD=libptmem.so (or STRESS_ALLOW_GLIBC=1 to check the test against glibc)\n",
            name);
    exit(1);
  }
  printf("%s: allocator = %s\n", name, ptmem ? "ptmem" : "glibc");
}

/* ---- patterns ---------------------------------------------------------------------------------- */
static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/* Every byte of [p, p+n) gets a value derived from (id, offset): byte o is byte o%8 (little endian)
 * of word o/8 of a stream, so any prefix of a filled block verifies as a block of that length. */
static inline void fill_block(void* p, size_t n, uint64_t id) {
  uint64_t seed = mix64(id + 1);
  uint64_t* w = p;
  size_t nw = n / 8;
  for (size_t i = 0; i < nw; i++) w[i] = seed + i * 0x9E3779B97F4A7C15ull;
  uint8_t* b = p;
  for (size_t i = nw * 8; i < n; i++) b[i] = (uint8_t)((seed + nw * 0x9E3779B97F4A7C15ull) >> (i % 8 * 8));
}

/* Returns the offset of the first wrong byte, or SIZE_MAX when the whole block is intact. */
static inline size_t check_block(const void* p, size_t n, uint64_t id) {
  uint64_t seed = mix64(id + 1);
  const uint64_t* w = p;
  size_t nw = n / 8;
  for (size_t i = 0; i < nw; i++)
    if (w[i] != seed + i * 0x9E3779B97F4A7C15ull) return i * 8;
  const uint8_t* b = p;
  for (size_t i = nw * 8; i < n; i++)
    if (b[i] != (uint8_t)((seed + nw * 0x9E3779B97F4A7C15ull) >> (i % 8 * 8))) return i;
  return SIZE_MAX;
}

#define VERIFY_BLOCK(p, n, id)                                                                       \
  do {                                                                                               \
    size_t vb_off_ = check_block((p), (n), (id));                                                    \
    if (vb_off_ != SIZE_MAX) {                                                                       \
      fprintf(stderr, "%s:%d: block %p (size %zu, id %llu) corrupted at offset %zu\n", __FILE__,     \
              __LINE__, (void*)(p), (size_t)(n), (unsigned long long)(id), vb_off_);                \
      abort();                                                                                       \
    }                                                                                                \
  } while (0)

/* Tagged blocks carry their own id and size in the first 16 bytes, the pattern after that, so a
 * block can travel through an untyped slot (a void*) and still be verified. n >= 16. */
typedef struct {
  uint64_t id;
  uint64_t n;
} tag_t;

static inline void* tagged_alloc(size_t n, uint64_t id) {
  if (n < sizeof(tag_t)) n = sizeof(tag_t);
  tag_t* t = malloc(n);
  if (!t) {
    fprintf(stderr, "malloc(%zu) failed\n", n);
    abort();
  }
  t->id = id;
  t->n = n;
  if (n > sizeof(tag_t)) fill_block(t + 1, n - sizeof(tag_t), id);
  return t;
}

#define TAGGED_VERIFY(p)                                                                             \
  do {                                                                                               \
    const tag_t* tv_ = (const tag_t*)(p);                                                            \
    if (tv_->n < sizeof(tag_t) || tv_->n > ((size_t)1 << 32)) {                                      \
      fprintf(stderr, "%s:%d: block %p has a corrupted header (id %llu, size %llu)\n", __FILE__,     \
              __LINE__, (const void*)tv_, (unsigned long long)tv_->id, (unsigned long long)tv_->n); \
      abort();                                                                                       \
    }                                                                                                \
    if (tv_->n > sizeof(tag_t)) VERIFY_BLOCK(tv_ + 1, tv_->n - sizeof(tag_t), tv_->id);              \
  } while (0)

static inline void tagged_free(void* p) {
  if (!p) return;
  TAGGED_VERIFY(p);
  ((tag_t*)p)->n = 1; /* a stale copy of this pointer would fail the header check */
  free(p);
}

/* ---- memory ------------------------------------------------------------------------------------ */
static inline size_t rss_bytes(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, res = 0;
  if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
  fclose(f);
  return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* Peak RSS of the process so far (VmHWM). */
static inline size_t peak_rss_bytes(void) {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  size_t kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %zu kB", &kb) == 1) break;
  fclose(f);
  return kb * 1024;
}

/* Bytes the allocator has mapped (ptmem: spans + huge blocks; glibc: its arenas + mmapped). */
static inline size_t mapped_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.arena + mi.hblkhd;
}

#define MiB_ ((size_t)1 << 20)

/* ---- misc -------------------------------------------------------------------------------------- */
typedef struct {
  uint64_t s;
} rng_t;
static inline uint64_t rng_next(rng_t* r) {
  uint64_t x = r->s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return r->s = x;
}
static inline rng_t rng_make(uint64_t seed) {
  rng_t r = {mix64(seed) | 1};
  return r;
}
static inline size_t rng_below(rng_t* r, size_t n) { return (size_t)(rng_next(r) % n); }

/* Mixed sizes 16 B .. max, weighted to small: 80% <= 256 B, 15% <= 8 KiB, 4% <= 128 KiB, 1% <= max. */
static inline size_t rng_size(rng_t* r, size_t max) {
  unsigned k = (unsigned)rng_below(r, 1000);
  size_t hi = k < 800 ? 256 : k < 950 ? 8192 : k < 990 ? 128 * 1024 : max;
  if (hi > max) hi = max;
  return 16 + rng_below(r, hi - 15);
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
