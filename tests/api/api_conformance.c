/* api_conformance.c - the malloc family's contract as programs rely on it, checked on whatever
 * allocator the process runs with: ptmem under LD_PRELOAD (test api_conformance), or glibc itself
 * (test api_conformance_glibc), which proves every shared check can pass on the reference.
 * ptmem-only checks (every symbol exported by libptmem.so, honest mallinfo2 numbers, free_sized,
 * foreign pointers, pvalloc(0)) run only when ptmem is loaded.
 *
 * Usage: api_conformance [--expect=ptmem|--expect=glibc] [--no-fork] [section...]
 * Each section runs in its own forked child so that a crash in one is reported by name and does
 * not hide the others; --no-fork runs them in-process (for a debugger). Naming sections runs only
 * those. Exit 0 = all passed, 1 = a section failed.
 *
 * Sizes and pointers go through hide()/escape() and the file is built with -fno-builtin, so the
 * compiler can neither fold "malloc(SIZE_MAX) == NULL" nor elide a malloc/free pair: every call
 * really reaches the allocator. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------------------------------ */

static inline size_t hide(size_t n) {
  __asm__ volatile("" : "+r"(n));
  return n;
}
static inline void escape(void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static bool under_ptmem;
static size_t page_size;

/* The word pattern of block `seed`: position-dependent, so a copy at a wrong offset, a block that
 * overlaps another or a stale byte never matches. */
static inline uint64_t pat(uint64_t seed, size_t word) {
  return ((seed + 1) * 0x9E3779B97F4A7C15ull) ^ ((word + 1) * 0xD6E8FEB86659FD93ull);
}

static void fill(void* p, size_t n, uint64_t seed) {
  unsigned char* b = p;
  size_t words = n / 8;
  for (size_t j = 0; j < words; j++) {
    uint64_t w = pat(seed, j);
    memcpy(b + 8 * j, &w, 8);
  }
  uint64_t w = pat(seed, words);
  memcpy(b + 8 * words, &w, n % 8);
}

/* Offset of the first byte of p[0..n) that does not hold fill(seed)'s value, or n if all do. */
static size_t mismatch(const void* p, size_t n, uint64_t seed) {
  const unsigned char* b = p;
  size_t words = n / 8;
  for (size_t j = 0; j < words; j++) {
    uint64_t w = pat(seed, j), got;
    memcpy(&got, b + 8 * j, 8);
    if (got != w) return 8 * j;
  }
  uint64_t w = pat(seed, words);
  return memcmp(b + 8 * words, &w, n % 8) ? 8 * words : n;
}
#define CHECK_PATTERN(p, n, seed) CHECK_UEQ(mismatch((p), (n), (seed)), (n))

/* Offset of the first byte of p[0..n) that is not `byte`, or n. */
static size_t not_byte(const void* p, size_t n, unsigned char byte) {
  const unsigned char* b = p;
  uint64_t w = 0x0101010101010101ull * byte, got;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    memcpy(&got, b + i, 8);
    if (got != w) break;
  }
  for (; i < n; i++)
    if (b[i] != byte) return i;
  return n;
}
#define CHECK_ALL_BYTES(p, n, byte) CHECK_UEQ(not_byte((p), (n), (byte)), (n))

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
static size_t next_pow2(size_t n) {
  size_t a = 1;
  while (a < n) a <<= 1;
  return a;
}
static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64*, fixed seed per section: reproducible */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

/* POSIX's dlsym idiom: copy the object pointer into the function pointer's storage. */
#define LOOKUP(var, name)                                                                            \
  do {                                                                                               \
    void* sym_ = dlsym(RTLD_DEFAULT, name);                                                          \
    memcpy(&(var), &sym_, sizeof sym_);                                                              \
  } while (0)

/* Everything beyond C11/POSIX is resolved at run time so the program links on any libc. */
static struct {
  void* (*memalign)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  size_t (*usable)(void*);
  struct mallinfo (*mallinfo)(void);
  struct mallinfo2 (*mallinfo2)(void);
  int (*malloc_trim)(size_t);
  void (*malloc_stats)(void);
  int (*malloc_info)(int, FILE*);
  int (*mallopt)(int, int);
  void (*cfree)(void*);
  void (*free_sized)(void*, size_t);
  void (*free_aligned_sized)(void*, size_t, size_t);
  void* (*libc_malloc)(size_t);
  void (*libc_free)(void*);
  void* (*libc_calloc)(size_t, size_t);
  void* (*libc_realloc)(void*, size_t);
  void* (*libc_memalign)(size_t, size_t);
  void* (*libc_valloc)(size_t);
  void* (*libc_pvalloc)(size_t);
  int (*posix_memalign_)(void**, size_t, size_t);
} api;

static void resolve_api(void) {
  LOOKUP(api.memalign, "memalign");
  LOOKUP(api.valloc, "valloc");
  LOOKUP(api.pvalloc, "pvalloc");
  LOOKUP(api.reallocarray, "reallocarray");
  LOOKUP(api.usable, "malloc_usable_size");
  LOOKUP(api.mallinfo, "mallinfo");
  LOOKUP(api.mallinfo2, "mallinfo2");
  LOOKUP(api.malloc_trim, "malloc_trim");
  LOOKUP(api.malloc_stats, "malloc_stats");
  LOOKUP(api.malloc_info, "malloc_info");
  LOOKUP(api.mallopt, "mallopt");
  LOOKUP(api.cfree, "cfree");
  LOOKUP(api.free_sized, "free_sized");
  LOOKUP(api.free_aligned_sized, "free_aligned_sized");
  LOOKUP(api.libc_malloc, "__libc_malloc");
  LOOKUP(api.libc_free, "__libc_free");
  LOOKUP(api.libc_calloc, "__libc_calloc");
  LOOKUP(api.libc_realloc, "__libc_realloc");
  LOOKUP(api.libc_memalign, "__libc_memalign");
  LOOKUP(api.libc_valloc, "__libc_valloc");
  LOOKUP(api.libc_pvalloc, "__libc_pvalloc");
  LOOKUP(api.posix_memalign_, "__posix_memalign");
}

/* The functions every section uses must exist on both allocators. */
static void require_core_api(void) {
  CHECK(api.memalign && api.valloc && api.pvalloc && api.reallocarray && api.usable);
}

static size_t usable(void* p) { return api.usable(p); }

/* A successful allocation of n bytes: aligned to `align` (and always to 16, the x86-64 malloc
 * alignment), usable size >= n. */
