/* fork_in_signal.c - glibc's tst-mallocfork2 idea: a single-threaded process mallocs and frees in a
 * loop while a SIGVTALRM handler (CPU-time timer, so it lands mostly inside malloc/free) calls fork();
 * the child _exit()s at once. fork() is async-signal-safe, so the allocator's fork handlers must
 * not take a lock the interrupted malloc could hold, nor spin on state the interrupted call left
 * half-done. A second part sends SIGUSR1 from a separate process (asynchronous, wall-clock timing).
 * Asserts: the loop finishes (no deadlock in the parent), every child exits with status 0 within a
 * timeout (no deadlock in the child's fork handler), and the parent's blocks are intact. */
#include <errno.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "stress.h"

enum { MAX_CHILDREN = 1 << 16, SLOTS = 512 };
#define RUN_SECONDS 4.0

static volatile sig_atomic_t forks, fork_failures;
static pid_t children[MAX_CHILDREN];
static volatile sig_atomic_t nchildren;

static void on_signal(int sig) {
  (void)sig;
  int e = errno;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid < 0) fork_failures++;
  else if (nchildren < MAX_CHILDREN) children[nchildren++] = pid;
  forks++;
  errno = e;
}

static unsigned reaped, bad_children;

/* Reap what has exited (no allocation, signals may arrive meanwhile). */
static void reap(bool block) {
  for (;;) {
    int st;
    pid_t w = waitpid(-1, &st, block ? 0 : WNOHANG);
    if (w == 0) return;
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* ECHILD */
    }
    reaped++;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "child %d ended badly: status 0x%x\n", (int)w, st);
      bad_children++;
    }
  }
}

static void churn(rng_t* r, void** slots, uint64_t* id, double seconds) {
  double end = now_s() + seconds;
  uint64_t ops = 0;
  while (now_s() < end) {
    for (int i = 0; i < 256; i++) {
      size_t k = rng_below(r, SLOTS);
      tagged_free(slots[k]);
      size_t n = rng_below(r, 500) == 0 ? 5 * MiB_ : rng_size(r, 200 * 1024);
      slots[k] = tagged_alloc(n, (*id)++);
      if (i % 16 == 0) {
        void* p = realloc(tagged_alloc(64, (*id)++), rng_size(r, 100000));
        CHECK(p != NULL);
        free(p);
      }
      ops++;
    }
    reap(false);
  }
  printf("  %llu malloc/free rounds\n", (unsigned long long)ops);
}

/* Waits for all children; a child still alive after the timeout is a hang. */
static void reap_all_with_timeout(double timeout_s) {
  double end = now_s() + timeout_s;
  while (reaped < (unsigned)forks - (unsigned)fork_failures && now_s() < end) {
    reap(false);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  if (reaped < (unsigned)forks - (unsigned)fork_failures) {
    fprintf(stderr, "%u of %d children did not exit within %.0f s: child HUNG after fork() in a "
                    "signal handler\n", (unsigned)forks - reaped, (int)forks, timeout_s);
    for (int i = 0; i < nchildren; i++) kill(children[i], SIGKILL);
    exit(1);
  }
}

int main(void) {
  stress_init("stress_fork_in_signal", 100);
  static void* slots[SLOTS];
  uint64_t id = 1;
  rng_t r = rng_make(5);
  stress_handle_signal(SIGVTALRM, on_signal);
  stress_handle_signal(SIGUSR1, on_signal);

  /* Part 1: CPU-time timer, 1 ms. */
  printf("part 1: setitimer(ITIMER_VIRTUAL)\n");
  struct itimerval it = {{0, 1000}, {0, 1000}};
  CHECK_EQ(setitimer(ITIMER_VIRTUAL, &it, NULL), 0);
  churn(&r, slots, &id, RUN_SECONDS);
  struct itimerval off = {{0, 0}, {0, 0}};
  CHECK_EQ(setitimer(ITIMER_VIRTUAL, &off, NULL), 0);
  reap_all_with_timeout(20);
  printf("  %d forks from the handler, %u children reaped\n", (int)forks, reaped);
  int forks1 = forks;
  CHECK(forks1 > 0);

  /* Part 2: a sender process. */
  printf("part 2: SIGUSR1 from another process\n");
  pid_t parent = getpid();
  pid_t sender = fork();
  CHECK(sender >= 0);
  if (sender == 0) {
    double end = now_s() + RUN_SECONDS;
    while (now_s() < end && getppid() == parent) {
      kill(parent, SIGUSR1);
      struct timespec ts = {0, 700000};
      nanosleep(&ts, NULL);
    }
    _exit(0);
  }
  churn(&r, slots, &id, RUN_SECONDS + 0.5);
  /* The sender is reaped like the other children (it exits 0 too). */
  forks++;
  reap_all_with_timeout(20);
  printf("  %d forks from the handler, %u children reaped\n", (int)forks - 1 - forks1, reaped);
  CHECK(forks - 1 > forks1);
  CHECK_EQ(bad_children, 0);
  CHECK_EQ(fork_failures, 0);
  for (int i = 0; i < SLOTS; i++) tagged_free(slots[i]);
  printf("ok\n");
  return 0;
}
