/* mmx_exit: a program that ends with the x87 unit in MMX state (an MMX instruction and no emms,
 * which the ABI forbids across calls, but programs with hand-written SIMD do it). The trace's
 * long double arithmetic then gave garbage: a peak time of 9.2e18 ns, an integer the report could
 * not read (exit 2). Expected: a valid trace with one definite leak. */
#include <stdlib.h>

#include "corpus.h"

__attribute__((noinline)) void lose_block(void) {
  char* p = malloc(77);
  touch(p, 77);
  p = NULL;
}

int main(void) {
  lose_block();
  clobber_stack();
#if defined(__x86_64__)
  __asm__ volatile("pxor %%mm0, %%mm0" ::: "memory"); /* the x87 tag word now says MMX */
#endif
  return 0;
}
