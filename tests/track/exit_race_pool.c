/* exit_race_pool: a shared library with a worker thread that its destructor stops and joins, as
 * thread pools and asynchronous loggers do. The program's libraries are finalized after
 * libptmem.so, so this runs after the exit's leak scan: a worker the scan's hold kept from
 * returning to its condition wait hung the exit here for ever. */
#include <pthread.h>
#include <stdbool.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stop, started;
static pthread_t worker;

static void* work(void* arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!stop) pthread_cond_wait(&wake, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

__attribute__((visibility("default"))) void exit_race_pool_start(void) {
  started = pthread_create(&worker, NULL, work, NULL) == 0;
}

__attribute__((destructor)) static void pool_end(void) {
  if (!started) return;
  pthread_mutex_lock(&lock);
  stop = true;
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  pthread_join(worker, NULL);
}
