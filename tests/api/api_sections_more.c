/* api_sections_more.c - sections of the API conformance program: calloc, random blocks,
 * introspection (mallinfo2, malloc_trim, malloc_info, malloc_stats, mallopt), foreign pointers, the
 * __libc_* aliases and the C23 frees. */
#include "api_support.h"

/* ---- calloc: zeroed in every size range, including recycled dirty blocks ----------------------------- */

static void* calloc_split(size_t n, int how) {
  switch (how % 3) {
    case 0: return calloc(1, hide(n));
    case 1: return calloc(hide(n), 1);
    default: return n % 8 == 0 ? calloc(hide(n / 8), 8) : api.libc_calloc(hide(n), 1);
  }
}

void section_calloc(void) {
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

void section_random_blocks(void) {
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

void section_mallinfo(void) {
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

void section_trim_info_stats(void) {
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

  /* malloc_info(0, f) writes an XML document; any other option is EINVAL, returned as glibc 2.36
   * does (the man page says -1 with errno = EINVAL, which glibc does not do), errno left alone. */
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
  CHECK_EQ(r, EINVAL);
  CHECK_EQ(errno, 0);
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

  /* mallopt answers 1, as glibc does for every one of these (it ignores the unknown 12345), and
   * never breaks the heap: programs that check the answer go on. */
  const int params[] = {M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_TEST,
                        M_ARENA_MAX, 12345, -1};
  const int values[] = {256 * 1024, 64 * 1024, 1024 * 1024, 65536, 8, 4, 1, 0};
  for (size_t i = 0; i < ARRAY_LEN(params); i++) {
    r = api.mallopt(params[i], values[i]);
    CHECK_EQ(r, 1);
  }
  usable_pair(100);
  usable_pair(300 * KiB);
  usable_pair(3 * MiB);
}

/* ---- foreign pointers: blocks glibc allocated before/beside the preload --------------------------------- */

void section_foreign(void) {
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

void section_aliases(void) {
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
