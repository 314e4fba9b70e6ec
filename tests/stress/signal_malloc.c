/* signal_malloc.c - malloc, realloc and free from signal handlers, in a thread that is not inside
 * malloc when the signal arrives (the thread waits in sigsuspend, or spins on a volatile counter;
 * its own allocations happen with the signals blocked). Signals come from pthread_kill (another
 * thread, waiting until each one was handled) and from setitimer(ITIMER_VIRTUAL) (CPU-time
 * ticks while the target spins). The handler keeps a few blocks of its own (realloc-growing them),
 * frees blocks the sender thread allocated (remote frees from a handler), and allocates blocks the
 * target thread frees later. Each phase uses a fresh target thread whose very first allocation
 * happens inside a handler (its heap is created there).
 * Asserts: every block intact, every pthread_kill'ed signal handled, timer signals arrived, no
 * deadlock, no crash. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>

#include "stress.h"

enum { PHASES = 4, KILLS_PER_PHASE = 20000, HSLOTS = 16, MAILBOX = 64 };

static _Atomic uint64_t next_id = 1;
static uint64_t new_id(void) { return atomic_fetch_add(&next_id, 1); }

/* Handler state: touched only from handlers running on the target thread (the mask blocks both
 * signals while either handler runs, so handlers never nest) and by the target with them blocked. */
static void* hslots[HSLOTS];
static rng_t hrng;
static _Atomic(void*) mailbox[MAILBOX];   /* sender -> handler */
static _Atomic(void*) to_target[MAILBOX]; /* handler -> target thread */
static _Atomic uint64_t handled, usr1_handled, timer_handled;
static volatile sig_atomic_t in_handler;

static void handler_work(void) {
  CHECK(!in_handler);
  in_handler = 1;
  /* Replace one of our blocks. */
  size_t k = rng_below(&hrng, HSLOTS);
  tagged_free(hslots[k]);
  size_t n = rng_below(&hrng, 100) == 0 ? 5 * MiB_ : rng_size(&hrng, 256 * 1024);
  hslots[k] = tagged_alloc(n, new_id());
  /* Grow or shrink another with realloc: the tag and the prefix must survive. */
  k = rng_below(&hrng, HSLOTS);
  if (hslots[k]) {
    tag_t* t = hslots[k];
    uint64_t id = t->id;
    size_t old = t->n, nn = 16 + rng_below(&hrng, 70000);
    t = realloc(t, nn);
    CHECK(t != NULL);
    size_t keep = old < nn ? old : nn;
    CHECK_UEQ(t->id, id);
    if (keep > sizeof(tag_t)) VERIFY_BLOCK(t + 1, keep - sizeof(tag_t), id);
    t->n = nn;
    if (nn > sizeof(tag_t)) fill_block(t + 1, nn - sizeof(tag_t), id);
    hslots[k] = t;
  }
  /* Free what the sender left us, hand a block to the target thread. */
  tagged_free(atomic_exchange(&mailbox[rng_below(&hrng, MAILBOX)], NULL));
  tagged_free(atomic_exchange(&to_target[rng_below(&hrng, MAILBOX)], tagged_alloc(rng_size(&hrng, 4096), new_id())));
  /* calloc too. */
  size_t cn = 1 + rng_below(&hrng, 3000);
  unsigned char* c = calloc(cn, 1);
  CHECK(c != NULL);
  for (size_t i = 0; i < cn; i++) CHECK_EQ(c[i], 0);
  free(c);
  in_handler = 0;
  handled++;
}

static void on_usr1(int sig) {
  (void)sig;
  int e = errno;
  handler_work();
  usr1_handled++;
  errno = e;
}

static void on_vtalrm(int sig) {
  (void)sig;
  int e = errno;
  handler_work();
  timer_handled++;
  errno = e;
}

static atomic_bool phase_done, target_exited;
static volatile uint64_t spin_counter;

