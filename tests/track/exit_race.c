/* exit_race: a process that another thread than main ends with exit, as command-line tools do from
 * a worker's fatal-error path: its exit status and its final, scanned trace must be what they would
 * be if nothing else ran (check_exit_race.py). Modes:
 *   sleeping  a worker loses 55 bytes (lost_by_worker) and calls exit(4) while the main thread is in
 *             sleep(60): status 4. The exit's leak scan interrupts the sleep with its signal; let go,
 *             the main thread returned from main with 0, ended the process and cut the trace short.
 *   waiting   the same with the main thread in pause() and two more threads in select() and
 *             poll() with long timeouts: status 4
 *   stopped   as sleeping, but a child stops and continues the program first (SIGSTOP, SIGCONT):
 *             the sleep goes on in restart_syscall, which a handler's return cannot resume: status 4
 *   pool      a worker loses 55 bytes and calls exit(4) while a library's worker waits on a condition
 *             variable and a third thread loops in dl_iterate_phdr with a callback that sleeps: the
 *             library's destructor (after the scan) stops and joins its worker, and the trace's
 *             module list needs the loader's lock the sleeping callback holds: status 4, no hang
 *   together  four workers and the main thread call exit(3) at once, after a thread that has ended
 *             lost its 55 bytes: status 3, and a final trace with the scan (glibc's exit lets the second caller
 *             end the process while the first still writes it) */
#define _GNU_SOURCE
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
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

static void* exits_with_4(void* after_us) {
  lost_by_worker();
  usleep(after_us ? (useconds_t)(uintptr_t)after_us : 20000); /* the others are in their waits by now */
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

void exit_race_pool_start(void); /* exit_race_pool.c */

static int sleepy_visit(struct dl_phdr_info* info, size_t size, void* data) {
  (void)info, (void)size, (void)data;
  usleep(2000);
  return 0;
}

static void* in_phdr_callbacks(void* arg) {
  (void)arg;
  for (;;) dl_iterate_phdr(sleepy_visit, NULL);
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
  if (strcmp(mode, "stopped") == 0) {
    pid_t program = getpid();
    if (fork() == 0) { /* stops and continues the program, as a shell's ^Z and fg do */
      usleep(100000);
      kill(program, SIGSTOP);
      usleep(100000);
      kill(program, SIGCONT);
      _exit(0);
    }
    pthread_create(&t[0], NULL, exits_with_4, (void*)(uintptr_t)400000);
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
  if (strcmp(mode, "pool") == 0) {
    exit_race_pool_start();
    pthread_create(&t[0], NULL, in_phdr_callbacks, NULL);
    pthread_create(&t[1], NULL, exits_with_4, NULL);
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
  fprintf(stderr, "usage: exit_race sleeping|stopped|waiting|pool|together\n");
  return 2;
}
