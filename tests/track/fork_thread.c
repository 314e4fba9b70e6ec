/* fork_thread: a thread other than main forks while main waits in pthread_join with a block on its
 * stack (keep_on_main_stack's). In the parent that block is reachable. The child is a process of
 * one thread, the forking one, whose thread id is the child's pid all the same: main's stack
 * ("[stack]") is a dead copy there, which neither checker reads, so in the child the block is a
 * definite leak, with leak_in_child's. Expected: [main] reachable keep_on_main_stack 1 2002;
 * [child] definite leak_in_child 1 2001, definite keep_on_main_stack 1 2002. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corpus.h"

__attribute__((noinline)) void leak_in_child(void) {
  void* p = malloc(2001);
  touch(p, 2001);
  p = NULL;
}

static void* forker(void* arg) {
  (void)arg;
  fflush(NULL); /* nothing buffered may be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(1);
  }
  if (pid == 0) {
    leak_in_child();
    clobber_stack();
    exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) exit(1);
  return NULL;
}

__attribute__((noinline)) void* keep_on_main_stack(void) {
  void* p = malloc(2002);
  touch(p, 2002);
  return p;
}

int main(void) {
  void* volatile on_main_stack = keep_on_main_stack();
  pthread_t t;
  pthread_create(&t, NULL, forker, NULL);
  clobber_stack();
  pthread_join(t, NULL);
  clobber_stack();
  (void)on_main_stack;
  exit(0); /* not return: main's frame, and the block on it, stays live */
}
