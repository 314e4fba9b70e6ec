/* fork_loop.c - fork() from a multithreaded process that keeps allocating. Four threads hammer
 * malloc/free (and publish some blocks in a shared array) while the main thread forks 200 times.
 * At fork time the other threads may be anywhere inside malloc or free; in the child they have
 * vanished and their pages must be rescued. Each child:
 *   - verifies and frees the blocks the parent's main thread allocated before the fork, and the
 *     blocks the hammer threads had published (pages of threads that do not exist in the child);
 *   - mallocs/frees/reallocs in every size range (slab, medium, large, huge);
 *   - creates a thread that allocates (a heap must be available to it);
 *   - every 8th child forks again while its own thread is allocating (grandchild does the same
 *     work), then _exit(0).
 * The parent waits for each child with a timeout: a child that hangs (deadlock in the allocator
 * after fork) is killed and the test fails, as does a child that crashes or finds a corrupted block.
 * Children arm their own alarm() too, so a hang prints a WATCHDOG line from the child. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "stress.h"

enum { HAMMERS = 4, FORKS = 200, SHARED = 256, PREFORK = 48 };

static _Atomic(void*) shared[SHARED];
static atomic_bool stop_hammers;
/* Set by the parent while a child runs, so the child gets the CPUs (2 cores): the hammers are
 * running when fork() happens, which is what matters; the child's copy of them never runs. */
static atomic_bool pause_hammers;
static _Atomic uint64_t progress[HAMMERS]; /* operations per hammer */
static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t hammer_ops;

static uint64_t new_id(void) { return atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed); }

static size_t pick_size(rng_t* r) {
  if (rng_below(r, 2000) == 0) return 4 * MiB_ + rng_below(r, 4 * MiB_); /* huge */
  return rng_size(r, MiB_);
}

static void* hammer(void* arg) {
  unsigned index = (unsigned)(uintptr_t)arg;
  rng_t r = rng_make((uint64_t)(index + 1) * 7919);
  void* local[64] = {0};
  uint64_t ops = 0;
  while (!atomic_load_explicit(&stop_hammers, memory_order_relaxed)) {
    while (atomic_load_explicit(&pause_hammers, memory_order_relaxed) &&
           !atomic_load_explicit(&stop_hammers, memory_order_relaxed)) {
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
    }
    size_t k = rng_below(&r, 64);
    tagged_free(local[k]);
    local[k] = tagged_alloc(pick_size(&r), new_id());
    if (rng_below(&r, 8) == 0) { /* publish one, free what was published before */
      tagged_free(atomic_exchange(&shared[rng_below(&r, SHARED)], local[k]));
      local[k] = NULL;
    }
    if (rng_below(&r, 16) == 0) { /* realloc keeps the tagged prefix */
      size_t n = rng_size(&r, 64 * 1024);
      void* p = tagged_alloc(16 + rng_below(&r, 256), new_id());
      tag_t t = *(tag_t*)p;
      void* q = realloc(p, n);
      CHECK(q != NULL);
      CHECK_UEQ(((tag_t*)q)->id, t.id);
      free(q);
    }
    ops++;
    atomic_fetch_add_explicit(&progress[index], 1, memory_order_relaxed);
  }
  for (int i = 0; i < 64; i++) tagged_free(local[i]);
  hammer_ops += ops;
  return NULL;
}

