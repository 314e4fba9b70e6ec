/* peak: a known allocation pattern, single-threaded, so the peak and each site's share of it are
 * exact. grow_a keeps 10 x 1000 and grow_b 5 x 2000 (20000 live); grow_a's blocks are freed
 * (10000); grow_c then keeps 4 x 3000: the peak is 22000 over the program's own sites, held by
 * grow_b 10000 and grow_c 12000, grow_a 0. temporaries makes 100 allocations each freed before the
 * next: temporary 100, no share of the peak. */
#include <stdlib.h>

#include "corpus.h"

static void* a[10];
static void* b[5];
static void* c[4];

__attribute__((noinline)) void grow_a(void) {
  for (int i = 0; i < 10; i++) a[i] = malloc(1000);
}
__attribute__((noinline)) void grow_b(void) {
  for (int i = 0; i < 5; i++) b[i] = malloc(2000);
}
__attribute__((noinline)) void grow_c(void) {
  for (int i = 0; i < 4; i++) c[i] = malloc(3000);
}
__attribute__((noinline)) void temporaries(void) {
  for (int i = 0; i < 100; i++) {
    char* volatile p = malloc(64);
    p[0] = 1;
    free(p);
  }
}

int main(void) {
  grow_a();
  grow_b();
  for (int i = 0; i < 10; i++) free(a[i]);
  grow_c();
  for (int i = 0; i < 5; i++) free(b[i]);
  for (int i = 0; i < 4; i++) free(c[i]);
  temporaries();
  return 0;
}
