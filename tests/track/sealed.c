/* sealed: a program fills a page-aligned global table and then makes it read-only with mprotect
 * (hardened configuration, as RELRO does for the loader's own tables). It is still part of the
 * program's writable PT_LOAD segment, which LeakSanitizer reads whole, so the block it points to is
 * reachable. A block pointed to only from memory the program mapped itself stays a leak, read-only
 * or not. Expected: definite lose_in_mapping 1 902, reachable fill_sealed 1 901. */
#include <stdlib.h>
#include <sys/mman.h>

#include "corpus.h"

static struct {
  void* slot[512];
} sealed_table __attribute__((aligned(4096)));

__attribute__((noinline)) void fill_sealed(void) {
  sealed_table.slot[7] = malloc(901);
  touch(sealed_table.slot[7], 901);
  mprotect(&sealed_table, sizeof sealed_table, PROT_READ);
}

__attribute__((noinline)) void lose_in_mapping(void) {
  void** m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) abort();
  m[3] = malloc(902);
  touch(m[3], 902);
  mprotect(m, 4096, PROT_READ);
}

int main(void) {
  fill_sealed();
  lose_in_mapping();
  clobber_stack();
  return 0;
}
