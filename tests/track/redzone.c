/* redzone: a documented difference from LeakSanitizer. A thread spins in a leaf function whose only
 * copy of a pointer is a local kept in the x86-64 red zone, the 128 bytes below the stack pointer
 * that a leaf function may use without moving it (gcc -O0 does). ptmem reads a held thread's stack
 * from its stack pointer less the red zone, and the block is reachable; LeakSanitizer reads from
 * the stack pointer and reports it as a definite leak. Not compared with LSan (LSan: definite
 * 1 / 2101 bytes). Expected: reachable make_block 1 2101. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "corpus.h"

static volatile int spinning;

__attribute__((noinline)) static void spin(void* p) {
  void* volatile local = p; /* [rbp-8] with rbp == rsp: in the red zone */
  /* The argument registers and the scratch ones still hold the pointer: clear them. */
  __asm__ volatile("xor %%edi, %%edi\n\txor %%eax, %%eax\n\txor %%esi, %%esi\n\txor %%edx, %%edx\n\t"
                   "xor %%ecx, %%ecx\n\txor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\t"
                   "xor %%r11d, %%r11d" ::: "rdi", "rax", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11");
  spinning = 1;
  for (;;) __asm__ volatile("" ::: "memory");
  (void)local;
}

__attribute__((noinline)) void* make_block(void) {
  void* p = malloc(2101);
  touch(p, 2101);
  return p;
}

static void* thread_main(void* arg) {
  (void)arg;
  spin(make_block());
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  while (!spinning) usleep(1000);
  clobber_stack();
  return 0;
}
