/* corpus.h - shared helpers of the leak corpus (the .c and .cpp files of tests/track). Every program is built -O0 -g
 * -fno-builtin -fno-omit-frame-pointer so each allocation really happens, from the named function. */
#ifndef PTMEM_TESTS_TRACK_CORPUS_H
#define PTMEM_TESTS_TRACK_CORPUS_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A leak checker scans the live part of the exiting thread's stack, and the frames of exit() and
 * the destructors reuse the memory of the dead frames of functions that returned long ago: a stale
 * copy of a "lost" pointer left there (a local at -O0, a spill inside malloc) would make the leak
 * look reachable, differently under ptmem and LSan. Zeroing a deep slice of dead stack after the
 * leaking calls makes the expected results exact. Both checkers see the same cleaned stack. */
static __attribute__((noinline, unused)) void clobber_stack(void) {
  volatile char buf[64 * 1024];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = 0;
#if defined(__x86_64__)
  /* Caller-saved registers survive calls that do not use them: memset's end-of-block pointers
   * (rcx, rsi, r8...) stayed in registers past this function, and exit()'s path spilled them into
   * live frames above the checker's stack pointer (seen in the fork child: a pointer 265 bytes into
   * the leaked block made it "reachable"). Zero them, vector registers included. */
  __asm__ volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\txor %%esi, %%esi\n\txor %%edi, %%edi\n\t"
                   "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
                   ::: "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
  if (__builtin_cpu_supports("avx")) {
    __asm__ volatile("vzeroall" ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                     "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  } else {
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                     "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                     "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7"
                     ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
  }
#endif
}

/* Writes the block like a program using it would (and keeps -Werror's set-but-unused quiet). */
static __attribute__((noinline, unused)) void touch(void* p, size_t n) {
  for (size_t i = 0; i < n; i++) ((volatile char*)p)[i] = (char)i;
}

#ifdef __cplusplus
}
#endif
#endif
