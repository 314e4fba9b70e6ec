/* larson - server churn, modelled on Larson & Krishnan's benchmark: T "chains" each own an array of
 * slots; a round frees a random slot and allocates a new random size (16..1024 B) in its place, many
 * times. At the end of a round the thread starts a successor thread that inherits the slots and exits,
 * so most frees hit blocks that a now-dead thread allocated (cross-thread frees, orphaned thread
 * caches) - the pattern of a server that hands connections between worker threads. The main thread
 * fills the slots first, so the very first frees are cross-thread too.
 *
 * usage: larson [threads=2] [scale=1] */
#include "bench.h"

enum { SLOTS = 1000, OPS_PER_ROUND = 400000, ROUNDS = 30, MIN_SIZE = 16, MAX_SIZE = 1024 };

typedef struct {
  int id, round, rounds;
  long ops;
  bench_rng rng;
  void **slot;
  uint32_t *size;
  uint64_t *tag;
  uint64_t sum;
} chain;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int chains_done;

static void *round_worker(void *arg) {
  chain *c = arg;
  for (long i = 0; i < c->ops; i++) {
    uint32_t k = bench_below(&c->rng, SLOTS);
    c->sum += bench_verify(c->slot[k], c->size[k], c->tag[k]);
    free(c->slot[k]);
    size_t n = bench_range(&c->rng, MIN_SIZE, MAX_SIZE);
    uint64_t t = bench_rand(&c->rng);
    c->slot[k] = bench_malloc(n);
    bench_stamp(c->slot[k], n, t);
    c->size[k] = (uint32_t)n;
    c->tag[k] = t;
  }
  if (++c->round < c->rounds) {
    /* Hand the slots to a fresh thread; detached because nobody joins a chain link. */
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, round_worker, c) != 0) BENCH_FAIL("pthread_create failed");
    pthread_attr_destroy(&attr);
  } else {
    pthread_mutex_lock(&done_lock);
    chains_done++;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 2);
  long ops = bench_scaled(OPS_PER_ROUND, a.scale);
  int rounds = ROUNDS;
  chain *c = bench_malloc(sizeof(chain) * (size_t)a.threads);
  for (int i = 0; i < a.threads; i++) {
    c[i] = (chain){.id = i, .rounds = rounds, .ops = ops, .rng = {0x1a2b3c4dull * (uint64_t)(i + 1)}};
    c[i].slot = bench_malloc(sizeof(void *) * SLOTS);
    c[i].size = bench_malloc(sizeof(uint32_t) * SLOTS);
    c[i].tag = bench_malloc(sizeof(uint64_t) * SLOTS);
    for (int k = 0; k < SLOTS; k++) { /* initial population from the main thread */
      size_t n = bench_range(&c[i].rng, MIN_SIZE, MAX_SIZE);
      c[i].tag[k] = bench_rand(&c[i].rng);
      c[i].size[k] = (uint32_t)n;
      c[i].slot[k] = bench_malloc(n);
      bench_stamp(c[i].slot[k], n, c[i].tag[k]);
    }
  }
  double t0 = bench_now();
  for (int i = 0; i < a.threads; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, round_worker, &c[i]) != 0) BENCH_FAIL("pthread_create failed");
    pthread_detach(t);
  }
  pthread_mutex_lock(&done_lock);
  while (chains_done < a.threads) pthread_cond_wait(&done_cond, &done_lock);
  pthread_mutex_unlock(&done_lock);
  double secs = bench_now() - t0;

  uint64_t sum = 0;
  for (int i = 0; i < a.threads; i++) {
    for (int k = 0; k < SLOTS; k++) {
      sum += bench_verify(c[i].slot[k], c[i].size[k], c[i].tag[k]);
      free(c[i].slot[k]);
    }
    sum += c[i].sum;
    free(c[i].slot);
    free(c[i].size);
    free(c[i].tag);
  }
  free(c);
  bench_report("larson", a, sum, secs, (double)ops * rounds * a.threads);
  return 0;
}
