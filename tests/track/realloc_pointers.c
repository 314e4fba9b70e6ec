/* realloc_pointers: an array of 64 pointers to 16-byte blocks, grown by realloc, then lost.
 * Expected: the array a definite leak (1024 bytes), the 64 blocks indirect. realloc moved the
 * array with glibc's memcpy, which (AVX-512) left its last 64 bytes, 8 of the pointers, in ymm16-31;
 * the exit scan reads the exiting thread's vector registers as roots (as LSan does), and those 8
 * blocks came out reachable. clobber_stack() clears the stack and ymm0-15, not ymm16-31. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

enum { POINTERS = 64 };

__attribute__((noinline)) void lose_grown_array(void) {
  void** array = malloc(POINTERS / 2 * sizeof *array);
  for (int i = 0; i < POINTERS / 2; i++) array[i] = malloc(16);
  array = realloc(array, POINTERS * sizeof *array);
  for (int i = POINTERS / 2; i < POINTERS; i++) array[i] = malloc(16);
  for (int i = 0; i < POINTERS; i++) memset(array[i], 1, 16);
  array = realloc(array, 2 * POINTERS * sizeof *array); /* moves: a larger size class */
  touch(array + POINTERS, POINTERS * sizeof *array);
  array = NULL;
}

int main(void) {
  lose_grown_array();
  clobber_stack();
  return 0;
}
