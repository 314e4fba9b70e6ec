/* exit_frames: the program drops its last pointer to an array just before exit() and does not wipe
 * its stack, as real programs do not. The frames of exit() and of the C library's exit machinery
 * are laid over the dead frames of its last calls (realloc, setenv, localtime, pthread_create), and
 * their padding and unset locals held a stale pointer into the array: it came out reachable. The
 * live stack of the exiting thread starts at exit's caller. A second thread is still running.
 * Expected: definite main 1 800 (LSan agrees). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

static __thread void* tls_block;
static volatile int ready;

static void* worker(void* arg) {
  (void)arg;
  tls_block = malloc(123); /* reachable: the thread and its TLS are alive at exit */
  touch(tls_block, 123);
  ready = 1;
  for (;;) pause();
  return NULL;
}

int main(void) {
  void** grow = NULL; /* grown here, not in a function: its callees' frames are what exit's overlay */
  for (int i = 0; i < 100; i++) {
    grow = realloc(grow, (size_t)(i + 1) * sizeof *grow);
    grow[i] = malloc(8);
  }
  for (int i = 0; i < 100; i++) free(grow[i]);
  grow = NULL;
  setenv("PTMEM_PROBE", "value", 1);
  time_t t = time(NULL);
  localtime(&t);
  pthread_t th;
  if (pthread_create(&th, NULL, worker, NULL) != 0) return 1;
  while (!ready) usleep(1000);
  exit(0);
}