static void check_block(void* p, size_t n, size_t align) {
  CHECK(p != NULL);
  CHECK_ALIGNED(p, max_sz(align, 16));
  CHECK_UGE(usable(p), n);
}

/* A failed allocation: NULL and errno == ENOMEM. Callers set errno = 0 first. */
#define CHECK_ENOMEM(expr)                                                                           \
  do {                                                                                               \
    errno = 0;                                                                                       \
    void* r_ = (expr);                                                                               \
    CHECK_PTR_EQ(r_, NULL);                                                                          \
    CHECK_EQ(errno, ENOMEM);                                                                         \
  } while (0)

/* Sizes no allocator can satisfy: above PTRDIFF_MAX (glibc refuses those outright), and a few below
 * it that exceed a 47/48-bit address space. */
static size_t too_big[64];
static size_t n_too_big;
static void make_too_big(void) {
  const size_t fixed[] = {(size_t)PTRDIFF_MAX + 1, (size_t)1 << 63, ((size_t)1 << 63) + 4096,
                          SIZE_MAX, SIZE_MAX / 2 + 1, SIZE_MAX - 4095, SIZE_MAX - 4096,
                          SIZE_MAX - 65535, SIZE_MAX - 65536, SIZE_MAX - MiB, SIZE_MAX - 64 * MiB,
                          (size_t)PTRDIFF_MAX, (size_t)1 << 48, ((size_t)1 << 62) + 17};
  n_too_big = 0;
  for (size_t i = 0; i < ARRAY_LEN(fixed); i++) too_big[n_too_big++] = fixed[i];
  for (size_t i = 1; i <= 40; i++) too_big[n_too_big++] = SIZE_MAX - i; /* SIZE_MAX-i: header overflow */
}

/* ---- exports: every symbol a malloc replacement must define, resolving to the allocator ------------- */

typedef struct {
  const char* name;
  bool in_glibc; /* also defined by glibc 2.36 itself (so checked against it without the preload) */
} export_t;

static const export_t exports[] = {
    {"malloc", true},          {"free", true},
    {"calloc", true},          {"realloc", true},
    {"reallocarray", true},    {"memalign", true},
    {"posix_memalign", true},  {"aligned_alloc", true},
    {"valloc", true},          {"pvalloc", true},
    {"malloc_usable_size", true}, {"cfree", false}, /* glibc 2.26+ keeps cfree as a compat symbol only */
    {"free_sized", false},     {"free_aligned_sized", false}, /* C23, glibc 2.39+ */
    {"__libc_malloc", true},   {"__libc_free", true},
    {"__libc_calloc", true},   {"__libc_realloc", true},
    {"__libc_memalign", true}, {"__libc_valloc", true},
    {"__libc_pvalloc", true},  {"__posix_memalign", false},
    {"mallinfo", true},        {"mallinfo2", true},
    {"malloc_trim", true},     {"malloc_stats", true},
    {"malloc_info", true},     {"mallopt", true},
    /* C++ operators (this C program loads no libstdc++, so only ptmem can define them here) */
    {"_Znwm", false},          {"_Znam", false},
    {"_ZnwmRKSt9nothrow_t", false}, {"_ZnamRKSt9nothrow_t", false},
    {"_ZnwmSt11align_val_t", false}, {"_ZnamSt11align_val_t", false},
    {"_ZnwmSt11align_val_tRKSt9nothrow_t", false}, {"_ZnamSt11align_val_tRKSt9nothrow_t", false},
    {"_ZdlPv", false},         {"_ZdaPv", false},
    {"_ZdlPvm", false},        {"_ZdaPvm", false},
    {"_ZdlPvRKSt9nothrow_t", false}, {"_ZdaPvRKSt9nothrow_t", false},
    {"_ZdlPvSt11align_val_t", false}, {"_ZdaPvSt11align_val_t", false},
    {"_ZdlPvmSt11align_val_t", false}, {"_ZdaPvmSt11align_val_t", false},
    {"_ZdlPvSt11align_val_tRKSt9nothrow_t", false}, {"_ZdaPvSt11align_val_tRKSt9nothrow_t", false},
};

static void section_exports(void) {
  /* Under the preload every name must resolve into libptmem.so: one missing name is a path by
   * which a program (or libc itself) reaches glibc's malloc with ptmem's pointers. */
  const char* want = under_ptmem ? "libptmem.so" : "libc.so";
  for (size_t i = 0; i < ARRAY_LEN(exports); i++) {
    if (!under_ptmem && !exports[i].in_glibc) continue;
    void* sym = dlsym(RTLD_DEFAULT, exports[i].name);
    if (!sym) fprintf(stderr, "missing export: %s\n", exports[i].name);
    CHECK(sym != NULL);
    Dl_info info;
    CHECK(dladdr(sym, &info) != 0 && info.dli_fname != NULL);
    if (!strstr(info.dli_fname, want))
      fprintf(stderr, "%s resolves into %s, not %s\n", exports[i].name, info.dli_fname, want);
    CHECK(strstr(info.dli_fname, want) != NULL);
  }
  /* The program's own calls (through its PLT/GOT) reach the same definitions. */
  void* sym = dlsym(RTLD_DEFAULT, "malloc");
  CHECK_PTR_EQ((void*)(uintptr_t)&malloc, sym);
  sym = dlsym(RTLD_DEFAULT, "free");
  CHECK_PTR_EQ((void*)(uintptr_t)&free, sym);
}

/* ---- malloc(0) ------------------------------------------------------------------------------------ */

static int cmp_ptr(const void* a, const void* b) {
  uintptr_t x = *(const uintptr_t*)a, y = *(const uintptr_t*)b;
  return x < y ? -1 : x > y;
}

static void section_malloc_zero(void) {
  /* Programs use malloc(0) results as unique handles and keys: each must be a distinct live
   * pointer, and so must the other zero-size requests. */
  enum { N = 2000 };
  static void* p[N + 8];
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    p[n] = malloc(hide(0));
    CHECK(p[n] != NULL);
    CHECK_ALIGNED(p[n], 16);
    n++;
  }
  p[n++] = calloc(hide(0), 1);
  p[n++] = calloc(1, hide(0));
  p[n++] = realloc(NULL, hide(0));
  p[n++] = aligned_alloc(64, hide(0));
  p[n++] = api.memalign(64, hide(0));
  CHECK_EQ(posix_memalign(&p[n], 64, hide(0)), 0);
  n++;
  for (size_t i = 0; i < n; i++) CHECK(p[i] != NULL);
  qsort(p, n, sizeof p[0], cmp_ptr);
  for (size_t i = 1; i < n; i++) CHECK_PTR_NE(p[i - 1], p[i]);
  for (size_t i = 0; i < n; i++) free(p[i]);
}

