/* Unit tests of large spans and huge blocks: alignment, realloc in place and by mremap keeping the
 * contents, the reuse cache, and memory returned after the delay. */
#include <string.h>

#include "alloc.h"
#include "check.h"

int main(void) {
  pt__settings.purge_delay_ms = 0;
  /* Large spans grow and shrink in place. */
  uint8_t* p = pt__alloc(600 * 1024);
  CHECK(p != NULL);
  CHECK_ALIGNED(p, PT_SLICE_SIZE);
  memset(p, 7, 600 * 1024);
  uint8_t* p2 = pt__realloc(p, 2 * PT_MiB);
  CHECK(p2 != NULL);
  CHECK_EQ(p2[600 * 1024 - 1], 7);
  p2 = pt__realloc(p2, 700 * 1024);
  CHECK_EQ(p2[600 * 1024 - 1], 7);
  CHECK(pt__free(p2));

  /* Huge: mapped directly, 64 KiB aligned, realloc moves pages and keeps data. */
  size_t n = 9 * PT_MiB + 123;
  uint8_t* h = pt__alloc(n);
  CHECK(h != NULL);
  CHECK_ALIGNED(h, PT_SLICE_SIZE);
  CHECK_UGE(pt__usable_size(h), n);
  for (size_t i = 0; i < n; i += 4096) h[i] = (uint8_t)(i >> 12);
  h[n - 1] = 0x42;
  for (int step = 0; step < 6; step++) {
    size_t m = n + (size_t)step * 17 * PT_MiB;
    h = pt__realloc(h, m);
    CHECK(h != NULL);
    CHECK_ALIGNED(h, PT_SLICE_SIZE);
    for (size_t i = 0; i < n - 1; i += 4096) CHECK_EQ(h[i], (uint8_t)(i >> 12));
    CHECK_EQ(h[n - 1], 0x42);
  }
  h = pt__realloc(h, n);
  CHECK_EQ(h[n - 1], 0x42);
  CHECK(pt__free(h));

  /* Alignments beyond 64 KiB. */
  for (size_t a = 128 * 1024; a <= 64 * PT_MiB; a *= 2) {
    void* q = pt__alloc_aligned(a / 3 + 5, a);
    CHECK(q != NULL);
    CHECK_ALIGNED(q, a);
    void* r = pt__alloc_aligned(5 * PT_MiB, a);
    CHECK(r != NULL);
    CHECK_ALIGNED(r, a);
    CHECK(pt__free(q));
    CHECK(pt__free(r));
  }

  /* The cache hands a freed mapping back to the next allocation of a similar size... */
  void* c1 = pt__alloc(20 * PT_MiB);
  CHECK(pt__free(c1));
  void* c2 = pt__alloc(20 * PT_MiB - 4096);
  CHECK_PTR_EQ(c2, c1);
  /* ...zeroed for calloc... */
  memset(c2, 0xEE, 20 * PT_MiB - 4096);
  CHECK(pt__free(c2));
  uint8_t* z = pt__calloc(1, 20 * PT_MiB);
  for (size_t i = 0; i < 20 * PT_MiB; i += 1024) CHECK_EQ(z[i], 0);
  CHECK(pt__free(z));
  /* ...and unmaps it when maintenance runs after the delay. */
  pt__maintenance(true);
  void* c3 = pt__alloc(20 * PT_MiB);
  CHECK(c3 != NULL);
  CHECK(pt__free(c3));
  pt__maintenance(true);
  CHECK_UEQ(pt__huge_bytes(), 0);

  /* Sizes beyond PTRDIFF_MAX fail cleanly. */
  CHECK(pt__alloc((size_t)PTRDIFF_MAX + 1) == NULL);
  CHECK(pt__calloc(SIZE_MAX / 2, 3) == NULL);
  puts("huge: ok");
  return 0;
}
