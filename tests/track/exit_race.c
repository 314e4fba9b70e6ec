/* exit_race: a process that another thread than main ends with exit, as command-line tools do from
 * a worker's fatal-error path: its exit status and its final, scanned trace must be what they would
 * be if nothing else ran (check_exit_race.py). Modes:
 *   sleeping  a worker loses 55 bytes (lost_by_worker) and calls exit(4) while the main thread is in
 *             sleep(60): status 4. The exit's leak scan interrupts the sleep with its signal; let go,
 *             the main thread returned from main with 0, ended the process and cut the trace short.
 *   waiting   the same with the main thread in pause() and two more threads in select() and
 *             poll() with long timeouts: status 4
 *   together  four workers and the main thread call exit(3) at once, after a thread that has ended
 *             lost its 55 bytes: status 3, and a final trace with the scan (glibc's exit lets the second caller
 *             end the process while the first still writes it) */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "corpus.h"

enum { WORKERS = 4 };
static pthread_barrier_t all_there;

__attribute__((noinline)) static void lost_by_worker(void) {
  char* p = malloc(55);
  touch(p, 55);
}

static void* exits_with_4(void* arg) {
  (void)arg;
  lost_by_worker();
  usleep(20000); /* the others are in their waits by now */
  exit(4);
}

static void* in_select(void* arg) {
  (void)arg;
  struct timeval tv = {60, 0};
  select(0, NULL, NULL, NULL, &tv);
  return NULL;
}

static void* in_poll(void* arg) {
  (void)arg;
  poll(NULL, 0, 60000);
  return NULL;
}

static void* loses(void* arg) {
  (void)arg;
  lost_by_worker();
  return NULL;
}

static void* exits_together(void* arg) {
  (void)arg;
  pthread_barrier_wait(&all_there);
  exit(3);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  pthread_t t[WORKERS];
  if (strcmp(mode, "sleeping") == 0) {
    pthread_create(&t[0], NULL, exits_with_4, NULL);
    sleep(60);
    return 0;
  }
  if (strcmp(mode, "waiting") == 0) {
    pthread_create(&t[0], NULL, in_select, NULL);
    pthread_create(&t[1], NULL, in_poll, NULL);
    pthread_create(&t[2], NULL, exits_with_4, NULL);
    pause();
    return 0;
  }
  if (strcmp(mode, "together") == 0) {
    /* Lost by a thread that has ended: a waiting thread's stack would keep the stale address */
    pthread_create(&t[0], NULL, loses, NULL);
    pthread_join(t[0], NULL);
    pthread_barrier_init(&all_there, NULL, WORKERS + 1);
    for (int i = 0; i < WORKERS; i++) pthread_create(&t[i], NULL, exits_together, NULL);
    pthread_barrier_wait(&all_there);
    exit(3);
  }
  fprintf(stderr, "usage: exit_race sleeping|waiting|together\n");
  return 2;
}