/* ---- realloc ---------------------------------------------------------------------------------------- */

/* Reallocates *p from old to new_size and checks the prefix survived; refills the block under a new
 * seed for the next step. */
static void realloc_step(void** p, size_t old, size_t new_size, uint64_t* seed) {
  void* q = realloc(*p, hide(new_size));
  check_block(q, new_size, 16);
  CHECK_PATTERN(q, old < new_size ? old : new_size, *seed);
  *seed += 1;
  fill(q, new_size, *seed);
  *p = q;
}

static void section_realloc(void) {
  /* realloc(p, 0) frees p and returns NULL (glibc's documented behaviour), in every size range. */
  const size_t range_sizes[] = {1, 100, 40 * KiB, 600 * KiB, 2 * MiB, 64 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(range_sizes); i++) {
    void* p = malloc(hide(range_sizes[i]));
    CHECK(p != NULL);
    fill(p, range_sizes[i], i);
    CHECK_PTR_EQ(realloc(p, hide(0)), NULL);
  }
  /* realloc(NULL, n) is malloc(n). */
  const size_t from_null[] = {0, 1, 16, 1000, 100 * KiB, 3 * MiB, 9 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(from_null); i++) {
    void* p = realloc(NULL, hide(from_null[i]));
    check_block(p, from_null[i], 16);
    fill(p, from_null[i], 7);
    free(p);
  }
  /* Every pair of the backends (slab, medium pool, large span, huge mapping), both directions. */
  const size_t key[] = {16, 40 * KiB, 1 * MiB, 64 * MiB};
  for (size_t a = 0; a < ARRAY_LEN(key); a++)
    for (size_t b = 0; b < ARRAY_LEN(key); b++) {
      uint64_t seed = 100 + a * 10 + b;
      void* p = malloc(hide(key[a]));
      check_block(p, key[a], 16);
      fill(p, key[a], seed);
      realloc_step(&p, key[a], key[b], &seed);
      realloc_step(&p, key[b], key[a], &seed); /* and back */
      free(p);
    }
  /* Blocks from the aligned and zeroing allocators resize like any other. */
  for (size_t a = 16; a <= 4 * MiB; a <<= 2) {
    const size_t ns[] = {1, a - 1, a + 1, 3 * a, 100 * KiB + 3};
    for (size_t i = 0; i < ARRAY_LEN(ns); i++) {
      uint64_t s = a + i;
      void* p = api.memalign(hide(a), hide(ns[i]));
      check_block(p, ns[i], a);
      fill(p, ns[i], s);
      realloc_step(&p, ns[i], ns[i] / 2 + 1, &s);
      realloc_step(&p, ns[i] / 2 + 1, ns[i] * 3 + 5 * MiB, &s);
      free(p);
      p = calloc(hide(ns[i]), 1);
      check_block(p, ns[i], 16);
      CHECK_ALL_BYTES(p, ns[i], 0);
      fill(p, ns[i], s);
      realloc_step(&p, ns[i], ns[i] + 1000, &s);
      free(p);
    }
  }
  /* One block walked up and down a ladder of sizes, then at random (log-uniform to 16 MiB). */
  const size_t ladder[] = {1,       15,        16,        17,         127,      128,      129,
                           1000,    4095,      4097,      32 * KiB,   32 * KiB + 1, 40 * KiB,
                           100 * KiB, 512 * KiB, 512 * KiB + 1, 1 * MiB, 4 * MiB - 1, 4 * MiB,
                           4 * MiB + 1, 5 * MiB, 16 * MiB, 64 * MiB};
  uint64_t seed = 1000;
  size_t cur = 8;
  void* p = malloc(hide(cur));
  fill(p, cur, seed);
  for (size_t i = 0; i < ARRAY_LEN(ladder); i++) { /* up */
    realloc_step(&p, cur, ladder[i], &seed);
    cur = ladder[i];
  }
  for (size_t i = ARRAY_LEN(ladder) - 1; i-- > 0;) { /* and down */
    realloc_step(&p, cur, ladder[i], &seed);
    cur = ladder[i];
  }
  rng_state = 0x5EED0001;
  for (int i = 0; i < 400; i++) {
    size_t bits = rnd() % 25;                         /* up to 16 MiB */
    size_t n = ((size_t)1 << bits) + rnd() % ((size_t)1 << bits);
    if (rnd() % 4 == 0) n = cur + rnd() % 64;        /* small in-place growth */
    if (rnd() % 8 == 0 && cur > 64) n = cur - rnd() % 64; /* small in-place shrink */
    realloc_step(&p, cur, n, &seed);
    cur = n;
  }
  free(p);
}

/* ---- overflow: impossible sizes fail with ENOMEM, never crash ------------------------------------------ */

