/* peak_handoff: the heap grows in one thread, then in another while the first waits, and shrinks in
 * a third that frees what the first allocated. main alone allocates 6,144,000 bytes in small blocks
 * (grow_alone), then waits in pthread_join while a worker allocates 6,144,000 more (grow_in_worker)
 * and frees them: the peak is 12,288,000, half from each. Then another worker frees main's blocks
 * (free_elsewhere): the heap falls to nothing and never below. main makes no event while the
 * workers run, so a tracker that left main's own count out of the total the workers see halved the
 * peak and took the timeline 6 MB below zero. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

enum { BLOCKS = 61440, SIZE = 100 };
static void* alone[BLOCKS];

__attribute__((noinline)) void grow_alone(void) {
  for (int i = 0; i < BLOCKS; i++) alone[i] = malloc(SIZE);
}

__attribute__((noinline)) void* grow_in_worker(void* arg) {
  (void)arg;
  static void* mine[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) mine[i] = malloc(SIZE);
  for (int i = 0; i < BLOCKS; i++) free(mine[i]);
  return NULL;
}

/* Slowly, so that the timeline samples the heap as it shrinks (it samples at most once a millisecond). */
__attribute__((noinline)) void* free_elsewhere(void* arg) {
  (void)arg;
  for (int i = 0; i < BLOCKS; i++) {
    free(alone[i]);
    if (i % 2048 == 0) usleep(2000);
  }
  return NULL;
}

int main(void) {
  grow_alone();
  pthread_t t;
  pthread_create(&t, NULL, grow_in_worker, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, free_elsewhere, NULL);
  pthread_join(t, NULL);
  return 0;
}
