/* terminated: a process that a SIGTERM from outside ends while it runs, as servers and pool workers
 * are stopped: its leaks must be checked as it dies, as at exit (check_terminated.py). Modes:
 *   wait        a global keeps kept_by_global's 100 bytes; a thread keeps kept_by_thread's 200 bytes
 *               in a local only and waits; lost_list drops the head (40 bytes) of a list of 3 nodes
 *               (24 bytes each); the main thread waits in pause() and a thread that blocks SIGTERM
 *               sends it to the process: definite lost_list 1/40, indirect lost_list 3/72, and
 *               nothing of the kept blocks (terminated.expect)
 *   churn       two threads allocate, move (realloc), grow and free blocks for ever, each block
 *               and the child block it points to reachable from a global table all along; the main
 *               thread waits; prints "ready". The checker sends SIGTERM at a random moment, which
 *               the main thread takes: the churning threads are held anywhere, a realloc between
 *               its two tracking calls included. Nothing may come out leaked.
 *   churn_self  the same, but the main thread blocks SIGTERM: one of the churning threads takes it,
 *               often inside malloc, where the scan must not run; when it runs, nothing leaked.
 *   fork        a forked child loses 55 bytes (lost_in_child) and waits; the program sends it SIGTERM
 *               (as a pool ends its workers), prints "child killed 15" and returns 0, leaking nothing:
 *               the child's heap is the program's copy, and its leaks are not checked (as for _exit)
 *   fork_other  the same, but another child of the program sends the SIGTERM (as a daemon, whose
 *               parent has exited, is stopped by someone else): the killed child's leaks are its own
 *               and are checked (definite lost_in_child 1/55); prints "child killed 15"
 *   nested      the main thread moves a block that points to a child with realloc, for ever; a
 *               20 us timer's handler moves a block of its own with realloc too, and after a random
 *               number of ticks raises SIGTERM, often while the main thread's realloc is open:
 *               nothing leaked (the handler's realloc closed the main thread's window)
 *   malloc_loop prints "ready", then allocates and frees for ever in one thread: a SIGTERM lands inside
 *               malloc or free about one time in three, where the scan must wait until it is out
 *   longjmp     a 50 us profiling timer's handler leaves a realloc loop with siglongjmp for 0.5 s
 *               (often from inside a realloc, whose window then never closes), then the program
 *               raises SIGTERM once and waits: it must die of it (it was deferred for ever), else it
 *               prints "alive" and returns 3
 *   twosig      2 million blocks kept reachable and 3 idle threads, then "ready"; the checker sends
 *               SIGTERM and, while the scan runs, SIGHUP, which another thread takes: the process
 *               must still die of SIGTERM, with its trace */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

void* volatile kept_global;

__attribute__((noinline)) void* kept_by_global(void) {
  void* p = malloc(100);
  touch(p, 100);
  return p;
}

__attribute__((noinline)) void* kept_by_thread(void) {
  void* p = malloc(200);
  touch(p, 200);
  return p;
}

typedef struct node_s {
  struct node_s* next;
  char pad[16];
} node_t;

__attribute__((noinline)) void lost_list(void) {
  node_t* head = malloc(40);
  touch(head, 40);
  node_t* n = head;
  for (int i = 0; i < 3; i++) {
    n->next = malloc(sizeof(node_t));
    n = n->next;
    touch(n, sizeof(node_t));
  }
  n->next = NULL;
}

static void* keep_and_wait(void* arg) {
  (void)arg;
  void* volatile mine = kept_by_thread();
  for (;;) pause();
  return (void*)mine;
}

static void* idle(void* arg) {
  for (;;) pause();
  return arg;
}

static void* send_term(void* arg) {
  (void)arg;
  usleep(50 * 1000);
  kill(getpid(), SIGTERM);
  return NULL;
}

__attribute__((noinline)) void lost_in_child(void) {
  void* p = malloc(55);
  touch(p, 55);
}

static int kill_forked_child(bool by_sibling) {
  int ready[2];
  if (pipe(ready) != 0) return 2;
  pid_t child = fork();
  if (child == 0) {
    lost_in_child();
    clobber_stack(); /* the signal frame goes where its dead frame was, and leaves parts unwritten */
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(3);
    for (;;) pause();
  }
  char c;
  if (child < 0 || read(ready[0], &c, 1) != 1) return 2;
  int status;
  if (by_sibling) {
    pid_t sibling = fork();
    if (sibling == 0) _exit(kill(child, SIGTERM) == 0 ? 0 : 3);
    if (sibling < 0 || waitpid(sibling, &status, 0) != sibling || status != 0) return 2;
  } else {
    kill(child, SIGTERM);
  }
  if (waitpid(child, &status, 0) != child) return 2;
  printf("child killed %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  return 0;
}

typedef struct moved_s {
  char pad[1000];
  void* child;
} moved_t;
static moved_t* volatile moved;
static void* volatile handler_block;
static volatile long ticks, ticks_to_term;

static void on_tick(int sig) {
  (void)sig;
  handler_block = realloc(handler_block, (ticks & 1) ? 100 : 300);
  if (++ticks == ticks_to_term) raise(SIGTERM);
}

static int realloc_under_timer(void) {
  srand((unsigned)getpid());
  ticks_to_term = 200 + rand() % 2000;
  moved_t* m = calloc(1, 2048);
  m->child = malloc(48);
  touch(m->child, 48);
  moved = m;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  timer_t timer;
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR1;
  struct itimerspec every = {{0, 20000}, {0, 20000}};
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0 || timer_settime(timer, 0, &every, NULL) != 0) return 2;
  for (unsigned long i = 0;; i++) moved = realloc(moved, (i & 1) ? 2048 : 3000 + (i & 6) * 100);
}