static void section_overflow(void) {
  make_too_big();
  void* live = malloc(hide(1000)); /* a block a failed realloc must leave intact */
  CHECK(live != NULL);
  fill(live, 1000, 42);
  void* live_big = malloc(hide(5 * MiB));
  CHECK(live_big != NULL);
  fill(live_big, 5 * MiB, 43);
  for (size_t i = 0; i < n_too_big; i++) {
    size_t n = hide(too_big[i]);
    CHECK_ENOMEM(malloc(n));
    CHECK_ENOMEM(calloc(n, 1));
    CHECK_ENOMEM(calloc(1, n));
    CHECK_ENOMEM(realloc(NULL, n));
    CHECK_ENOMEM(realloc(live, n));
    CHECK_ENOMEM(realloc(live_big, n));
    CHECK_ENOMEM(api.reallocarray(NULL, n, 1));
    CHECK_ENOMEM(api.reallocarray(live, 1, n));
    CHECK_ENOMEM(api.memalign(16, n));
    CHECK_ENOMEM(api.memalign(4096, n));
    CHECK_ENOMEM(api.memalign(MiB, n));
    CHECK_ENOMEM(aligned_alloc(64, n));
    CHECK_ENOMEM(api.valloc(n));
    CHECK_ENOMEM(api.pvalloc(n));
    CHECK_ENOMEM(api.libc_malloc(n));
    CHECK_ENOMEM(api.libc_realloc(live, n));
    CHECK_ENOMEM(api.libc_memalign(256, n));
    const size_t pm_align[] = {8, 64, 4096, MiB};
    for (size_t a = 0; a < ARRAY_LEN(pm_align); a++) {
      void* out = (void*)(uintptr_t)0x1234;
      CHECK_EQ(posix_memalign(&out, pm_align[a], n), ENOMEM);
      /* POSIX: on failure *memptr is either unmodified or NULL */
      CHECK(out == (void*)(uintptr_t)0x1234 || out == NULL);
    }
  }
  /* calloc and reallocarray: the product overflows size_t (or exceeds PTRDIFF_MAX). */
  const size_t pairs[][2] = {{SIZE_MAX / 2, 3},       {3, SIZE_MAX / 2},      {SIZE_MAX, 2},
                             {(size_t)1 << 32, (size_t)1 << 32}, {((size_t)1 << 32) + 1, (size_t)1 << 32},
                             {(size_t)PTRDIFF_MAX / 2 + 1, 2},  {SIZE_MAX, SIZE_MAX},
                             {(size_t)1 << 62, 4},    {65537, (SIZE_MAX / 65537) + 1}};
  for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
    size_t a = hide(pairs[i][0]), b = hide(pairs[i][1]);
    CHECK_ENOMEM(calloc(a, b));
    CHECK_ENOMEM(api.reallocarray(NULL, a, b));
    CHECK_ENOMEM(api.reallocarray(live, a, b));
    CHECK_ENOMEM(api.libc_calloc(a, b));
  }
  /* Alignments too large to ever satisfy. */
  CHECK_ENOMEM(api.memalign((size_t)1 << 63, hide(16)));
  CHECK_ENOMEM(api.memalign((size_t)1 << 62, hide(16)));
  void* out = (void*)(uintptr_t)0x1234;
  CHECK_EQ(posix_memalign(&out, (size_t)1 << 63, hide(16)), ENOMEM);
  CHECK(out == (void*)(uintptr_t)0x1234 || out == NULL);
  /* memalign with an alignment that has no power of two above it is EINVAL (glibc 2.36). */
  errno = 0;
  CHECK_PTR_EQ(api.memalign(SIZE_MAX, hide(16)), NULL);
  CHECK_EQ(errno, EINVAL);
  /* The blocks survived every failed realloc, contents and all, and are still usable. */
  CHECK_PATTERN(live, 1000, 42);
  CHECK_PATTERN(live_big, 5 * MiB, 43);
  void* q = api.reallocarray(live, hide(10), 200);
  check_block(q, 2000, 16);
  CHECK_PATTERN(q, 1000, 42);
  free(q);
  free(live_big);
}

/* ---- posix_memalign: invalid alignments ------------------------------------------------------------- */

static void check_posix_memalign_einval(int (*pm)(void**, size_t, size_t)) {
  /* POSIX: EINVAL unless the alignment is a power of two multiple of sizeof(void*); the error is
   * reported only through the result: *memptr and errno stay as they were. */
  const size_t bad[] = {0, 1, 2, 3, 4, 5, 6, 7, 12, 24, 40, 48, 100, 4095, 4097, 65537,
                        MiB + 8, 3 * MiB, SIZE_MAX, ((size_t)1 << 63) + 8, (size_t)3 << 40};
  const size_t sizes[] = {0, 16, 1000, 1 * MiB, SIZE_MAX};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    for (size_t j = 0; j < ARRAY_LEN(sizes); j++) {
      void* out = (void*)(uintptr_t)0xBADC0DE;
      errno = 4242;
      CHECK_EQ(pm(&out, hide(bad[i]), hide(sizes[j])), EINVAL);
      CHECK_PTR_EQ(out, (void*)(uintptr_t)0xBADC0DE);
      CHECK_EQ(errno, 4242);
    }
  /* Every valid alignment succeeds and is honoured. */
  for (size_t a = sizeof(void*); a <= 4 * MiB; a <<= 1) {
    const size_t ns[] = {0, 1, 100, 5000, a + 1};
    for (size_t j = 0; j < ARRAY_LEN(ns); j++) {
      void* out = NULL;
      CHECK_EQ(pm(&out, a, hide(ns[j])), 0);
      check_block(out, ns[j], a);
      fill(out, usable(out), a + j);
      CHECK_PATTERN(out, usable(out), a + j);
      free(out);
    }
  }
}

static void section_posix_memalign(void) {
  check_posix_memalign_einval(posix_memalign);
  if (api.posix_memalign_) check_posix_memalign_einval(api.posix_memalign_);
}

/* ---- free: NULL, and errno preserved ------------------------------------------------------------------- */

static void free_keeps_errno(void* p, void (*f)(void*)) {
  errno = 12345;
  f(p);
  CHECK_EQ(errno, 12345);
}

static void section_free(void) {
  /* Programs call free() between a failing call and their perror(): free must not touch errno
   * (POSIX 2024, glibc >= 2.33), whatever it does underneath (madvise, munmap, caching). */
  free_keeps_errno(NULL, free);
  const size_t sizes[] = {16, 1000, 32 * KiB, 100 * KiB, 600 * KiB, 2 * MiB, 5 * MiB, 64 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    for (int round = 0; round < 3; round++) {
      void* p = malloc(hide(sizes[i]));
      CHECK(p != NULL);
      fill(p, sizes[i], i);
      free_keeps_errno(p, free);
      p = api.memalign(hide(4096), hide(sizes[i]));
      CHECK(p != NULL);
      free_keeps_errno(p, free);
    }
  }
  /* Whole pages and spans emptied at once (the paths that return memory to the system). */
  const size_t batch_sizes[] = {48, 4000, 100 * KiB, 2 * MiB};
  const size_t batch_counts[] = {5000, 500, 300, 40};
  for (size_t i = 0; i < ARRAY_LEN(batch_sizes); i++) {
    void** v = malloc(batch_counts[i] * sizeof *v);
    CHECK(v != NULL);
    for (size_t k = 0; k < batch_counts[i]; k++) {
      v[k] = malloc(hide(batch_sizes[i]));
      CHECK(v[k] != NULL);
      memset(v[k], 1, batch_sizes[i]);
    }
    for (size_t k = 0; k < batch_counts[i]; k++) free_keeps_errno(v[k], free);
    free(v);
  }
  if (api.cfree) free_keeps_errno(malloc(hide(100)), api.cfree);
  free_keeps_errno(api.libc_malloc(hide(100)), api.libc_free);
  free_keeps_errno(api.libc_malloc(hide(3 * MiB)), api.libc_free);
  errno = 12345;
  free(NULL);
  api.libc_free(NULL);
  if (api.cfree) api.cfree(NULL);
  if (api.free_sized) api.free_sized(NULL, 0);
  if (api.free_aligned_sized) api.free_aligned_sized(NULL, 64, 0);
  CHECK_EQ(errno, 12345);
}

