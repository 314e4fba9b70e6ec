/* exit_altstack: exit() called from a signal handler that runs on the thread's alternate signal
 * stack (a handler for SIGTERM or SIGINT installed with SA_ONSTACK, as by programs that guard
 * against stack overflow). The stack the handler interrupted is still live: keep_on_stack's block
 * is reachable from it. LeakSanitizer reads that stack whole (the thread's stack pointer is off
 * it); ptmem took it for a dead stack. With the argument "thread", a second thread does the same on
 * its own alternate stack while main waits in pthread_join with a block on its stack.
 * Expected: definite lose_block 1 1702; reachable keep_on_stack 1 1701 (and reachable main 1 1703
 * with "thread"). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static char altstack[2][65536] __attribute__((aligned(16)));

static void on_signal(int sig) {
  (void)sig;
  exit(0);
}

__attribute__((noinline)) void lose_block(void) {
  void* lost = malloc(1702);
  touch(lost, 1702);
  lost = NULL;
}

__attribute__((noinline)) void keep_on_stack(int which) {
  stack_t ss = {.ss_sp = altstack[which], .ss_size = sizeof altstack[which]};
  sigaltstack(&ss, NULL);
  void* volatile on_stack = malloc(1701);
  touch(on_stack, 1701);
  lose_block();
  clobber_stack();
  pthread_kill(pthread_self(), SIGUSR1); /* the handler runs on the alternate stack and calls exit */
  (void)on_stack;
}

static void* thread_main(void* arg) {
  /* Deeper than the thread's static TLS, which lies right above its first frames: both checkers
   * read that as TLS anyway. */
  volatile char below_tls[64 * 1024];
  below_tls[0] = 0;
  (void)arg;
  keep_on_stack(1);
  __asm__ volatile("" : : "r"(below_tls) : "memory");
  return NULL;
}

int main(int argc, char** argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  if (argc > 1 && strcmp(argv[1], "thread") == 0) {
    void* volatile on_main_stack = malloc(1703);
    touch(on_main_stack, 1703);
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    clobber_stack();
    pthread_join(t, NULL);
    (void)on_main_stack;
    return 0;
  }
  keep_on_stack(0);
  return 0;
}
