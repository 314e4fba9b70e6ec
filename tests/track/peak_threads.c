/* peak_threads: 4 threads each keep 50 blocks of 4096 bytes from thread_work, wait for each other
 * at a barrier (so all 200 are live at once: the peak), then free them. With threads the peak and
 * its shares are exact to within 32 KiB per thread (docs/trace-format.md). */
#include <pthread.h>
#include <stdlib.h>

#include "corpus.h"

enum { THREADS = 4, BLOCKS = 50, SIZE = 4096 };
static pthread_barrier_t all_allocated;

__attribute__((noinline)) void* thread_work(void* arg) {
  (void)arg;
  void* mine[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) mine[i] = malloc(SIZE);
  pthread_barrier_wait(&all_allocated);
  pthread_barrier_wait(&all_allocated); /* nobody frees before everyone has allocated */
  for (int i = 0; i < BLOCKS; i++) free(mine[i]);
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  pthread_barrier_init(&all_allocated, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, thread_work, NULL);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  return 0;
}