/* ---- malloc_usable_size: >= request, and all of it is the caller's ----------------------------------- */

/* Two blocks of n bytes, each written over its whole usable size: if the usable size overstated
 * the block, one would overwrite the other (or a header, and free would crash). */
static void usable_pair(size_t n) {
  unsigned char* a = malloc(hide(n));
  unsigned char* b = malloc(hide(n));
  check_block(a, n, 16);
  check_block(b, n, 16);
  size_t ua = usable(a), ub = usable(b);
  memset(a, 0x5A, ua);
  memset(b, 0xA5, ub);
  CHECK_ALL_BYTES(a, ua, 0x5A);
  CHECK_ALL_BYTES(b, ub, 0xA5);
  free(a);
  free(b);
}

static void section_usable_size(void) {
  CHECK_UEQ(usable(NULL), 0);
  for (size_t n = 0; n <= 4096; n++) usable_pair(n);
  for (size_t n = 4097; n <= 70000; n += 7) usable_pair(n);
  for (size_t k = 1; k <= 26; k++) {
    size_t s = (size_t)1 << k;
    usable_pair(s - 1);
    usable_pair(s);
    usable_pair(s + 1);
  }
  usable_pair(16 * MiB + 1);
  usable_pair(100 * MiB);
}

/* ---- size-class boundaries: 16-byte alignment, usable size, no overlap -------------------------------- */

/* ptmem's classes: 16..128 step 16, then 4 per power of two to 512 KiB, then 64 KiB granularity to
 * 4 MiB, then huge. Harmless on any allocator: they are just interesting sizes. */
static size_t class_sizes(size_t* out) {
  size_t n = 0;
  for (size_t s = 16; s <= 128; s += 16) out[n++] = s;
  for (unsigned b = 7;; b++) {
    size_t s = 0;
    for (size_t k = 5; k <= 8; k++) {
      s = k << (b - 2);
      if (s > 512 * KiB) break;
      out[n++] = s;
    }
    if (s >= 512 * KiB) break;
  }
  for (size_t s = 512 * KiB + 64 * KiB; s <= 4 * MiB; s += 64 * KiB) out[n++] = s;
  const size_t huge[] = {4 * MiB + 64 * KiB, 5 * MiB, 8 * MiB, 16 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(huge); i++) out[n++] = huge[i];
  return n;
}

static void section_class_boundaries(void) {
  static size_t cls[256];
  size_t ncls = class_sizes(cls);
  CHECK_UEQ(cls[8], 160); /* the generator follows the documented table */
  CHECK_UEQ(cls[12], 320);
  for (size_t c = 0; c < ncls; c++) {
    for (size_t d = 0; d < 3; d++) {
      size_t n = cls[c] - 1 + d;
      enum { LIVE = 3 };
      void* p[LIVE];
      for (int k = 0; k < LIVE; k++) {
        p[k] = malloc(hide(n));
        check_block(p[k], n, 16);
        fill(p[k], usable(p[k]), c * 8 + d * 3 + k);
      }
      for (int k = 0; k < LIVE; k++) CHECK_PATTERN(p[k], usable(p[k]), c * 8 + d * 3 + k);
      for (int k = 0; k < LIVE; k++) free(p[k]);
    }
  }
}

/* ---- alignment: memalign & co honour every power of two -------------------------------------------- */

typedef void* (*aligned_fn)(size_t align, size_t n);
static void* via_aligned_alloc(size_t a, size_t n) { return aligned_alloc(a, n); }
static void* via_memalign(size_t a, size_t n) { return api.memalign(a, n); }
static void* via_libc_memalign(size_t a, size_t n) { return api.libc_memalign(a, n); }
static void* via_posix_memalign(size_t a, size_t n) {
  void* p = NULL;
  return posix_memalign(&p, a, n) == 0 ? p : NULL;
}
static void* via_posix_memalign_(size_t a, size_t n) {
  void* p = NULL;
  return api.posix_memalign_(&p, a, n) == 0 ? p : NULL;
}

static void section_alignment(void) {
  aligned_fn fns[5];
  size_t nfns = 0;
  fns[nfns++] = via_memalign;
  fns[nfns++] = via_aligned_alloc;
  fns[nfns++] = via_libc_memalign;
  for (size_t a = 1; a <= 8 * MiB; a <<= 1) {
    size_t nf = nfns;
    if (a >= sizeof(void*)) { /* posix_memalign only accepts multiples of sizeof(void*) */
      fns[nf++] = via_posix_memalign;
      if (api.posix_memalign_) fns[nf++] = via_posix_memalign_;
    }
    const size_t sizes[] = {0, 1, a - 1, a, a + 1, 3 * a, 7, 100, 1003, 40 * KiB + 5};
    for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
      size_t n = sizes[s];
      void* p[5];
      for (size_t f = 0; f < nf; f++) {
        p[f] = fns[f](hide(a), hide(n));
        check_block(p[f], n, a);
        fill(p[f], usable(p[f]), a * 64 + s * 8 + f);
      }
      for (size_t f = 0; f < nf; f++) CHECK_PATTERN(p[f], usable(p[f]), a * 64 + s * 8 + f);
      for (size_t f = 0; f < nf; f++) free(p[f]);
    }
  }
  /* memalign with a non-power-of-two alignment aligns to the next power of two (glibc 2.36). */
  const size_t odd[] = {3, 24, 100, 1000, 5000, 65537, 3 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
    void* p = api.memalign(hide(odd[i]), hide(100));
    check_block(p, 100, next_pow2(odd[i]));
    fill(p, 100, i);
    free(p);
    p = api.libc_memalign(hide(odd[i]), hide(100));
    check_block(p, 100, next_pow2(odd[i]));
    free(p);
    /* aligned_alloc: glibc 2.36 treats it as memalign, 2.38+ rejects it with EINVAL; both are fine,
     * a misaligned block is not. */
    errno = 0;
    p = aligned_alloc(hide(odd[i]), hide(100));
    if (p)
      check_block(p, 100, next_pow2(odd[i]));
    else
      CHECK_EQ(errno, EINVAL);
    free(p);
  }
}