/* Waits for pid at most timeout_s; on timeout kills it and returns -1. No allocation. */
static int wait_with_timeout(pid_t pid, double timeout_s, int* status) {
  double end = now_s() + timeout_s;
  for (;;) {
    pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid) return 0;
    if (w < 0 && errno != EINTR) return -2;
    if (now_s() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return -1;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

static const char* describe(int status, char* buf, size_t n) {
  if (WIFEXITED(status)) snprintf(buf, n, "exit code %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else snprintf(buf, n, "status 0x%x", status);
  return buf;
}

/* ---- child side ---- */
static atomic_bool child_stop;

static void* child_thread(void* arg) {
  rng_t r = rng_make((uint64_t)(uintptr_t)arg);
  void* local[32] = {0};
  long rounds = 0;
  do {
    for (int i = 0; i < 32; i++) {
      tagged_free(local[i]);
      local[i] = tagged_alloc(rng_size(&r, 256 * 1024), new_id());
    }
    rounds++;
  } while (!atomic_load(&child_stop) || rounds < 4);
  for (int i = 0; i < 32; i++) tagged_free(local[i]);
  return NULL;
}

static void child_work(rng_t* r, void** prefork, int nprefork) {
  /* Blocks of the thread that forked, then blocks of the vanished threads. */
  for (int i = 0; i < nprefork; i++) {
    tagged_free(prefork[i]);
    prefork[i] = NULL;
  }
  for (int i = 0; i < SHARED; i += 2) tagged_free(atomic_exchange(&shared[i], NULL));
  /* Every size range. */
  static const size_t sizes[] = {16, 24, 48, 100, 256, 1000, 4096, 10000, 32768, 40000, 100000,
                                 300000, 600000, 2000000, 4500000};
  void* v[sizeof sizes / sizeof sizes[0]];
  for (int rep = 0; rep < 1; rep++) {
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) v[i] = tagged_alloc(sizes[i], new_id());
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) tagged_free(v[i]);
  }
  for (int i = 0; i < 500; i++) tagged_free(tagged_alloc(rng_size(r, 64 * 1024), new_id()));
  void* p = tagged_alloc(32, new_id());
  tag_t t = *(tag_t*)p;
  for (size_t n = 64; n <= 5 * MiB_; n *= 4) {
    p = realloc(p, n);
    CHECK(p != NULL);
    CHECK_UEQ(((tag_t*)p)->id, t.id);
  }
  free(p);
}

static int child_main(unsigned iter, void** prefork, int nprefork, int depth) {
  alarm(15);
  rng_t r = rng_make(iter * 31 + (unsigned)depth);
  atomic_store(&child_stop, false);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, child_thread, (void*)(uintptr_t)(iter + 1)), 0);
  child_work(&r, prefork, nprefork);
  if (depth == 0 && iter % 8 == 0) {
    /* Fork again while our thread allocates. */
    void* mine[8];
    for (int i = 0; i < 8; i++) mine[i] = tagged_alloc(rng_size(&r, 100000), new_id());
    fflush(stdout);
    pid_t g = fork();
    CHECK(g >= 0);
    if (g == 0) _exit(child_main(iter + 1000000, mine, 8, 1));
    for (int i = 0; i < 8; i++) tagged_free(mine[i]);
    int st = 0;
    int w = wait_with_timeout(g, 10, &st);
    char buf[96];
    if (w != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "fork %u: grandchild %s\n", iter, w == -1 ? "HUNG (killed after 10 s)" : describe(st, buf, sizeof buf));
      return 4;
    }
  }
  atomic_store(&child_stop, true);
  CHECK_EQ(pthread_join(th, NULL), 0);
  return 0;
}

int main(void) {
  stress_init("stress_fork_loop", 100);
  pthread_t th[HAMMERS];
  for (unsigned i = 0; i < HAMMERS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, hammer, (void*)(uintptr_t)i), 0);
  rng_t r = rng_make(12345);
  double t0 = now_s(), slowest = 0;
  unsigned failures = 0;
  for (unsigned iter = 0; iter < FORKS; iter++) {
    /* Fork only once every hammer is busy allocating again. */
    uint64_t seen[HAMMERS];
    for (unsigned i = 0; i < HAMMERS; i++) seen[i] = atomic_load(&progress[i]);
    atomic_store(&pause_hammers, false);
    uint64_t extra = 16 + rng_below(&r, 256);
    for (unsigned i = 0; i < HAMMERS; i++)
      while (atomic_load(&progress[i]) < seen[i] + extra) sched_yield();
    void* prefork[PREFORK];
    for (int i = 0; i < PREFORK; i++) prefork[i] = tagged_alloc(pick_size(&r), new_id());
    double tf = now_s();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(child_main(iter, prefork, PREFORK, 0));
    atomic_store(&pause_hammers, true);
    int st = 0;
    int w = wait_with_timeout(pid, 20, &st);
    double dt = now_s() - tf;
    if (dt > slowest) slowest = dt;
    char buf[96];
    if (w == -1) {
      fprintf(stderr, "fork %u: child HUNG (no exit after 20 s, killed)\n", iter);
      failures++;
    } else if (w != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "fork %u: child failed: %s\n", iter, describe(st, buf, sizeof buf));
      failures++;
    }
    if (failures >= 3) break;
    for (int i = 0; i < PREFORK; i++) tagged_free(prefork[i]); /* the parent's copies are intact */
    if (iter % 50 == 49)
      printf("%u forks, %.2f s, slowest child %.3f s, RSS %.1f MiB\n", iter + 1, now_s() - t0, slowest,
             (double)rss_bytes() / MiB_);
  }
  atomic_store(&pause_hammers, false);
  atomic_store(&stop_hammers, true);
  for (unsigned i = 0; i < HAMMERS; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < SHARED; i++) tagged_free(atomic_exchange(&shared[i], NULL));
  printf("hammer threads did %llu operations\n", (unsigned long long)hammer_ops);
  CHECK_EQ(failures, 0);
  CHECK(hammer_ops > 0);
  printf("ok\n");
  return 0;
}
