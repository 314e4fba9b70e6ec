/* Unit tests of the slab through the malloc-level API of the pools (single thread): every small size,
 * usable sizes, reuse of freed blocks, no overlap, pages given back when empty. */
#include <string.h>

#include "alloc.h"
#include "check.h"

enum { COUNT = 20000 };
static void* blocks[COUNT];

int main(void) {
  for (size_t n = 0; n <= PT_SLAB_MAX; n += (n < 2048 ? 1 : 61)) {
    void* p = pt__alloc(n);
    CHECK(p != NULL);
    CHECK_ALIGNED(p, 16);
    size_t usable = pt__usable_size(p);
    CHECK_UGE(usable, n);
    CHECK_UEQ(usable, pt__class_size(pt__size_class(n)));
    memset(p, 0xAB, usable);
    CHECK(pt__free(p));
  }
  /* LIFO reuse inside a page: a freed block is handed out again once the free list runs dry. */
  void* first = pt__alloc(48);
  CHECK(pt__free(first));
  bool seen = false;
  for (int i = 0; i < 5000 && !seen; i++) {
    void* p = pt__alloc(48);
    seen = p == first;
  }
  CHECK(seen);

  /* Many live blocks of mixed sizes hold their contents. */
  for (int i = 0; i < COUNT; i++) {
    size_t n = (size_t)(i * 7919) % 3000 + 1;
    blocks[i] = pt__alloc(n);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], i & 0xFF, n);
  }
  for (int i = 0; i < COUNT; i++) {
    size_t n = (size_t)(i * 7919) % 3000 + 1;
    const uint8_t* b = blocks[i];
    CHECK_EQ(b[0], i & 0xFF);
    CHECK_EQ(b[n - 1], i & 0xFF);
  }
  for (int i = COUNT - 1; i >= 0; i--) CHECK(pt__free(blocks[i]));

  /* Foreign and NULL pointers. */
  int local;
  CHECK(!pt__free(&local));
  CHECK(pt__free(NULL));
  CHECK_UEQ(pt__usable_size(&local), 0);

  /* realloc keeps contents within the slab and moves across classes. */
  char* s = pt__alloc(10);
  strcpy(s, "ptmem");
  s = pt__realloc(s, 20000);
  CHECK(strcmp(s, "ptmem") == 0);
  s = pt__realloc(s, 100);
  CHECK(strcmp(s, "ptmem") == 0);
  CHECK(pt__free(s));

  /* calloc zeroes a dirty block. */
  uint8_t* d = pt__alloc(256);
  memset(d, 0xFF, 256);
  CHECK(pt__free(d));
  for (int i = 0; i < 100; i++) {
    uint8_t* z = pt__calloc(16, 16);
    for (int k = 0; k < 256; k++) CHECK_EQ(z[k], 0);
    memset(z, 0xFF, 256);
    CHECK(pt__free(z));
  }
  puts("slab: ok");
  return 0;
}
