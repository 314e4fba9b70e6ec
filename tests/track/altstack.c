/* altstack: a signal handled on a malloc'd alternate stack, which the program then drops. The
 * handler allocates and frees: that walk goes through the signal frame, which libunwind unwinds
 * (the tracker's own walk gives up there), and libunwind remembers addresses on that stack. The
 * dropped stack is still lost. Expected: definite drop_altstack 1 32768 (LeakSanitizer: the same).
 * Nothing is left allocated on the alternate stack itself: LSan treats a block allocated where it
 * cannot unwind as a root (docs/design.md), ptmem does not. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

enum { ALT_SIZE = 32768 };

static void on_signal(int sig) {
  (void)sig;
  char* volatile p = malloc(100);
  p[0] = 1;
  free(p);
}

__attribute__((noinline)) void drop_altstack(void) {
  stack_t ss = {.ss_sp = malloc(ALT_SIZE), .ss_size = ALT_SIZE, .ss_flags = 0};
  touch(ss.ss_sp, ALT_SIZE);
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  stack_t off = {.ss_flags = SS_DISABLE};
  sigaltstack(&off, NULL);
  memset(&ss, 0, sizeof ss); /* the only copy of the stack's address is gone */
}

int main(void) {
  drop_altstack();
  clobber_stack();
  return 0;
}