static void section_valloc_pvalloc(void) {
  CHECK_UEQ(page_size, (size_t)sysconf(_SC_PAGESIZE));
  const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 100000, 600 * KiB, 3 * MiB, 5 * MiB + 1};
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    size_t n = sizes[i];
    void* v = api.valloc(hide(n));
    void* lv = api.libc_valloc(hide(n));
    check_block(v, n, page_size);
    check_block(lv, n, page_size);
    fill(v, usable(v), i);
    fill(lv, usable(lv), i + 100);
    CHECK_PATTERN(v, usable(v), i);
    CHECK_PATTERN(lv, usable(lv), i + 100);
    free(v);
    free(lv);
    if (n == 0) continue;
    /* pvalloc rounds the request up to whole pages: all of them are the caller's. */
    void* pv = api.pvalloc(hide(n));
    void* lpv = api.libc_pvalloc(hide(n));
    check_block(pv, round_up(n, page_size), page_size);
    check_block(lpv, round_up(n, page_size), page_size);
    fill(pv, usable(pv), i + 200);
    fill(lpv, usable(lpv), i + 300);
    CHECK_PATTERN(pv, usable(pv), i + 200);
    CHECK_PATTERN(lpv, usable(lpv), i + 300);
    free(pv);
    free(lpv);
  }
  /* pvalloc(0) returns a page-aligned block. That it is a whole page is checked under ptmem only:
   * glibc 2.36 rounds with "& -(pagesize - 1)" and returns a 24-byte block. */
  void* p = api.pvalloc(hide(0));
  check_block(p, 0, page_size);
  if (under_ptmem) {
    CHECK_UGE(usable(p), page_size);
    memset(p, 0x11, page_size);
  }
  free(p);
}

/* ---- calloc: zeroed in every size range, including recycled dirty blocks ----------------------------- */

static void* calloc_split(size_t n, int how) {
  switch (how % 3) {
    case 0: return calloc(1, hide(n));
    case 1: return calloc(hide(n), 1);
    default: return n % 8 == 0 ? calloc(hide(n / 8), 8) : api.libc_calloc(hide(n), 1);
  }
}

static void section_calloc(void) {
  const size_t sizes[] = {1, 8, 24, 100, 1000, 4000, 20 * KiB, 100 * KiB, 600 * KiB, 2 * MiB, 5 * MiB, 32 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    size_t n = sizes[i];
    int rounds = n >= 2 * MiB ? 8 : 40;
    for (int r = 0; r < rounds; r++) {
      /* dirty a block of the same size, free it, and calloc: the recycled block must be zeroed */
      unsigned char* d = malloc(hide(n));
      CHECK(d != NULL);
      memset(d, 0xAA, usable(d));
      free(d);
      unsigned char* z = calloc_split(n, r);
      check_block(z, n, 16);
      CHECK_ALL_BYTES(z, n, 0);
      memset(z, 0xAA, usable(z)); /* dirty again for the next round */
      free(z);
    }
  }
  /* Many small blocks dirtied and freed at once, then calloc'ed back. */
  enum { N = 3000 };
  static unsigned char* v[N];
  for (size_t sz = 16; sz <= 1024; sz *= 4) {
    for (int k = 0; k < N; k++) {
      v[k] = malloc(hide(sz));
      CHECK(v[k] != NULL);
      memset(v[k], 0xAA, usable(v[k]));
    }
    for (int k = 0; k < N; k++) free(v[k]);
    for (int k = 0; k < N; k++) {
      v[k] = calloc(hide(sz), 1);
      check_block(v[k], sz, 16);
      CHECK_ALL_BYTES(v[k], sz, 0);
    }
    for (int k = 0; k < N; k++) {
      memset(v[k], 0xAA, usable(v[k]));
      free(v[k]);
    }
  }
  void* p = calloc(hide(0), hide(0));
  CHECK(p != NULL);
  free(p);
}

/* ---- many blocks of random sizes: contents preserved, no overlap ---------------------------------------- */

typedef struct {
  unsigned char* p;
  size_t n;
  uint64_t seed;
} slot_t;

static size_t random_size(void) {
  uint64_t r = rnd() % 1000;
  if (r < 600) return rnd() % 257;                        /* small */
  if (r < 850) return 257 + rnd() % (32 * KiB);           /* slab */
  if (r < 950) return 32 * KiB + rnd() % (480 * KiB);     /* medium */
  if (r < 997) return 512 * KiB + rnd() % (3584 * KiB);   /* large */
  return 4 * MiB + rnd() % (12 * MiB);                    /* huge */
}

static void slot_alloc(slot_t* s, uint64_t seed) {
  s->n = random_size();
  s->seed = seed;
  switch (rnd() % 8) {
    case 0: s->p = calloc(1, hide(s->n)); break;
    case 1: s->p = api.memalign(hide((size_t)16 << (rnd() % 9)), hide(s->n)); break;
    default: s->p = malloc(hide(s->n)); break;
  }
  check_block(s->p, s->n, 16);
  fill(s->p, s->n, seed);
}

