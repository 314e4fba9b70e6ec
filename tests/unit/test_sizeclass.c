/* Unit tests of the size-class table: every size maps to the smallest class that holds it, classes
 * grow monotonically, and the internal waste stays bounded (25% above 128 B, 15 B below). */
#include "check.h"
#include "internal.h"

int main(void) {
  CHECK_EQ(pt__size_class(0), 0);
  CHECK_EQ(pt__class_size(PT_SLAB_CLASSES - 1), PT_SLAB_MAX);
  CHECK_EQ(pt__class_size(PT_SLAB_CLASSES + PT_MEDIUM_CLASSES - 1), PT_MEDIUM_MAX);
  for (unsigned c = 1; c < PT_SLAB_CLASSES + PT_MEDIUM_CLASSES; c++) {
    CHECK_LT(pt__class_size(c - 1), pt__class_size(c));
    CHECK_EQ(pt__size_class(pt__class_size(c)), c);
    CHECK_EQ(pt__size_class(pt__class_size(c - 1) + 1), c);
    CHECK_EQ(pt__class_size(c) % 16, 0);
  }
  for (unsigned c = PT_SLAB_CLASSES; c < PT_SLAB_CLASSES + PT_MEDIUM_CLASSES; c++)
    CHECK_EQ(pt__class_size(c) % (8 * 1024), 0); /* medium blocks are whole pages: purgeable */
  for (size_t n = 1; n <= PT_MEDIUM_MAX; n++) {
    size_t s = pt__class_size(pt__size_class(n));
    CHECK_UGE(s, n);
    if (n > 128) CHECK_LE((s - n) * 4, n); /* waste <= 25% of the request */
    else CHECK_LT(s - n, 16);
  }
  /* Slab pages hold at least 8 blocks. */
  for (unsigned c = 0; c < PT_SLAB_CLASSES; c++)
    CHECK_GE(pt__class_page_slices(c) * PT_SLICE_SIZE / pt__class_size(c), 8);
  puts("sizeclass: ok");
  return 0;
}
