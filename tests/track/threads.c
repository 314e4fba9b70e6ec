/* threads: 3 threads each leak 512 bytes from their start routine thread_leak and are joined
 * before exit; glibc keeps their stacks, stale copies of the lost pointers and all, for later
 * threads. A fourth thread, still blocked in read() at exit, dropped the only pointer to its 256
 * bytes (thread_drop): a stale copy may remain below its stack pointer. Neither stack part is live,
 * so neither is a root: LeakSanitizer reads live threads only, from their stack pointers up.
 * Expected: definite thread_leak 3 1536, definite thread_drop 1 256. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"

static int never[2]; /* a pipe nobody writes to */
static volatile int dropped;

__attribute__((noinline)) void* thread_leak(void* arg) {
  char* p = malloc(512);
  memset(p, (int)(size_t)arg, 512);
  p = NULL;
  return NULL;
}

__attribute__((noinline)) void* thread_drop(void* arg) {
  (void)arg;
  char* p = malloc(256);
  memset(p, 7, 256);
  p = NULL;
  dropped = 1;
  char c;
  if (read(never[0], &c, 1) < 0) perror("read");
  return NULL;
}

int main(void) {
  pthread_t t[3], blocked;
  for (int i = 0; i < 3; i++)
    if (pthread_create(&t[i], NULL, thread_leak, (void*)(size_t)(i + 1)) != 0) {
      perror("pthread_create");
      return 1;
    }
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  if (pipe(never) != 0 || pthread_create(&blocked, NULL, thread_drop, NULL) != 0) {
    perror("pipe/pthread_create");
    return 1;
  }
  while (!dropped) usleep(1000);
  usleep(20000); /* into read() */
  clobber_stack();
  return 0;
}