static void section_random_blocks(void) {
  enum { N = 2000, CHURN = 10000 };
  static slot_t slot[N];
  static size_t order[N];
  rng_state = 0xC0FFEE;
  uint64_t seed = 1;
  for (size_t i = 0; i < N; i++) slot_alloc(&slot[i], seed++);
  for (size_t i = 0; i < N; i++) CHECK_PATTERN(slot[i].p, slot[i].n, slot[i].seed);
  /* Churn: verify a block, then replace it (free + malloc) or resize it (realloc). */
  for (int op = 0; op < CHURN; op++) {
    slot_t* s = &slot[rnd() % N];
    CHECK_PATTERN(s->p, s->n, s->seed);
    if (rnd() % 3 == 0) {
      size_t n = max_sz(random_size(), 1); /* realloc(p, 0) would free p */
      unsigned char* q = realloc(s->p, hide(n));
      check_block(q, n, 16);
      CHECK_PATTERN(q, s->n < n ? s->n : n, s->seed);
      s->p = q;
      s->n = n;
      s->seed = seed++;
      fill(q, n, s->seed);
    } else {
      free(s->p);
      slot_alloc(s, seed++);
    }
  }
  for (size_t i = 0; i < N; i++) CHECK_PATTERN(slot[i].p, slot[i].n, slot[i].seed);
  /* Free in random order, checking each block just before: earlier frees must not have hurt it. */
  for (size_t i = 0; i < N; i++) order[i] = i;
  for (size_t i = N - 1; i > 0; i--) {
    size_t j = rnd() % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (size_t i = 0; i < N; i++) {
    slot_t* s = &slot[order[i]];
    CHECK_PATTERN(s->p, s->n, s->seed);
    free(s->p);
  }
}

/* ---- introspection: mallinfo2 honesty, malloc_trim, malloc_info, malloc_stats, mallopt ----------------- */

static void section_mallinfo(void) {
  /* The numbers a monitoring tool reads: 50 MiB allocated in 1 KiB blocks shows up in uordblks
   * and goes away when freed; in-use never exceeds what the allocator holds from the system. */
  CHECK(api.mallinfo2 && api.mallinfo);
  enum { N = 50 * 1024 };
  static void* v[N];
  struct mallinfo2 m0 = api.mallinfo2();
  for (int i = 0; i < N; i++) {
    v[i] = malloc(hide(1024));
    CHECK(v[i] != NULL);
    memset(v[i], 1, 1024);
  }
  struct mallinfo2 m1 = api.mallinfo2();
  struct mallinfo m1old = api.mallinfo();
  CHECK_UGE(m1.uordblks, m0.uordblks + 50 * MiB);
  CHECK_UGE(m1.arena + m1.hblkhd, m1.uordblks);
  CHECK_UGE((size_t)m1old.uordblks, m0.uordblks + 50 * MiB); /* the int version agrees (< 2 GiB) */
  for (int i = 0; i < N; i++) free(v[i]);
  struct mallinfo2 m2 = api.mallinfo2();
  CHECK_UGE(m1.uordblks, m2.uordblks + 50 * MiB);
  /* A huge block counts as mapped (hblkhd) and in use while it lives. */
  void* h = malloc(hide(64 * MiB));
  CHECK(h != NULL);
  memset(h, 1, 64 * MiB);
  struct mallinfo2 m3 = api.mallinfo2();
  CHECK_UGE(m3.hblkhd, m2.hblkhd + 64 * MiB);
  CHECK_UGE(m3.arena + m3.hblkhd, m3.uordblks);
  free(h);
  struct mallinfo2 m4 = api.mallinfo2();
  /* glibc leaves mmapped chunks out of uordblks; ptmem counts huge blocks as in use. */
  if (under_ptmem) {
    CHECK_UGE(m3.uordblks, m2.uordblks + 64 * MiB);
    CHECK_UGE(m3.uordblks, m4.uordblks + 64 * MiB);
  }
}

static void section_trim_info_stats(void) {
  CHECK(api.malloc_trim && api.malloc_info && api.malloc_stats && api.mallopt);
  /* malloc_trim after a burst of frees: reports 0 or 1, and the heap still works afterwards. */
  enum { N = 20000 };
  static void* v[N];
  for (int i = 0; i < N; i++) {
    v[i] = malloc(hide((size_t)(i % 50) * 100 + 1));
    CHECK(v[i] != NULL);
  }
  for (int i = 0; i < N; i++) free(v[i]);
  int r = api.malloc_trim(0);
  CHECK(r == 0 || r == 1);
  r = api.malloc_trim(hide(MiB));
  CHECK(r == 0 || r == 1);
  usable_pair(1000);
  usable_pair(2 * MiB);

  /* malloc_info(0, f) writes an XML document; any other option is EINVAL (glibc returns EINVAL,
   * the man page says -1 with errno = EINVAL: either is accepted). */
  FILE* f = tmpfile();
  CHECK(f != NULL);
  CHECK_EQ(api.malloc_info(0, f), 0);
  fflush(f);
  rewind(f);
  char buf[8192];
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  buf[got] = 0;
  CHECK(strncmp(buf, "<malloc", 7) == 0);
  CHECK(strstr(buf, "</malloc>") != NULL);
  errno = 0;
  r = api.malloc_info(1, f);
  CHECK(r == EINVAL || (r == -1 && errno == EINVAL));
  fclose(f);

  /* malloc_stats prints a report on stderr. */
  FILE* cap = tmpfile();
  CHECK(cap != NULL);
  fflush(stderr);
  int saved = dup(2);
  CHECK(saved >= 0);
  CHECK(dup2(fileno(cap), 2) == 2);
  api.malloc_stats();
  fflush(stderr);
  CHECK(dup2(saved, 2) == 2);
  close(saved);
  CHECK(fseek(cap, 0, SEEK_END) == 0);
  CHECK_GE(ftell(cap), 20);
  fclose(cap);

  /* mallopt answers 1 (done) or 0 (not done) and never breaks the heap. */
  const int params[] = {M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_TEST,
                        M_ARENA_MAX, 12345, -1};
  const int values[] = {256 * 1024, 64 * 1024, 1024 * 1024, 65536, 8, 4, 1, 0};
  for (size_t i = 0; i < ARRAY_LEN(params); i++) {
    r = api.mallopt(params[i], values[i]);
    CHECK(r == 0 || r == 1);
  }
  usable_pair(100);
  usable_pair(300 * KiB);
  usable_pair(3 * MiB);
}

/* ---- foreign pointers: blocks glibc allocated before/beside the preload --------------------------------- */

static void section_foreign(void) {
  if (!under_ptmem) SKIP("foreign pointers only exist under the preload");
  /* glibc's own malloc, bypassing the interposition: look it up in libc.so.6's scope. */
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  CHECK(libc != NULL);
  void* (*g_malloc)(size_t);
  void* (*g_calloc)(size_t, size_t);
  void* (*g_memalign)(size_t, size_t);
  size_t (*g_usable)(void*);
  void* sym = dlsym(libc, "malloc");
  memcpy(&g_malloc, &sym, sizeof sym);
  sym = dlsym(libc, "calloc");
  memcpy(&g_calloc, &sym, sizeof sym);
  sym = dlsym(libc, "memalign");
  memcpy(&g_memalign, &sym, sizeof sym);
  sym = dlsym(libc, "malloc_usable_size");
  memcpy(&g_usable, &sym, sizeof sym);
  CHECK(g_malloc && g_calloc && g_memalign && g_usable);
  Dl_info info;
  CHECK(dladdr((void*)(uintptr_t)g_malloc, &info) && strstr(info.dli_fname, "libc.so"));

  const size_t sizes[] = {1, 100, 1000, 5000, 200 * KiB, 1 * MiB, 3 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    size_t n = sizes[i];
    /* free() hands the block back to glibc, errno untouched */
    void* p = g_malloc(n);
    CHECK(p != NULL);
    fill(p, n, i);
    CHECK_UEQ(usable(p), g_usable(p));
    CHECK_UGE(usable(p), n);
    free_keeps_errno(p, free);
    /* realloc() moves the contents into a ptmem block, growing and shrinking */
    const size_t to[] = {n / 2 + 1, n + 1, 2 * n + 100, 100 * KiB, 5 * MiB};
    for (size_t t = 0; t < ARRAY_LEN(to); t++) {
      p = g_malloc(n);
      CHECK(p != NULL);
      fill(p, n, i * 10 + t);
      void* q = realloc(p, hide(to[t]));
      check_block(q, to[t], 16);
      CHECK_PATTERN(q, n < to[t] ? n : to[t], i * 10 + t);
      free(q);
    }
    /* realloc(foreign, 0) frees it */
    p = g_malloc(n);
    CHECK(p != NULL);
    CHECK_PTR_EQ(realloc(p, hide(0)), NULL);
    /* calloc'ed and memalign'ed foreign blocks, released through the other free entry points */
    p = g_calloc(n, 1);
    CHECK(p != NULL);
    CHECK_UGE(usable(p), n);
    api.libc_free(p);
    p = g_memalign(256, n);
    CHECK(p != NULL);
    CHECK_UGE(usable(p), n);
    if (api.cfree) api.cfree(p);
    else free(p);
    p = g_malloc(n);
    CHECK(p != NULL);
    if (api.free_sized) api.free_sized(p, n);
    else free(p);
  }
  /* ptmem still works after all that */
  usable_pair(100);
  usable_pair(2 * MiB);
}

/* ---- the remaining entry points: __libc_* aliases, cfree, free_sized, free_aligned_sized ------------------ */

static void section_aliases(void) {
  /* Programs (and libraries such as libasan's or a JIT's) call the __libc_* names to reach "the real
   * malloc": under the preload they must be ptmem's, with the same semantics. */
  CHECK(api.libc_malloc && api.libc_free && api.libc_calloc && api.libc_realloc && api.libc_memalign &&
        api.libc_valloc && api.libc_pvalloc);
  const size_t sizes[] = {0, 1, 100, 4000, 100 * KiB, 2 * MiB, 6 * MiB};
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    size_t n = sizes[i];
    void* p = api.libc_malloc(hide(n));
    check_block(p, n, 16);
    fill(p, n, i);
    p = api.libc_realloc(p, hide(n * 2 + 10));
    check_block(p, n * 2 + 10, 16);
    CHECK_PATTERN(p, n, i);
    free(p); /* __libc_malloc and free are the same allocator */
    p = malloc(hide(n));
    CHECK(p != NULL);
    memset(p, 0xAA, n);
    api.libc_free(p);
    p = api.libc_calloc(hide(n), 1);
    check_block(p, n, 16);
    CHECK_ALL_BYTES(p, n, 0);
    api.libc_free(p);
    p = api.libc_memalign(hide(512), hide(n));
    check_block(p, n, 512);
    api.libc_free(p);
    p = api.libc_valloc(hide(n));
    check_block(p, n, page_size);
    api.libc_free(p);
    p = api.libc_pvalloc(hide(n + 1));
    check_block(p, round_up(n + 1, page_size), page_size);
    api.libc_free(p);
    CHECK_PTR_EQ(api.libc_realloc(api.libc_malloc(hide(n + 1)), 0), NULL);
  }
  if (under_ptmem) CHECK(api.cfree && api.free_sized && api.free_aligned_sized && api.posix_memalign_);
  /* C23 free_sized / free_aligned_sized with the exact sizes they were allocated with. */
  for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
    size_t n = sizes[i];
    if (api.cfree) {
      void* p = malloc(hide(n));
      CHECK(p != NULL);
      api.cfree(p);
    }
    if (api.free_sized) {
      void* p = malloc(hide(n));
      CHECK(p != NULL);
      fill(p, n, i);
      api.free_sized(p, n);
      p = calloc(hide(n), 1);
      CHECK(p != NULL);
      api.free_sized(p, n);
    }
    if (api.free_aligned_sized) {
      for (size_t a = 16; a <= 2 * MiB; a *= 8) {
        void* p = aligned_alloc(a, hide(n));
        check_block(p, n, a);
        fill(p, n, a);
        api.free_aligned_sized(p, a, n);
      }
    }
  }
  /* Everything freed through the alternative entry points was really freed and the heap is fine. */
  usable_pair(100);
  usable_pair(3 * MiB);
}

