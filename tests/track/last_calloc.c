/* last_calloc: as last_realloc, with calloc and aligned_alloc the last calls before main returns:
 * their results, left in their dead frames, kept the blocks reachable. Expected: all definite. */
#include <stdlib.h>

static void lose_zeroed(void) {
  char* p = calloc(10, 10);
  p = 0;
  (void)p;
}

static void lose_aligned(void) {
  void* p = aligned_alloc(64, 128);
  p = 0;
  (void)p;
}

int main(void) {
  lose_zeroed();
  lose_aligned();
  lose_zeroed();
  return 0;
}
