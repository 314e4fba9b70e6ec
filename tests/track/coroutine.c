/* coroutine: a thread switches to a makecontext coroutine on a stack of its own (mmap'd) and never
 * comes back; the frames it switched away from are still live on its thread stack, and
 * keep_on_stack's block is reachable from them. By default main's coroutine calls exit(); with the
 * argument "thread", a second thread blocks for good inside its coroutine while main returns.
 * LeakSanitizer reads a thread stack whole when the thread's stack pointer is off it; ptmem took it
 * for a dead stack (a false definite leak). The frames sit below 64 KiB of the thread's stack: the
 * top of a thread stack, next to its static TLS, is read as TLS by both anyway.
 * Expected: definite lose_block 1 1803; reachable keep_on_stack 1 1801. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "corpus.h"

enum { CO_STACK = 256 * 1024 };
static ucontext_t from, co;
static volatile int in_coroutine;
static int exit_inside;

static void coroutine_body(void) {
  in_coroutine = 1;
  if (exit_inside) exit(0);
  for (;;) pause();
}

__attribute__((noinline)) void lose_block(void) {
  void* lost = malloc(1803);
  touch(lost, 1803);
  lost = NULL;
}

__attribute__((noinline)) void keep_on_stack(void) {
  void* volatile on_stack = malloc(1801);
  touch(on_stack, 1801);
  lose_block();
  void* stack = mmap(NULL, CO_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) abort();
  getcontext(&co);
  co.uc_stack.ss_sp = stack;
  co.uc_stack.ss_size = CO_STACK;
  co.uc_link = NULL;
  makecontext(&co, coroutine_body, 0);
  clobber_stack();
  swapcontext(&from, &co); /* never returns */
  (void)on_stack;
}

__attribute__((noinline)) static void deep(void) {
  volatile char below_tls[64 * 1024];
  below_tls[0] = 0;
  keep_on_stack();
  __asm__ volatile("" : : "r"(below_tls) : "memory");
}

static void* thread_main(void* arg) {
  (void)arg;
  deep();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "thread") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    while (!in_coroutine) usleep(1000);
    clobber_stack();
    return 0;
  }
  exit_inside = 1;
  deep();
  return 0;
}
