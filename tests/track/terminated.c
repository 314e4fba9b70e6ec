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
 *               and are checked (definite lost_in_child 1/55); prints "child killed 15" */
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
  } else if (strcmp(mode, "fork") == 0 || strcmp(mode, "fork_other") == 0) {
    return kill_forked_child(strcmp(mode, "fork_other") == 0);
  } else {
    fprintf(stderr, "terminated: unknown mode %s\n", mode);
    return 2;
  }
  for (;;) pause();
}
