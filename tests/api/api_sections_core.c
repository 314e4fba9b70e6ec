/* api_sections_core.c - sections of the API conformance program: exports, zero sizes, realloc,
 * overflow, posix_memalign, free and errno, usable size, class boundaries, alignment, valloc/pvalloc. */
#include "api_support.h"

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

void section_exports(void) {
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

void section_malloc_zero(void) {
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

void section_realloc(void) {
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

void section_overflow(void) {
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

void section_posix_memalign(void) {
  check_posix_memalign_einval(posix_memalign);
  if (api.posix_memalign_) check_posix_memalign_einval(api.posix_memalign_);
}

/* ---- free: NULL, and errno preserved ------------------------------------------------------------------- */

void free_keeps_errno(void* p, void (*f)(void*)) {
  errno = 12345;
  f(p);
  CHECK_EQ(errno, 12345);
}

void section_free(void) {
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
void usable_pair(size_t n) {
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

void section_usable_size(void) {
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

void section_class_boundaries(void) {
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

void section_alignment(void) {
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

void section_valloc_pvalloc(void) {
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
