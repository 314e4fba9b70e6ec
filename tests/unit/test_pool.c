/* Unit tests of the public typed pools: exact sizes and alignment, reuse, free() on pool blocks,
 * thread-safe cross-thread use, wrong-pool frees refused, destroy releasing everything. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "ptmem/pools.h"

static pt_pool_t* shared_pool;
static _Atomic(void*) slots[1024];

static void* worker(void* arg) {
  int id = (int)(uintptr_t)arg;
  for (int i = 0; i < 200000; i++) {
    void* p = pt_pool_alloc(shared_pool);
    CHECK(p != NULL);
    memset(p, id, 24);
    void* old = atomic_exchange(&slots[(i * 13 + id * 101) % 1024], p);
    if (old) pt_pool_free(shared_pool, old);
  }
  return NULL;
}

int main(void) {
  CHECK(pt_pool_create(0, 0, "zero") == NULL);
  CHECK_EQ(errno, EINVAL);
  CHECK(pt_pool_create(64, 3, "bad align") == NULL);

  pt_pool_t* pool = pt_pool_create(24, 8, "nodes");
  CHECK(pool != NULL);
  CHECK_UEQ(pt_pool_block_size(pool), 24);
  CHECK(strcmp(pt_pool_name(pool), "nodes") == 0);
  enum { N = 100000 };
  static void* p[N];
  for (int i = 0; i < N; i++) {
    p[i] = pt_pool_alloc(pool);
    CHECK(p[i] != NULL);
    CHECK_ALIGNED(p[i], 8);
    memset(p[i], i & 0xFF, 24);
  }
  CHECK_UEQ(pt_pool_live(pool), N);
  for (int i = 0; i < N; i++) CHECK_EQ(((uint8_t*)p[i])[23], i & 0xFF);
  for (int i = 0; i < N; i += 2) pt_pool_free(pool, p[i]);
  for (int i = 1; i < N; i += 2) CHECK(pt__free(p[i])); /* free() works on pool blocks too */
  CHECK_UEQ(pt_pool_live(pool), 0);
  /* Freed blocks are reused: a second round claims no new chunk. */
  pt_arena_stats_t before, after;
  pt__arena_stats(&before);
  for (int i = 0; i < N; i++) p[i] = pt_pool_alloc(pool);
  pt__arena_stats(&after);
  CHECK_UEQ(after.claimed, before.claimed);

  pt_pool_t* other = pt_pool_create(24, 8, "other");
  pt_pool_free(other, p[0]); /* refused with a message, block untouched */
  CHECK_UEQ(pt_pool_live(pool), N);
  pt_pool_destroy(other);
  pt_pool_destroy(pool);
  CHECK_PTR_EQ(pt__pagemap_lookup(p[0]), NULL);

  pt_pool_t* aligned = pt_pool_create(100, 4096, "pages");
  CHECK_UEQ(pt_pool_block_size(aligned), 4096);
  for (int i = 0; i < 100; i++) CHECK_ALIGNED(pt_pool_alloc(aligned), 4096);
  pt_pool_destroy(aligned);

  shared_pool = pt_pool_create(40, 0, "shared");
  pthread_t t[3];
  for (int k = 0; k < 3; k++) CHECK_EQ(pthread_create(&t[k], NULL, worker, (void*)(uintptr_t)k), 0);
  for (int k = 0; k < 3; k++) CHECK_EQ(pthread_join(t[k], NULL), 0);
  size_t live = 0;
  for (int i = 0; i < 1024; i++) live += atomic_load(&slots[i]) != NULL;
  CHECK_UEQ(pt_pool_live(shared_pool), live);
  pt_pool_destroy(shared_pool);
  puts("pool: ok");
  return 0;
}
