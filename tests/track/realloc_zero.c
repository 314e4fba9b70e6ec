/* realloc_zero: a documented difference from LeakSanitizer. realloc(NULL, 0) is malloc(0) (C says
 * so, glibc does so), and ptmem treats it as one: 1 byte, kept by a pointer to its start. LSan
 * (gcc 12's and clang 14's) records the block with 0 requested bytes, into which no address points,
 * so it reports even the block a global keeps as a "Direct leak of 0 byte(s)" (a false positive
 * for code that grows an array from empty with realloc), and the lost one as 0 bytes where ptmem
 * says 1. Not compared with LSan (LSan: definite 2 / 0 bytes). Expected: definite lose_zero 1 1,
 * reachable keep_zero 1 1. */
#include <stdlib.h>

#include "corpus.h"

void* kept;
void* volatile last; /* the block is stored, then the store is overwritten: lost */

__attribute__((noinline)) void keep_zero(void) { kept = realloc(NULL, 0); }

__attribute__((noinline)) void lose_zero(void) {
  last = realloc(NULL, 0);
  last = NULL;
}

int main(void) {
  keep_zero();
  lose_zero();
  clobber_stack();
  return 0;
}
