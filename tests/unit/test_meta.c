/* Unit tests of meta.c: every block of every backend gets its own zeroed meta word, found from the
 * block's start or any interior address; the walk visits exactly the blocks with a non-zero word;
 * and the reciprocal block index equals the division for every offset of every class. */
#include <string.h>

#include "alloc.h"
#include "check.h"

typedef struct seen_s {
  size_t count, bytes;
} seen_t;

static void visit(void* block, size_t size, uint64_t* meta, void* arg) {
  seen_t* s = arg;
  CHECK_UEQ(*meta, (uintptr_t)block); /* the test stores each block's own address */
  s->count++;
  s->bytes += size;
}

int main(void) {
  for (unsigned cls = 0; cls < PT_SLAB_CLASSES + PT_MEDIUM_CLASSES; cls++) {
    pt_desc_t d = {0};
    d.bsize = (uint32_t)pt__class_size(cls);
    d.recip = pt__recip(d.bsize);
    size_t span = cls < PT_SLAB_CLASSES ? pt__class_page_slices(cls) * PT_SLICE_SIZE : 16 * (size_t)d.bsize;
    d.start = (uint8_t*)(uintptr_t)(1ull << 32);
    for (size_t k = 0; k * d.bsize < span; k++) { /* first, second and last byte of every block */
      const size_t offs[3] = {k * d.bsize, k * d.bsize + 1, k * d.bsize + d.bsize - 1};
      for (int j = 0; j < 3; j++) CHECK_UEQ(pt__block_index(&d, d.start + offs[j]), k);
    }
  }

  pt__settings.block_meta = true;
  static const size_t sizes[] = {1, 16, 100, 1000, 5000, 20000, 40000, 100000, 300000, 3000000, 9000000};
  enum { N = sizeof sizes / sizeof sizes[0], COPIES = 50 };
  void* blocks[N][COPIES];
  seen_t before = {0};
  pt__foreach_meta(visit, &before);
  CHECK_UEQ(before.count, 0);
  size_t expected_bytes = 0;
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < COPIES; k++) {
      void* p = pt__alloc(sizes[i]);
      CHECK(p != NULL);
      pt_desc_t* d = pt__pagemap_lookup(p);
      uint64_t* m = pt__block_meta(p, d);
      CHECK(m != NULL);
      CHECK_UEQ(*m, 0);
      *m = (uintptr_t)p;
      memset(p, 0xFF, sizes[i]); /* a block never spills into any meta word */
      blocks[i][k] = p;
      expected_bytes += pt__usable_size(p);
    }
  }
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < COPIES; k++) {
      uint8_t* p = blocks[i][k];
      void* start;
      size_t size;
      uint64_t* meta;
      CHECK(pt__block_find(p + sizes[i] / 2, &start, &size, &meta));
      CHECK_PTR_EQ(start, p);
      CHECK_UEQ(*meta, (uintptr_t)p);
      CHECK_UGE(size, sizes[i]);
    }
  }
  seen_t all = {0};
  pt__foreach_meta(visit, &all);
  CHECK_UEQ(all.count, N * COPIES);
  CHECK_UEQ(all.bytes, expected_bytes);
  int local;
  void* start;
  size_t size;
  uint64_t* meta;
  CHECK(!pt__block_find(&local, &start, &size, &meta));
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < COPIES; k++) {
      *pt__block_meta(blocks[i][k], pt__pagemap_lookup(blocks[i][k])) = 0;
      CHECK(pt__free(blocks[i][k]));
    }
  }
  seen_t after = {0};
  pt__foreach_meta(visit, &after);
  CHECK_UEQ(after.count, 0);
  puts("meta: ok");
  return 0;
}