static sigjmp_buf out_of_realloc;
static void jump_out(int sig) {
  (void)sig;
  siglongjmp(out_of_realloc, 1);
}

static int jump_out_of_realloc(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = jump_out;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval every = {{0, 50}, {0, 50}};
  setitimer(ITIMER_PROF, &every, NULL);
  static void* volatile p;
  static volatile unsigned long n;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  sigsetjmp(out_of_realloc, 1);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 500000000L) break;
    void* q = realloc(p, 64 + n++ % 20000);
    if (q) p = q;
  }
  struct itimerval off;
  memset(&off, 0, sizeof off);
  setitimer(ITIMER_PROF, &off, NULL);
  raise(SIGTERM);
  sleep(5);
  printf("alive\n");
  return 3;
}

enum { KEPT = 2000000 };
static void* volatile* kept_many;

enum { SLOTS = 256 };
typedef struct parent_s {
  void* child; /* 32 bytes, freed with its parent */
  char data[];
} parent_t;
static parent_t* volatile slots[2][SLOTS];

static void* churn(void* arg) {
  parent_t* volatile* mine = slots[(long)arg];
  unsigned seed = (unsigned)(long)arg * 7919u + 1;
  for (;;) {
    unsigned r = rand_r(&seed), k = r % SLOTS;
    size_t size = sizeof(parent_t) + 8 + (r >> 8) % 2000;
    parent_t* p = mine[k];
    if (!p) {
      p = malloc(size);
      touch(p, size);
      p->child = malloc(32);
      touch(p->child, 32);
      mine[k] = p;
    } else if ((r >> 20) % 3) {
      mine[k] = realloc(p, size); /* p and its new place have no record for a moment */
    } else {
      void* child = p->child;
      mine[k] = NULL;
      free(p);
      free(child);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "wait";
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_t t;
  if (strcmp(mode, "wait") == 0) {
    kept_global = kept_by_global();
    lost_list();
    clobber_stack(); /* no stale copy of the lost head below */
    pthread_sigmask(SIG_BLOCK, &term, &old); /* the threads block it: the main thread takes it */
    pthread_create(&t, NULL, keep_and_wait, NULL);
    pthread_create(&t, NULL, send_term, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  } else if (strcmp(mode, "churn") == 0 || strcmp(mode, "churn_self") == 0) {
    bool self = strcmp(mode, "churn_self") == 0;
    if (!self) pthread_sigmask(SIG_BLOCK, &term, &old);
    for (long i = 0; i < 2; i++) pthread_create(&t, NULL, churn, (void*)i);
    if (self) pthread_sigmask(SIG_BLOCK, &term, &old);
    else pthread_sigmask(SIG_SETMASK, &old, NULL);
    usleep(20 * 1000); /* the tables fill */
    printf("ready\n");
    fflush(stdout);
  } else if (strcmp(mode, "malloc_loop") == 0) {
    printf("ready\n");
    fflush(stdout);
    static void* volatile slots8[8];
    for (unsigned long i = 0;; i++) {
      free(slots8[i & 7]);
      slots8[i & 7] = malloc(16 + i % 2000);
    }
  } else if (strcmp(mode, "longjmp") == 0) {
    return jump_out_of_realloc();
  } else if (strcmp(mode, "nested") == 0) {
    return realloc_under_timer();
  } else if (strcmp(mode, "twosig") == 0) {
    kept_many = malloc(KEPT * sizeof(void*));
    for (int i = 0; i < KEPT; i++) kept_many[i] = malloc(16);
    for (int i = 0; i < 3; i++) pthread_create(&t, NULL, idle, NULL);
    printf("ready\n");
    fflush(stdout);
  } else if (strcmp(mode, "fork") == 0 || strcmp(mode, "fork_other") == 0) {
    return kill_forked_child(strcmp(mode, "fork_other") == 0);
  } else {
    fprintf(stderr, "terminated: unknown mode %s\n", mode);
    return 2;
  }
  for (;;) pause();
}
