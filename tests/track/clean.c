/* clean: several million small allocations (mixed sizes, windows of live blocks, realloc, calloc),
 * all freed. Expected: zero definite and zero indirect leaks, whatever the allocator's internal
 * state at exit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

#define WINDOW 4096
#define ROUNDS 3000000

__attribute__((noinline)) void churn(void) {
  static void* live[WINDOW]; /* a global: the live blocks are reachable until freed */
  uint32_t x = 12345;
  for (long i = 0; i < ROUNDS; i++) {
    x = x * 1103515245u + 12345u; /* deterministic sizes and slots */
    size_t slot = (x >> 8) % WINDOW;
    size_t size = 8 + (x >> 20) % 200;
    free(live[slot]);
    switch (i % 8) {
      case 0: live[slot] = calloc(1, size); break;
      case 1: live[slot] = realloc(malloc(size / 2 + 1), size); break;
      default: live[slot] = malloc(size); break;
    }
    memset(live[slot], 1, size);
  }
  for (size_t i = 0; i < WINDOW; i++) {
    free(live[i]);
    live[i] = NULL;
  }
}

int main(void) {
  churn();
  clobber_stack();
  return 0;
}
