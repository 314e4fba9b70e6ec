/* registers: a thread keeps the only pointer to its block in a register (r12, callee-saved) and
 * spins while main returns, so the exit leak scan runs with that thread still running. Its stack
 * holds no copy (the dead frames that saw the pointer are wiped), so only reading the thread's
 * registers keeps the block reachable: LeakSanitizer does (ptrace), and so must ptmem.
 * `registers masked` (test track_masked): the thread blocks every signal, as servers do (one thread
 * sits in sigwait), so the signal that holds threads for the scan never reaches it; ptmem then
 * stops it with ptrace from a helper process. `registers vector` (test track_vector): the pointer is
 * in xmm8 instead, which the signal frame saves below the stack pointer (glibc's AVX-512 string
 * functions leave heap addresses in vector registers; LSan reads them). `registers masked_vector`
 * (test track_masked_vector): both, so ptrace must read the vector registers too.
 * Expected: reachable held_in_register 1 4000, and the contrast definite leak_in_main 1 300. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static volatile int holding;

__attribute__((noinline)) void* held_in_register(void) { return malloc(4000); }
__attribute__((noinline)) void leak_in_main(void) { touch(malloc(300), 300); }

static void* spin(void* mode) {
  if (mode && strstr(mode, "masked")) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
  }
#if defined(__x86_64__)
  void* p = held_in_register();
  touch(p, 4000);
  if (mode && strstr(mode, "vector")) {
    clobber_stack(); /* wipes the dead frames below, and every vector register: before, here */
    __asm__ volatile("movq %0, %%xmm8" : : "m"(p) : "xmm8"); /* from memory: no other register gets it */
    p = NULL;
  } else {
    __asm__ volatile("mov %0, %%r12" : : "r"(p) : "r12");
    p = NULL;
    clobber_stack(); /* keeps r12 (callee-saved), wipes the dead frames below */
  }
  holding = 1;
  __asm__ volatile("1: pause\n\tjmp 1b" : : : "memory"); /* r12 or xmm8 keeps the block until _exit */
#endif
  return NULL;
}

int main(int argc, char** argv) {
#if !defined(__x86_64__)
  (void)argc, (void)argv;
  puts("registers: x86-64 only");
  return 0;
#else
  pthread_t t;
  if (pthread_create(&t, NULL, spin, argc > 1 ? argv[1] : NULL) != 0) {
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
