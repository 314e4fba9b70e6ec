/* globals: one block kept by a global pointer to its start, one kept only by an INTERIOR pointer
 * stored in a global (a pointer anywhere inside a block keeps it), one whose only pointer points
 * just past its requested end (a vector's "end": LeakSanitizer does not count it, nor do we, even
 * though the allocator's block is bigger), and one real leak. Then a global keeps a block the
 * program never writes, and the next block of its size, allocated right after it, leaks: what the
 * allocator left in the unwritten block (a free list's link to its neighbour) is no pointer of the
 * program's. Last, a block whose only pointer is stored in memory the program mapped itself: no
 * root for LeakSanitizer (nor for ptmem unless PTMEM_LEAK_ALL_MAPPINGS=1: globals_all_mappings).
 * Expected: reachable keep_global 1 100, reachable keep_interior 1 200, definite keep_end 1 777,
 * definite leak_one 1 300, reachable keep_unwritten 1 2900, definite leak_next 1 2900,
 * definite keep_in_mapping 1 640. */
#include <stdlib.h>
#include <sys/mman.h>

#include "corpus.h"

void* g_kept;
char* g_interior;
char* g_end;

__attribute__((noinline)) void keep_global(void) { g_kept = malloc(100); }

__attribute__((noinline)) void keep_interior(void) {
  char* p = malloc(200);
  g_interior = p + 120; /* the start of the block is stored nowhere */
  p = NULL;
}

__attribute__((noinline)) void keep_end(void) {
  char* p = malloc(777); /* a 784-byte block: p + 777 is still inside it */
  touch(p, 777);
  g_end = p + 777;
  p = NULL;
}

__attribute__((noinline)) void leak_one(void) {
  void* p = malloc(300);
  touch(p, 300);
  p = NULL;
}

void* g_unwritten;

__attribute__((noinline)) void keep_unwritten(void) { g_unwritten = malloc(2900); }

__attribute__((noinline)) void leak_next(void) {
  void* p = malloc(2900);
  touch(p, 2900);
  p = NULL;
}

void** g_mapping;

__attribute__((noinline)) void keep_in_mapping(void) {
  g_mapping = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g_mapping == MAP_FAILED) abort();
  g_mapping[100] = malloc(640);
  touch(g_mapping[100], 640);
}

int main(void) {
  keep_global();
  keep_interior();
  keep_end();
  leak_one();
  keep_unwritten();
  leak_next();
  keep_in_mapping();
  clobber_stack();
  return 0;
}
