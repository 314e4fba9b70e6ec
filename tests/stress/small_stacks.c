/* small_stacks.c - threads with the smallest stacks a program may ask for. glibc carves every
 * thread's static TLS out of its stack, so a preload with a large thread-local footprint makes
 * pthread_create fail with EINVAL for them (ptmem's 34 KiB did, for 16 and 32 KiB stacks), and the
 * tracker's own stack use (a walk, a replay) must fit what is left. Each thread allocates and frees
 * from a recursion of some depth, so the tracked run walks and replays real stacks there.
 * Asserts: every pthread_create succeeds, every block intact. */
#include <limits.h>
#include <pthread.h>

#include "stress.h"

enum { ROUNDS = 50, DEPTH = 12, BLOCKS = 8 };

__attribute__((noinline)) static unsigned allocate_at_depth(unsigned depth, uint64_t id) {
  if (depth > 0) {
    unsigned n = allocate_at_depth(depth - 1, id * 31 + depth);
    __asm__ volatile("" ::: "memory"); /* a real frame per level: no tail call */
    return n;
  }
  void* blocks[BLOCKS];
  for (unsigned i = 0; i < BLOCKS; i++) blocks[i] = tagged_alloc(16 + 40 * i, id + i);
  for (unsigned i = 0; i < BLOCKS; i++) tagged_free(blocks[i]);
  return BLOCKS;
}

static void* worker(void* arg) {
  uint64_t id = (uint64_t)(uintptr_t)arg;
  unsigned n = 0;
  for (unsigned d = 0; d < DEPTH; d++) n += allocate_at_depth(d, id * 1000 + d);
  return (void*)(uintptr_t)n;
}

int main(void) {
  stress_init("small_stacks", 60);
  size_t sizes[] = {PTHREAD_STACK_MIN, 2 * PTHREAD_STACK_MIN, 32 * 1024};
  for (unsigned r = 0; r < ROUNDS; r++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      pthread_attr_t attr;
      CHECK_EQ(pthread_attr_init(&attr), 0);
      CHECK_EQ(pthread_attr_setstacksize(&attr, sizes[s]), 0);
      pthread_t t;
      int rc = pthread_create(&t, &attr, worker, (void*)(uintptr_t)(r * 10 + s + 1));
      if (rc) fprintf(stderr, "small_stacks: pthread_create with a %zu-byte stack: %s\n", sizes[s], strerror(rc));
      CHECK_EQ(rc, 0);
      void* n;
      CHECK_EQ(pthread_join(t, &n), 0);
      CHECK_EQ((uintptr_t)n, (uintptr_t)DEPTH * BLOCKS);
      pthread_attr_destroy(&attr);
    }
  printf("small_stacks: %d threads with stacks of %zu to %zu bytes\n", ROUNDS * 3, sizes[0], sizes[2]);
  return 0;
}
