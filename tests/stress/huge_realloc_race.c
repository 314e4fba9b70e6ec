/* huge_realloc_race.c - one thread reallocs a huge block (above 4 MiB: a mapping of its own) down and
 * up, so mremap keeps giving address space back (the tail of a shrink, the whole block when it
 * moves), while another thread maps huge blocks of its own that land in that space at once. The
 * reallocating thread used to clear its old range from the page map after mremap: a block mapped
 * there meanwhile lost its entries, looked foreign, and its free went to glibc ("free(): invalid
 * pointer", or a segfault) within a second. Run with PTMEM_HUGE_CACHE_MB=0 (CMakeLists.txt): the
 * cache of freed huge mappings would serve most blocks without a new mapping.
 * Asserts: every block is ptmem's at every moment (usable size covers the request), the realloc'd
 * block keeps its content, no crash. */
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

#define MiB_SIZE ((size_t)1 << 20)
enum { MAPPER_ROUNDS = 20000 };

static atomic_int stop;

static void* reallocator(void* arg) {
  (void)arg;
  uint64_t id = 1;
  while (!atomic_load(&stop)) {
    uint8_t* p = malloc(64 * MiB_SIZE);
    CHECK(p != NULL);
    fill_block(p, 8 * MiB_SIZE, id);
    static const size_t steps[] = {8 * MiB_SIZE, 64 * MiB_SIZE, 6 * MiB_SIZE, 40 * MiB_SIZE, 5 * MiB_SIZE};
    size_t kept = 8 * MiB_SIZE;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
      p = realloc(p, steps[i]);
      CHECK(p != NULL);
      CHECK_UGE(malloc_usable_size(p), steps[i]);
      if (steps[i] < kept) kept = steps[i];
    }
    VERIFY_BLOCK(p, kept, id);
    free(p);
    id++;
  }
  return NULL;
}

int main(void) {
  stress_init("stress_huge_realloc_race", 100);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, reallocator, NULL), 0);
  for (unsigned i = 0; i < MAPPER_ROUNDS; i++) {
    size_t n = 5 * MiB_SIZE + (size_t)(i % 7) * MiB_SIZE;
    void* q = malloc(n);
    CHECK(q != NULL);
    CHECK_UGE(malloc_usable_size(q), n);
    *(volatile char*)q = 1;
    free(q);
  }
  atomic_store(&stop, 1);
  CHECK_EQ(pthread_join(t, NULL), 0);
  printf("ok\n");
  return 0;
}
