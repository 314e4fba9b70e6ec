/* masked: registers.c with a thread that blocks every signal (servers block them all and let one
 * thread sigwait), so the signal that holds threads for the exit scan never reaches it. Its only
 * pointer to its block is in r12 while it spins, and its stack holds no copy: only its registers
 * keep the block reachable. LeakSanitizer reads them with ptrace; ptmem too, from a helper process.
 * Expected: reachable held_in_register 1 4000, and the contrast definite leak_in_main 1 300. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "corpus.h"

static volatile int holding;

__attribute__((noinline)) void* held_in_register(void) { return malloc(4000); }
__attribute__((noinline)) void leak_in_main(void) { touch(malloc(300), 300); }

static void* spin(void* arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
#if defined(__x86_64__)
  void* p = held_in_register();
  touch(p, 4000);
  __asm__ volatile("mov %0, %%r12" : : "r"(p) : "r12");
  p = NULL;
  clobber_stack(); /* keeps r12 (callee-saved), wipes the dead frames below */
  holding = 1;
  __asm__ volatile("1: pause\n\tjmp 1b" : : : "memory"); /* r12 keeps the block until _exit */
#endif
  return NULL;
}

int main(void) {
#if !defined(__x86_64__)
  puts("registers: x86-64 only");
  return 0;
#else
  pthread_t t;
  if (pthread_create(&t, NULL, spin, NULL) != 0) {
    perror("pthread_create");
    return 1;
  }
  while (!holding) {
  }
  leak_in_main();
  clobber_stack();
  return 0; /* the spinning thread is still running: exit() scans with it */
#endif
}