static void* target(void* arg) {
  (void)arg;
  sigset_t sigs, none;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGVTALRM);
  sigemptyset(&none);
  /* No allocation here before the first handler has run: the heap is created in a handler. */
  CHECK_EQ(pthread_sigmask(SIG_UNBLOCK, &sigs, NULL), 0);
  while (handled == 0 && !atomic_load(&phase_done)) spin_counter++;
  rng_t r = rng_make(99);
  uint64_t iter = 0;
  while (!atomic_load(&phase_done)) {
    if (iter++ % 2 == 0) {
      sigsuspend(&none); /* returns after a handler ran */
    } else {
      for (int i = 0; i < 20000; i++) spin_counter++;
    }
    /* Our own malloc/free with the handlers kept out. */
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &sigs, NULL), 0);
    tagged_free(atomic_exchange(&to_target[rng_below(&r, MAILBOX)], NULL));
    size_t k = rng_below(&r, HSLOTS);
    tagged_free(hslots[k]); /* the handler's blocks are ours too */
    hslots[k] = tagged_alloc(rng_size(&r, 8192), new_id());
    CHECK_EQ(pthread_sigmask(SIG_UNBLOCK, &sigs, NULL), 0);
  }
  CHECK_EQ(pthread_sigmask(SIG_BLOCK, &sigs, NULL), 0);
  atomic_store(&target_exited, true);
  return NULL;
}

int main(void) {
  stress_init("stress_signal_malloc", 100);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGVTALRM);
  /* Only the target thread ever takes these signals. */
  CHECK_EQ(pthread_sigmask(SIG_BLOCK, &sigs, NULL), 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_mask = sigs; /* handlers never nest */
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_usr1;
  CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
  sa.sa_handler = on_vtalrm;
  CHECK_EQ(sigaction(SIGVTALRM, &sa, NULL), 0);
  rng_t r = rng_make(7);
  double t0 = now_s();
  for (unsigned phase = 0; phase < PHASES; phase++) {
    hrng = rng_make(phase + 100);
    atomic_store(&phase_done, false);
    atomic_store(&target_exited, false);
    uint64_t timer_before = timer_handled;
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, target, NULL), 0);
    struct itimerval it = {{0, 500}, {0, 500}};
    CHECK_EQ(setitimer(ITIMER_VIRTUAL, &it, NULL), 0);
    for (unsigned i = 0; i < KILLS_PER_PHASE; i++) {
      tagged_free(atomic_exchange(&mailbox[rng_below(&r, MAILBOX)], tagged_alloc(rng_size(&r, 16384), new_id())));
      uint64_t before = usr1_handled;
      CHECK_EQ(pthread_kill(th, SIGUSR1), 0);
      while (usr1_handled == before) sched_yield();
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK_EQ(setitimer(ITIMER_VIRTUAL, &off, NULL), 0);
    atomic_store(&phase_done, true);
    while (!atomic_load(&target_exited)) { /* wake it from sigsuspend */
      pthread_kill(th, SIGUSR1);
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
    }
    CHECK_EQ(pthread_join(th, NULL), 0);
    printf("phase %u: %llu signals handled (%llu SIGUSR1, %llu timer), %.2f s\n", phase,
           (unsigned long long)handled, (unsigned long long)usr1_handled,
           (unsigned long long)timer_handled, now_s() - t0);
    CHECK_UGE(usr1_handled, (uint64_t)(phase + 1) * KILLS_PER_PHASE);
    (void)timer_before;
  }
  CHECK(timer_handled > 0);
  /* Everything left is intact. */
  for (int i = 0; i < HSLOTS; i++) tagged_free(hslots[i]);
  for (int i = 0; i < MAILBOX; i++) {
    tagged_free(atomic_exchange(&mailbox[i], NULL));
    tagged_free(atomic_exchange(&to_target[i], NULL));
  }
  printf("ok\n");
  return 0;
}
