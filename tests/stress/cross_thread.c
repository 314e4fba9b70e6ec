/* cross_thread.c - producer/consumer (xmalloc-test style): producers allocate blocks of mixed sizes
 * (16 B .. 1 MiB, weighted to small), fill them with a pattern derived from an id and pass them
 * through a bounded queue to consumers, which verify and free them: nearly every free is a remote
 * free into a page another thread owns. Several rounds, each with fresh threads (so the pages of the
 * previous round's threads are abandoned and must be adopted).
 * Asserts: every block arrives intact, every block is freed exactly once (counts match), no
 * deadlock (watchdog), and RSS after the last round stays within a bound of the RSS after the first
 * round: freed memory is reused, not leaked. */
#include <pthread.h>

#include "stress.h"

enum { PRODUCERS = 2, CONSUMERS = 2, BATCH = 64, RING = 32, ROUNDS = 5 };
#define TOTAL_BLOCKS 2000000ull
#define MAX_SIZE ((size_t)1 << 20)

typedef struct {
  void* p;
  size_t n;
  uint64_t id;
} item_t;

typedef struct {
  int count; /* 0 = stop */
  item_t items[BATCH];
} batch_t;

static batch_t ring[RING];
static unsigned head, tail; /* tail - head = batches queued */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;

static _Atomic uint64_t freed_blocks, freed_bytes, alloc_blocks, alloc_bytes;

static void push(const batch_t* b) {
  pthread_mutex_lock(&mu);
  while (tail - head == RING) pthread_cond_wait(&not_full, &mu);
  ring[tail % RING] = *b;
  tail++;
  pthread_cond_signal(&not_empty);
  pthread_mutex_unlock(&mu);
}

static void pop(batch_t* b) {
  pthread_mutex_lock(&mu);
  while (tail == head) pthread_cond_wait(&not_empty, &mu);
  *b = ring[head % RING];
  head++;
  pthread_cond_signal(&not_full);
  pthread_mutex_unlock(&mu);
}

typedef struct {
  unsigned index, round;
  uint64_t blocks;
} producer_arg_t;

static void* producer(void* arg) {
  producer_arg_t* a = arg;
  rng_t r = rng_make(((uint64_t)a->round << 32) | a->index);
  uint64_t id_base = ((uint64_t)a->round * PRODUCERS + a->index) << 40;
  batch_t b;
  b.count = 0;
  uint64_t nbytes = 0;
  for (uint64_t i = 0; i < a->blocks; i++) {
    size_t n = rng_size(&r, MAX_SIZE);
    void* p = malloc(n);
    if (!p) {
      fprintf(stderr, "malloc(%zu) failed\n", n);
      abort();
    }
    uint64_t id = id_base + i;
    fill_block(p, n, id);
    nbytes += n;
    b.items[b.count++] = (item_t){p, n, id};
    if (b.count == BATCH) {
      push(&b);
      b.count = 0;
    }
  }
  if (b.count) push(&b);
  alloc_blocks += a->blocks;
  alloc_bytes += nbytes;
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  batch_t b;
  uint64_t nblocks = 0, nbytes = 0;
  for (;;) {
    pop(&b);
    if (b.count == 0) break;
    for (int i = 0; i < b.count; i++) {
      item_t* it = &b.items[i];
      VERIFY_BLOCK(it->p, it->n, it->id);
      free(it->p);
      nblocks++;
      nbytes += it->n;
    }
    /* A little local churn too, so consumers own pages that producers never touch. */
    void* q = malloc(16 + (nblocks % 200));
    CHECK(q != NULL);
    fill_block(q, 16, nblocks);
    VERIFY_BLOCK(q, 16, nblocks);
    free(q);
  }
  freed_blocks += nblocks;
  freed_bytes += nbytes;
  return NULL;
}

int main(void) {
  stress_init("stress_cross_thread", 100);
  size_t rss0 = rss_bytes(), rss_first = 0, rss_max_later = 0, peak_first = 0;
  double t0 = now_s();
  for (unsigned round = 0; round < ROUNDS; round++) {
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    producer_arg_t pa[PRODUCERS];
    for (unsigned i = 0; i < CONSUMERS; i++) CHECK_EQ(pthread_create(&ct[i], NULL, consumer, NULL), 0);
    for (unsigned i = 0; i < PRODUCERS; i++) {
      pa[i] = (producer_arg_t){i, round, TOTAL_BLOCKS / ROUNDS / PRODUCERS};
      CHECK_EQ(pthread_create(&pt[i], NULL, producer, &pa[i]), 0);
    }
    for (unsigned i = 0; i < PRODUCERS; i++) CHECK_EQ(pthread_join(pt[i], NULL), 0);
    batch_t stop;
    stop.count = 0;
    for (unsigned i = 0; i < CONSUMERS; i++) push(&stop);
    for (unsigned i = 0; i < CONSUMERS; i++) CHECK_EQ(pthread_join(ct[i], NULL), 0);
    CHECK_UEQ(freed_blocks, alloc_blocks);
    CHECK_UEQ(freed_bytes, alloc_bytes);
    size_t rss = rss_bytes();
    size_t peak = peak_rss_bytes();
    printf("round %u: %llu blocks, %.1f MiB allocated so far; RSS %.1f MiB (peak %.1f), mapped %.1f MiB, "
           "%.2f s\n", round, (unsigned long long)alloc_blocks, (double)alloc_bytes / MiB_,
           (double)rss / MiB_, (double)peak / MiB_, (double)mapped_bytes() / MiB_, now_s() - t0);
    if (round == 0) {
      rss_first = rss;
      peak_first = peak;
    }
    else if (rss > rss_max_later) rss_max_later = rss;
  }
  CHECK_UEQ(alloc_blocks, TOTAL_BLOCKS / ROUNDS / PRODUCERS * ROUNDS * PRODUCERS);
  /* Each round allocates ~1-2 GiB in total; at most RING*BATCH blocks (+ one batch per producer)
   * are live at once. Without reuse of remotely freed memory RSS would grow by GiBs per round. */
  size_t bound = 2 * rss_first + 128 * MiB_;
  printf("RSS at start %.1f MiB, after round 0 %.1f MiB, max later %.1f MiB (bound %.1f MiB)\n",
         (double)rss0 / MiB_, (double)rss_first / MiB_, (double)rss_max_later / MiB_, (double)bound / MiB_);
  CHECK_LE(rss_max_later, bound);
  CHECK_LE(rss_max_later, 768 * MiB_);
  /* The peak (blocks in flight + caches) must not keep growing either. */
  size_t peak = peak_rss_bytes();
  printf("peak RSS after round 0 %.1f MiB, at the end %.1f MiB\n", (double)peak_first / MiB_, (double)peak / MiB_);
  CHECK_LE(peak, 2 * peak_first + 128 * MiB_);
  printf("ok\n");
  return 0;
}
