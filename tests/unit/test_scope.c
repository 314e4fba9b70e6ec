/* Unit tests of the public region arenas: bump allocation, alignment, nested mark/reset scopes,
 * oversized allocations, invalid marks, free() of arena memory refused. */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "ptmem/pools.h"

int main(void) {
  pt_arena_t* a = pt_arena_create(64 * 1024);
  CHECK(a != NULL);
  CHECK_UEQ(pt_arena_used(a), 0);
  char* x = pt_arena_alloc(a, 10, 0);
  CHECK(x != NULL);
  CHECK_ALIGNED(x, 16);
  strcpy(x, "kept");
  pt_arena_mark_t outer = pt_arena_mark(a);
  for (size_t al = 1; al <= 8192; al *= 2) CHECK_ALIGNED(pt_arena_alloc(a, 3, al), al);
  pt_arena_mark_t inner = pt_arena_mark(a);
  CHECK_LT(outer, inner);
  /* Enough to spill over several chunks, and one block bigger than any chunk. */
  for (int i = 0; i < 1000; i++) memset(pt_arena_alloc(a, 1000, 8), 1, 1000);
  void* big = pt_arena_alloc(a, 10 * 1024 * 1024, 64);
  CHECK(big != NULL);
  CHECK_ALIGNED(big, 64);
  memset(big, 2, 10 * 1024 * 1024);
  CHECK_EQ(pt_arena_reset(a, inner), 0);
  CHECK_UEQ(pt_arena_mark(a), inner);
  CHECK_EQ(pt_arena_reset(a, inner + 1), EINVAL);
  CHECK_EQ(pt_arena_reset(a, outer), 0);
  CHECK(strcmp(x, "kept") == 0);
  void* again = pt_arena_alloc(a, 8, 0);
  CHECK(again != NULL);
  CHECK(pt__free(again)); /* refused with a message: arena memory */
  CHECK(strcmp(x, "kept") == 0);
  CHECK(pt_arena_alloc(a, 8, 3) == NULL);
  CHECK_EQ(errno, EINVAL);
  void* zero1 = pt_arena_alloc(a, 0, 0);
  void* zero2 = pt_arena_alloc(a, 0, 0);
  CHECK(zero1 != zero2);
  CHECK_EQ(pt_arena_reset(a, 0), 0);
  CHECK_UEQ(pt_arena_used(a), 0);
  pt_arena_destroy(a);
  CHECK_PTR_EQ(pt__pagemap_lookup(x), NULL);
  puts("scope: ok");
  return 0;
}
