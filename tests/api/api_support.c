/* api_support.c - the shared helpers of the API conformance program (api_support.h). */
#include "api_support.h"

#include <stdio.h>
#include <sys/sysinfo.h>

/* ---- helpers ------------------------------------------------------------------------------------ */


bool under_ptmem;
size_t page_size;

/* The word pattern of block `seed`: position-dependent, so a copy at a wrong offset, a block that
 * overlaps another or a stale byte never matches. */
static inline uint64_t pat(uint64_t seed, size_t word) {
  return ((seed + 1) * 0x9E3779B97F4A7C15ull) ^ ((word + 1) * 0xD6E8FEB86659FD93ull);
}

void fill(void* p, size_t n, uint64_t seed) {
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
size_t mismatch(const void* p, size_t n, uint64_t seed) {
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

/* Offset of the first byte of p[0..n) that is not `byte`, or n. */
size_t not_byte(const void* p, size_t n, unsigned char byte) {
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

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
size_t next_pow2(size_t n) {
  size_t a = 1;
  while (a < n) a <<= 1;
  return a;
}
size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

uint64_t rng_state;
uint64_t rnd(void) { /* xorshift64*, fixed seed per section: reproducible */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}


/* Everything beyond C11/POSIX is resolved at run time so the program links on any libc. */
api_t api;

void resolve_api(void) {
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
void require_core_api(void) {
  CHECK(api.memalign && api.valloc && api.pvalloc && api.reallocarray && api.usable);
}

size_t usable(void* p) { return api.usable(p); }

/* A successful allocation of n bytes: aligned to `align` (and always to 16, the x86-64 malloc
 * alignment), usable size >= n. */
void check_block(void* p, size_t n, size_t align) {
  CHECK(p != NULL);
  CHECK_ALIGNED(p, max_sz(align, 16));
  CHECK_UGE(usable(p), n);
}


/* Sizes no allocator can satisfy: above PTRDIFF_MAX (glibc refuses those outright), and a few below
 * it that exceed a 47/48-bit address space. */
size_t too_big[64];
size_t n_too_big;
void make_too_big(void) {
  const size_t fixed[] = {(size_t)PTRDIFF_MAX + 1, (size_t)1 << 63, ((size_t)1 << 63) + 4096,
                          SIZE_MAX, SIZE_MAX / 2 + 1, SIZE_MAX - 4095, SIZE_MAX - 4096,
                          SIZE_MAX - 65535, SIZE_MAX - 65536, SIZE_MAX - MiB, SIZE_MAX - 64 * MiB,
                          (size_t)PTRDIFF_MAX, (size_t)1 << 48, ((size_t)1 << 62) + 17};
  n_too_big = 0;
  for (size_t i = 0; i < ARRAY_LEN(fixed); i++) too_big[n_too_big++] = fixed[i];
  for (size_t i = 1; i <= 40; i++) too_big[n_too_big++] = SIZE_MAX - i; /* SIZE_MAX-i: header overflow */
  /* Twice what the machine could ever commit (RAM and swap): the kernel refuses such a mapping unless
   * it overcommits always (vm.overcommit_memory 1), and so must malloc (ptmem's huge blocks were
   * mapped with MAP_NORESERVE, which the kernel does not judge: 1 TiB succeeded on 24 GiB). */
  FILE* policy = fopen("/proc/sys/vm/overcommit_memory", "r");
  int mode = 1;
  if (policy) {
    if (fscanf(policy, "%d", &mode) != 1) mode = 1;
    fclose(policy);
  }
  struct sysinfo si;
  if (mode != 1 && sysinfo(&si) == 0) {
    size_t commit = ((size_t)si.totalram + (size_t)si.totalswap) * si.mem_unit;
    if (commit < ((size_t)1 << 44)) too_big[n_too_big++] = 2 * commit;
  }
}
