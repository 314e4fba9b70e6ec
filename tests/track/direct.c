/* direct: one block of 1000 bytes leaked from leak_direct. Expected: definite leak_direct 1 1000. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

__attribute__((noinline)) void leak_direct(void) {
  char* p = malloc(1000);
  memset(p, 'x', 1000); /* touched, like a real buffer; holds no pointers */
  p = NULL;             /* the only copy is gone */
}

int main(void) {
  leak_direct();
  clobber_stack();
  return 0;
}
