/* threads: 3 threads each leak 512 bytes from their start routine thread_leak; all are joined
 * before exit. Expected: definite thread_leak 3 1536. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

__attribute__((noinline)) void* thread_leak(void* arg) {
  char* p = malloc(512);
  memset(p, (int)(size_t)arg, 512);
  p = NULL;
  /* A joined thread's stack stays mapped in glibc's stack cache: wipe the stale copies. */
  clobber_stack();
  return NULL;
}

int main(void) {
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    if (pthread_create(&t[i], NULL, thread_leak, (void*)(size_t)(i + 1)) != 0) {
      perror("pthread_create");
      return 1;
    }
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  clobber_stack();
  return 0;
}