/* ---- driver ---------------------------------------------------------------------------------------------- */

typedef struct {
  const char* name;
  void (*fn)(void);
} section_t;

static const section_t sections[] = {
    {"exports", section_exports},
    {"malloc_zero", section_malloc_zero},
    {"realloc", section_realloc},
    {"overflow", section_overflow},
    {"posix_memalign", section_posix_memalign},
    {"free", section_free},
    {"usable_size", section_usable_size},
    {"class_boundaries", section_class_boundaries},
    {"alignment", section_alignment},
    {"valloc_pvalloc", section_valloc_pvalloc},
    {"calloc", section_calloc},
    {"random_blocks", section_random_blocks},
    {"mallinfo", section_mallinfo},
    {"trim_info_stats", section_trim_info_stats},
    {"foreign", section_foreign},
    {"aliases", section_aliases},
};

/* 0 passed, 77 skipped, anything else failed. */
static int run_section(const section_t* s, bool use_fork) {
  if (!use_fork) {
    s->fn();
    return 0;
  }
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    s->fn();
    exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  fprintf(stderr, "section %s killed by signal %d\n", s->name, WTERMSIG(status));
  return 128 + WTERMSIG(status);
}

int main(int argc, char** argv) {
  const char* expect = NULL;
  bool use_fork = true;
  const char* only[64];
  int nonly = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--expect=", 9) == 0)
      expect = argv[i] + 9;
    else if (strcmp(argv[i], "--no-fork") == 0)
      use_fork = false;
    else if (nonly < 64)
      only[nonly++] = argv[i];
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  resolve_api();
  require_core_api();
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  under_ptmem = dlsym(RTLD_DEFAULT, "pt_pool_create") != NULL;
  printf("allocator: %s\n", under_ptmem ? "ptmem (libptmem.so preloaded)" : "system (glibc)");
  /* A preload that silently failed to load must not turn the ptmem test into a glibc test. */
  if (expect) CHECK_EQ(strcmp(expect, under_ptmem ? "ptmem" : "glibc"), 0);

  int failed = 0, ran = 0;
  for (size_t i = 0; i < ARRAY_LEN(sections); i++) {
    bool wanted = nonly == 0;
    for (int k = 0; k < nonly; k++) wanted |= strcmp(only[k], sections[i].name) == 0;
    if (!wanted) continue;
    ran++;
    int rc = run_section(&sections[i], use_fork);
    if (rc == 0)
      printf("PASS %s\n", sections[i].name);
    else if (rc == 77)
      printf("SKIP %s\n", sections[i].name);
    else {
      printf("FAIL %s (status %d)\n", sections[i].name, rc);
      failed++;
    }
  }
  CHECK(ran > 0);
  printf("%d section(s) failed\n", failed);
  return failed ? 1 : 0;
}
