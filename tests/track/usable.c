/* usable: what malloc_usable_size says a block has is the program's to use. keep_in_slack stores the
 * only pointer to a 64-byte block in the last word of a 20-byte block's usable size (past the 20
 * bytes under ptmem; inside them under LSan, whose malloc_usable_size answers the requested size);
 * point_into_slack keeps a global pointing at the last usable byte of a 10-byte block. Both are
 * reachable. leak_zero loses two malloc(0) blocks, which LSan counts as 1 byte each.
 * Expected: definite leak_zero 2 2. */
#include <malloc.h>
#include <stdlib.h>

#include "corpus.h"

void** holder;
char* into_slack;

__attribute__((noinline)) void keep_in_slack(void) {
  holder = malloc(20);
  size_t words = malloc_usable_size(holder) / sizeof(void*);
  for (size_t i = 0; i < words; i++) holder[i] = NULL;
  holder[words - 1] = malloc(64);
  touch(holder[words - 1], 64);
}

__attribute__((noinline)) void point_into_slack(void) {
  char* s = malloc(10);
  touch(s, 10);
  into_slack = s + malloc_usable_size(s) - 1;
}

void* volatile last_zero; /* each block is stored, then the store is overwritten: both are lost */

__attribute__((noinline)) void leak_zero(void) {
  last_zero = malloc(0);
  last_zero = malloc(0);
  last_zero = NULL;
}

int main(void) {
  keep_in_slack();
  point_into_slack();
  leak_zero();
  clobber_stack();
  return 0;
}
