/* realloc: a block made by make_buffer (16 bytes) is grown 6 times by realloc in grow_buffer, to
 * 5000 bytes, then leaked. Expected: one definite leak of 5000 bytes attributed to grow_buffer (the
 * realloc call site), none to make_buffer. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

__attribute__((noinline)) char* make_buffer(void) {
  char* p = malloc(16);
  memset(p, 'm', 16);
  return p;
}

__attribute__((noinline)) char* grow_buffer(char* p) {
  static const size_t sizes[] = {40, 300, 1000, 2500, 4096, 5000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    p = realloc(p, sizes[i]); /* one call site for every step */
    memset(p, 'g', sizes[i]);
  }
  return p;
}

__attribute__((noinline)) void leak_grown(void) {
  char* p = grow_buffer(make_buffer());
  touch(p, 5000);
  p = NULL;
}

int main(void) {
  leak_grown();
  clobber_stack();
  return 0;
}
