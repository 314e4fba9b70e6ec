/* xmalloc - producer/consumer cross-thread frees, modelled on Lever & Boreham's xmalloc-test:
 * producers allocate small blocks (8..256 B) in batches of BATCH and push each batch through a
 * bounded, mutex-protected queue; consumers pop batches and free every block (and the batch record,
 * which the producer also allocated). Every block is thus freed by a thread other than the one that
 * allocated it, continuously and while the allocating thread is alive: this is what remote-free
 * queues / ownership transfer in an allocator are for. The bounded queue keeps memory in use small and
 * makes producers wait for consumers, as in a real pipeline.
 *
 * threads are split into producers (half, rounded up) and consumers (the rest, at least 1).
 * usage: xmalloc [threads=2] [scale=1] */
#include "bench.h"

enum { BATCH = 64, QUEUE_CAP = 64, BATCHES_TOTAL = 200000, MIN_SIZE = 8, MAX_SIZE = 256 };

typedef struct {
  void *p[BATCH];
  uint32_t size[BATCH];
  uint64_t tag[BATCH];
} batch;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  batch *ring[QUEUE_CAP];
  unsigned head, count;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void push(batch *b) {
  pthread_mutex_lock(&q.lock);
  while (q.count == QUEUE_CAP) pthread_cond_wait(&q.not_full, &q.lock);
  q.ring[(q.head + q.count++) % QUEUE_CAP] = b;
  pthread_cond_signal(&q.not_empty);
  pthread_mutex_unlock(&q.lock);
}

static batch *pop(void) {
  pthread_mutex_lock(&q.lock);
  while (q.count == 0) pthread_cond_wait(&q.not_empty, &q.lock);
  batch *b = q.ring[q.head];
  q.head = (q.head + 1) % QUEUE_CAP;
  q.count--;
  pthread_cond_signal(&q.not_full);
  pthread_mutex_unlock(&q.lock);
  return b;
}

typedef struct {
  int id;
  long batches;
  uint64_t sum;
} worker;

static void *producer(void *arg) {
  worker *w = arg;
  bench_rng rng = {0x5eed0000ull + (uint64_t)w->id};
  for (long i = 0; i < w->batches; i++) {
    batch *b = bench_malloc(sizeof *b);
    for (int j = 0; j < BATCH; j++) {
      size_t n = bench_range(&rng, MIN_SIZE, MAX_SIZE);
      b->size[j] = (uint32_t)n;
      b->tag[j] = bench_rand(&rng);
      b->p[j] = bench_malloc(n);
      bench_stamp(b->p[j], n, b->tag[j]);
    }
    push(b);
  }
  return NULL;
}

static void *consumer(void *arg) {
  worker *w = arg;
  batch *b;
  while ((b = pop()) != NULL) { /* NULL is the end-of-stream marker, one per consumer */
    for (int j = 0; j < BATCH; j++) {
      w->sum += bench_verify(b->p[j], b->size[j], b->tag[j]);
      free(b->p[j]);
    }
    free(b);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 2);
  int nprod = a.threads > 1 ? (a.threads + 1) / 2 : 1;
  int ncons = a.threads > 1 ? a.threads - nprod : 1;
  long total = bench_scaled(BATCHES_TOTAL, a.scale);
  worker *w = calloc((size_t)(nprod + ncons), sizeof *w);
  pthread_t *tid = bench_malloc(sizeof(pthread_t) * (size_t)(nprod + ncons));
  double t0 = bench_now();
  for (int i = 0; i < nprod + ncons; i++) {
    w[i].id = i;
    /* Producers split the batches; the split is fixed, so each producer's RNG stream is fixed. */
    w[i].batches = i < nprod ? total / nprod + (i < total % nprod) : 0;
    if (pthread_create(&tid[i], NULL, i < nprod ? producer : consumer, &w[i]) != 0) BENCH_FAIL("pthread_create");
  }
  for (int i = 0; i < nprod; i++) pthread_join(tid[i], NULL);
  for (int i = 0; i < ncons; i++) push(NULL);
  uint64_t sum = 0;
  for (int i = nprod; i < nprod + ncons; i++) {
    pthread_join(tid[i], NULL);
    sum += w[i].sum;
  }
  double secs = bench_now() - t0;
  free(tid);
  free(w);
  bench_report("xmalloc", a, sum, secs, (double)total * BATCH);
  return 0;
}
