/* thread_dtor_rounds.c - allocation from pthread key destructors in every destructor round.
 * ptmem gives a thread's heap back from its own pthread key destructor. A destructor of a key
 * created later runs after it in the same round; if it allocates, ptmem takes a heap again and sets
 * its key again, so glibc runs another round - but glibc runs at most PTHREAD_DESTRUCTOR_ITERATIONS
 * (4) rounds. This test makes the test key's destructor re-arm itself and allocate in each round:
 *   part A: allocates in rounds 1 .. 3 only (there is always a later round for ptmem's destructor);
 *   part B: allocates in round 4 too, the last one glibc runs: nothing calls ptmem's destructor
 *           after that allocation.
 * The blocks are freed by another thread (the main thread) after the thread is gone.
 * Asserts: data integrity, exact destructor round counts, and that the allocator's mapped bytes and
 * RSS do not grow with the number of such threads (a heap and its pages lost per thread would be
 * >= 64 KiB of address space each). */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

enum { THREADS = 600, PER_ROUND = 4, MAX_BLOCKS = THREADS * (PTHREAD_DESTRUCTOR_ITERATIONS + 1) * PER_ROUND };

static void* blocks[MAX_BLOCKS];
static _Atomic unsigned nblocks;
static _Atomic uint64_t next_id = 1;
static pthread_key_t key;
static int alloc_rounds; /* the destructor allocates in rounds 1 .. alloc_rounds */
static _Atomic uint64_t dtor_calls;
static _Thread_local int round_no;

static void keep(void* p) {
  unsigned i = atomic_fetch_add(&nblocks, 1);
  CHECK_LT(i, MAX_BLOCKS);
  blocks[i] = p;
}

static void dtor(void* v) {
  tagged_free(v);
  dtor_calls++;
  round_no++;
  if (round_no > alloc_rounds) return;
  for (int i = 0; i < PER_ROUND; i++) keep(tagged_alloc(24 + 40 * (size_t)i, atomic_fetch_add(&next_id, 1)));
  if (round_no < PTHREAD_DESTRUCTOR_ITERATIONS)
    CHECK_EQ(pthread_setspecific(key, tagged_alloc(48, atomic_fetch_add(&next_id, 1))), 0);
}

static void* thread_main(void* arg) {
  (void)arg;
  for (int i = 0; i < PER_ROUND; i++) keep(tagged_alloc(32 + 16 * (size_t)i, atomic_fetch_add(&next_id, 1)));
  CHECK_EQ(pthread_setspecific(key, tagged_alloc(48, atomic_fetch_add(&next_id, 1))), 0);
  return NULL;
}

static void run(const char* name, int rounds_with_alloc) {
  alloc_rounds = rounds_with_alloc;
  dtor_calls = 0;
  size_t mapped0 = mapped_bytes(), rss0 = rss_bytes();
  for (unsigned t = 0; t < THREADS; t++) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_main, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
  }
  unsigned n = atomic_exchange(&nblocks, 0);
  for (unsigned i = 0; i < n; i++) tagged_free(blocks[i]);
  free(malloc(100));
  size_t mapped1 = mapped_bytes(), rss1 = rss_bytes();
  printf("%s: %u threads, %llu destructor calls, %u blocks; mapped %.1f -> %.1f MiB, RSS %.1f -> %.1f MiB\n",
         name, THREADS, (unsigned long long)dtor_calls, n, (double)mapped0 / MiB_, (double)mapped1 / MiB_,
         (double)rss0 / MiB_, (double)rss1 / MiB_);
  /* Destructor rounds: one per allocating round, plus the round that frees the last key value. */
  int expected_calls = rounds_with_alloc < PTHREAD_DESTRUCTOR_ITERATIONS ? rounds_with_alloc + 1 : rounds_with_alloc;
  CHECK_UEQ(dtor_calls, (uint64_t)THREADS * (uint64_t)expected_calls);
  if (stress_under_ptmem()) CHECK_LE(mapped1, mapped0 + 16 * MiB_);
  CHECK_LE(rss1, rss0 + 16 * MiB_);
}

int main(void) {
  stress_init("stress_thread_dtor_rounds", 100);
  free(malloc(1)); /* ptmem's key exists before ours, so its destructor runs first in each round */
  CHECK_EQ(pthread_key_create(&key, dtor), 0);
  run("part A (allocations in destructor rounds 1-3)", PTHREAD_DESTRUCTOR_ITERATIONS - 1);
  run("part B (allocations in all 4 destructor rounds)", PTHREAD_DESTRUCTOR_ITERATIONS);
  printf("ok\n");
  return 0;
}
