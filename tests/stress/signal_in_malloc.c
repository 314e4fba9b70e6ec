/* signal_in_malloc.c - a signal handler that allocates and frees while its thread is inside malloc,
 * free, calloc, realloc or memalign. POSIX forbids it and glibc deadlocks on it (run this with
 * STRESS_ALLOW_GLIBC=1: the watchdog fires), but programs do it: ptmem must neither hand a block out
 * twice nor lose one (pools/entry.h). A POSIX timer fires every 20 us on the main thread, which
 * does nothing but allocate and free, so most signals land inside the allocator. The handler
 * replaces blocks of its own (malloc, calloc, realloc), frees blocks the main thread allocated
 * (their pages are the interrupted thread's own) and hands it blocks to free later.
 * Asserts: every block intact when freed, calloc's memory zero, the handler ran thousands of times,
 * no crash, no deadlock. */
#include <stdatomic.h>
#include <time.h>

#include "stress.h"

enum { ITERATIONS = 300000, SLOTS = 1024, HSLOTS = 32, MAILBOX = 64, MIN_HANDLED = 2000 };

static _Atomic uint64_t next_id = 1;
static uint64_t new_id(void) { return atomic_fetch_add(&next_id, 1); }

static void* hslots[HSLOTS];          /* the handler's own blocks */
static rng_t hrng;
static _Atomic(void*) to_handler[MAILBOX]; /* main -> handler: blocks it frees */
static _Atomic(void*) to_main[MAILBOX];    /* handler -> main: blocks main frees */
static _Atomic uint64_t handled, handler_mappings; /* blocks the handler got from its own way */

static void check_zero(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i++) CHECK_EQ(p[i], 0);
}

static void handler(int sig) {
  (void)sig;
  size_t k = rng_below(&hrng, HSLOTS);
  switch (rng_below(&hrng, 3)) {
  case 0:
    tagged_free(hslots[k]);
    hslots[k] = tagged_alloc(rng_size(&hrng, 4096), new_id());
    if (malloc_usable_size(hslots[k]) >= 65536) atomic_fetch_add(&handler_mappings, 1);
    break;
  case 1: { /* calloc: zero, whatever the interrupted call was doing */
    size_t n = 16 + rng_below(&hrng, 2000);
    unsigned char* z = calloc(1, n);
    CHECK(z != NULL);
    check_zero(z, n);
    free(z);
    break;
  }
  default:
    if (hslots[k]) { /* realloc keeps the tag and the prefix */
      TAGGED_VERIFY(hslots[k]);
      tag_t* t = realloc(hslots[k], ((tag_t*)hslots[k])->n + 64);
      CHECK(t != NULL);
      t->n = sizeof(tag_t); /* only the header is known valid after growth: verify nothing more */
      hslots[k] = t;
    }
    break;
  }
  size_t m = rng_below(&hrng, MAILBOX);
  tagged_free(atomic_exchange(&to_handler[m], NULL));
  void* give = tagged_alloc(rng_size(&hrng, 1024), new_id());
  tagged_free(atomic_exchange(&to_main[m], give));
  atomic_fetch_add(&handled, 1);
}

int main(void) {
  stress_init("stress_signal_in_malloc", 100);
  hrng = rng_make(7);
  rng_t rng = rng_make(11);

  stress_handle_signal(SIGUSR1, handler);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR1;
  timer_t timer;
  CHECK_EQ(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
  struct itimerspec every = {{0, 20000}, {0, 20000}};
  CHECK_EQ(timer_settime(timer, 0, &every, NULL), 0);

  void* slots[SLOTS] = {0};
  for (unsigned i = 0; i < ITERATIONS; i++) {
    size_t k = rng_below(&rng, SLOTS);
    tagged_free(slots[k]);
    switch (rng_below(&rng, 8)) {
    case 0: { /* calloc */
      size_t n = 16 + rng_below(&rng, 3000);
      unsigned char* z = calloc(1, n);
      CHECK(z != NULL);
      check_zero(z, n);
      free(z);
      slots[k] = NULL;
      break;
    }
    case 1: { /* memalign */
      void* a = NULL;
      CHECK_EQ(posix_memalign(&a, 64 << rng_below(&rng, 4), 16 + rng_below(&rng, 5000)), 0);
      CHECK(a != NULL);
      free(a);
      slots[k] = NULL;
      break;
    }
    case 2: { /* realloc growing through the size classes: the old contents must move along */
      size_t n = 16 + rng_below(&rng, 256);
      slots[k] = tagged_alloc(n, new_id());
      for (int g = 0; g < 3; g++) {
        TAGGED_VERIFY(slots[k]);
        n *= 3;
        tag_t* t = realloc(slots[k], n);
        CHECK(t != NULL);
        fill_block(t + 1, n - sizeof(tag_t), t->id);
        t->n = n;
        slots[k] = t;
      }
      break;
    }
    case 3: { /* blocks handed between main and the handler */
      size_t m = rng_below(&rng, MAILBOX);
      tagged_free(atomic_exchange(&to_main[m], NULL));
      tagged_free(atomic_exchange(&to_handler[m], tagged_alloc(rng_size(&rng, 2048), new_id())));
      slots[k] = NULL;
      break;
    }
    case 4: /* now and then a medium or large block */
      slots[k] = tagged_alloc(rng_below(&rng, 64) == 0 ? 300 * 1024 + rng_below(&rng, 1 << 20) : 9000 + rng_below(&rng, 60000),
                              new_id());
      break;
    default: slots[k] = tagged_alloc(rng_size(&rng, 1024), new_id()); break;
    }
  }

  struct itimerspec off = {{0, 0}, {0, 0}};
  CHECK_EQ(timer_settime(timer, 0, &off, NULL), 0);
  CHECK_EQ(timer_delete(timer), 0);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  CHECK_EQ(sigprocmask(SIG_BLOCK, &block, NULL), 0); /* a signal still pending must not run now */
  for (unsigned k = 0; k < SLOTS; k++) tagged_free(slots[k]);
  for (unsigned k = 0; k < HSLOTS; k++) tagged_free(hslots[k]);
  for (unsigned m = 0; m < MAILBOX; m++) {
    tagged_free(atomic_exchange(&to_main[m], NULL));
    tagged_free(atomic_exchange(&to_handler[m], NULL));
  }
  uint64_t n = atomic_load(&handled);
  uint64_t own = atomic_load(&handler_mappings);
  printf("stress_signal_in_malloc: %u iterations, handler ran %llu times, %llu of its blocks taken inside malloc\n",
         ITERATIONS, (unsigned long long)n, (unsigned long long)own);
  CHECK(n >= MIN_HANDLED);
  if (stress_under_ptmem()) CHECK(own > 0); /* the signals did land inside the allocator */
  return 0;
}
