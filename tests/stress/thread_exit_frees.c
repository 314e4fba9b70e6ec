/* thread_exit_frees.c - threads exit while other threads are still freeing into their pages.
 * Short-lived owner threads allocate a few hundred blocks, hand them all to two long-lived freer
 * threads through a queue and exit at once: the freers' remote frees race with the owner's
 * thread-exit path (its pages being collected and abandoned) and continue into abandoned pages,
 * which later owners adopt. Every owner also sets a pthread key created by the test after the
 * first malloc, so its destructor runs after ptmem's: it frees the key's block and allocates more
 * blocks for the freers (allocation after ptmem's thread destructor; ptmem must notice and give
 * that heap back again).
 * (Destructors that allocate in every destructor round: thread_dtor_rounds.c.)
 * Asserts: data integrity, all blocks freed, no deadlock, mapped bytes and RSS bounded. */
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

enum { OWNERS = 8001, AT_ONCE = 3, PER_OWNER = 300, FREERS = 2, QCAP = 1 << 14 };

/* ---- queue of blocks to free ---- */
static void* q[QCAP];
static unsigned qhead, qtail;
static bool qclosed;
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qnot_empty = PTHREAD_COND_INITIALIZER, qnot_full = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t queued, freed;

static void qpush_many(void** v, unsigned n) {
  pthread_mutex_lock(&qmu);
  for (unsigned i = 0; i < n; i++) {
    while (qtail - qhead == QCAP) pthread_cond_wait(&qnot_full, &qmu);
    q[qtail++ % QCAP] = v[i];
  }
  pthread_cond_broadcast(&qnot_empty);
  pthread_mutex_unlock(&qmu);
  queued += n;
}

static void* freer(void* arg) {
  (void)arg;
  void* local[32];
  for (;;) {
    unsigned n = 0;
    pthread_mutex_lock(&qmu);
    while (qtail == qhead && !qclosed) pthread_cond_wait(&qnot_empty, &qmu);
    while (qtail != qhead && n < 32) local[n++] = q[qhead++ % QCAP];
    bool done = n == 0 && qclosed;
    pthread_cond_broadcast(&qnot_full);
    pthread_mutex_unlock(&qmu);
    if (done) break;
    for (unsigned i = 0; i < n; i++) tagged_free(local[i]);
    freed += n;
  }
  return NULL;
}

static _Atomic uint64_t next_id = 1;
static uint64_t new_id(void) { return atomic_fetch_add(&next_id, 1); }

static pthread_key_t key1;
static _Atomic uint64_t dtor1_runs;

static void dtor1(void* v) {
  tagged_free(v);
  rng_t r = rng_make(new_id());
  void* blocks[24];
  for (int i = 0; i < 24; i++) blocks[i] = tagged_alloc(rng_size(&r, 16384), new_id());
  qpush_many(blocks, 24);
  dtor1_runs++;
}

static void* owner(void* arg) {
  rng_t r = rng_make((uint64_t)(uintptr_t)arg);
  void* blocks[PER_OWNER];
  for (int i = 0; i < PER_OWNER; i++) blocks[i] = tagged_alloc(rng_size(&r, 32768), new_id());
  CHECK_EQ(pthread_setspecific(key1, tagged_alloc(100, new_id())), 0);
  /* Some blocks freed locally, the rest remotely after we are gone. */
  for (int i = 0; i < PER_OWNER; i += 4) {
    tagged_free(blocks[i]);
    blocks[i] = tagged_alloc(rng_size(&r, 512), new_id());
  }
  qpush_many(blocks, PER_OWNER);
  return NULL;
}

static void drain(void) {
  for (int spin = 0; freed != queued; spin++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

int main(void) {
  stress_init("stress_thread_exit_frees", 100);
  free(malloc(1)); /* ptmem's key exists before ours */
  CHECK_EQ(pthread_key_create(&key1, dtor1), 0);
  pthread_t fr[FREERS];
  for (int i = 0; i < FREERS; i++) CHECK_EQ(pthread_create(&fr[i], NULL, freer, NULL), 0);
  double t0 = now_s();
  size_t rss_base = 0, mapped_base = 0, rss_max = 0, mapped_max = 0;
  for (unsigned t = 0; t < OWNERS; t += AT_ONCE) {
    pthread_t th[AT_ONCE];
    for (unsigned i = 0; i < AT_ONCE; i++)
      CHECK_EQ(pthread_create(&th[i], NULL, owner, (void*)(uintptr_t)(t + i + 1)), 0);
    for (unsigned i = 0; i < AT_ONCE; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
    if ((t / AT_ONCE) % 250 == 249) {
      size_t rss = rss_bytes(), mapped = mapped_bytes();
      printf("%u owners: RSS %.1f MiB, mapped %.1f MiB, %llu blocks freed remotely, %.2f s\n",
             t + AT_ONCE, (double)rss / MiB_, (double)mapped / MiB_, (unsigned long long)freed, now_s() - t0);
      if (!rss_base) {
        rss_base = rss;
        mapped_base = mapped;
      } else {
        if (rss > rss_max) rss_max = rss;
        if (mapped > mapped_max) mapped_max = mapped;
      }
    }
  }
  drain();
  CHECK_UEQ(dtor1_runs, OWNERS);
  printf("RSS base %.1f max %.1f MiB; mapped base %.1f max %.1f MiB\n", (double)rss_base / MiB_,
         (double)rss_max / MiB_, (double)mapped_base / MiB_, (double)mapped_max / MiB_);
  /* ~4000 owners allocate ~2 GiB in all while the queue bounds what is live at once (16K blocks of
   * <= 32 KiB, mostly small): a footprint growing with the number of dead owners would show. */
  CHECK_LE(rss_max, rss_base + 128 * MiB_);
  if (stress_under_ptmem()) CHECK_LE(mapped_max, mapped_base + 128 * MiB_);

  pthread_mutex_lock(&qmu);
  qclosed = true;
  pthread_cond_broadcast(&qnot_empty);
  pthread_mutex_unlock(&qmu);
  for (int i = 0; i < FREERS; i++) CHECK_EQ(pthread_join(fr[i], NULL), 0);
  CHECK_UEQ(freed, queued);
  printf("%llu blocks freed by other threads; ok\n", (unsigned long long)freed);
  return 0;
}
