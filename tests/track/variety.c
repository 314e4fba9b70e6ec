/* variety: one leak per allocation function, each from its own named function; new and new[] are in
 * variety_new.cpp. See variety.expect for the sizes. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "corpus.h"

void leak_new(void);       /* variety_new.cpp */
void leak_new_array(void); /* variety_new.cpp */

__attribute__((noinline)) void leak_calloc(void) {
  void* p = calloc(10, 30); /* 300 */
  touch(p, 300);
  p = NULL;
}

__attribute__((noinline)) void leak_posix_memalign(void) {
  void* p = NULL;
  if (posix_memalign(&p, 64, 200) != 0) abort();
  touch(p, 200);
  p = NULL;
}

__attribute__((noinline)) void leak_aligned_alloc(void) {
  void* p = aligned_alloc(128, 256);
  touch(p, 256);
  p = NULL;
}

__attribute__((noinline)) void leak_memalign(void) {
  void* p = memalign(32, 96);
  touch(p, 96);
  p = NULL;
}

__attribute__((noinline)) void leak_valloc(void) {
  void* p = valloc(123);
  touch(p, 123);
  p = NULL;
}

int main(void) {
  leak_calloc();
  leak_posix_memalign();
  leak_aligned_alloc();
  leak_memalign();
  leak_valloc();
  leak_new();
  leak_new_array();
  clobber_stack();
  return 0;
}
