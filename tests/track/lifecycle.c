/* lifecycle: the tracker around the edges of a process's life, one mode per argument, checked by
 * check_runtime.py (cases handler_snapshot, after_final, one_fd, fault_in_scan, fork_loader).
 *   handler_snapshot  for argv[2] seconds: a SIGALRM every 20 us whose handler allocates, while a
 *               timer sends SIGUSR1 (PTMEM_SNAPSHOT_SIGNAL) every argv[3] us and main allocates; prints
 *               "done" (a handler landing in the timeline's sampling, with a snapshot due, waited
 *               forever for the lock its own thread held)
 *   after_final a thread keeps allocating; main leaks 777 bytes from after_final_leak, fills a 1 MiB
 *               stdout buffer and exits: exit blocks flushing it into a pipe the checker reads
 *               late, after the final trace is written, while the thread's allocations go on
 *   one_fd      RLIMIT_NOFILE leaves one descriptor free; 4444 bytes kept by a global, 555 bytes
 *               leaked from one_fd_leak (the exit scan needs that descriptor for the process's
 *               mappings)
 *   fault_in_scan  a thread the exit scan cannot hold (it blocks every signal but SIGSEGV, and the
 *               process is not dumpable: run without CAP_SYS_PTRACE, no ptrace either) writes
 *               through a null pointer argv[2] us after the scan began (a million-block list
 *               makes it last): the process must die of SIGSEGV, as without ptmem
 *   fork_loader argv[2] children forked while a thread walks the loaded objects (dl_iterate_phdr,
 *               slowly): each child allocates from code the parent never ran, leaks 4321 bytes
 *               from fork_loader_leak and 1234 from a function without unwind tables
 *               (lifecycle_nofde.c: the walk gives up there, and libunwind took it) and exits (glibc's exit is safe there; not after a fork
 *               while a thread is in dlclose, which holds exit's own lock); a child that is
 *               not done in 10 s dies of SIGALRM, and no more are forked. Prints "done" if every child exited 0 (the
 *               loader's lock, held by a parent thread at the fork, is held for ever in the child:
 *               the tracker's own dl_iterate_phdr there waited for it) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"

static void touch(void* p, size_t n) { memset(p, 0x5a, n); }
static int fcntl_is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static void on_alarm(int sig) {
  (void)sig;
  void* volatile p = malloc(48);
  free(p);
}

static int handler_snapshot(double seconds, long snapshot_us) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 20}, {0, 20}};
  setitimer(ITIMER_REAL, &it, NULL);
  timer_t snapshots;
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
  if (timer_create(CLOCK_MONOTONIC, &ev, &snapshots) != 0) return 2;
  struct itimerspec every = {{0, snapshot_us * 1000}, {0, snapshot_us * 1000}};
  timer_settime(snapshots, 0, &every, NULL);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  static void* volatile keep[64];
  unsigned long round = 0;
  do {
    for (int i = 0; i < 64; i++) keep[i] = malloc(32 + (round + (unsigned long)i) % 512);
    for (int i = 0; i < 64; i++) free(keep[i]);
    round++;
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 < seconds);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  timer_delete(snapshots);
  printf("done\n");
  return 0;
}

void* volatile lifecycle_kept[1 << 16]; /* reachable: not leaks */

static void* allocate_forever(void* arg) {
  (void)arg;
  for (unsigned i = 0;; i++) {
    lifecycle_kept[i & ((1 << 16) - 1)] = malloc(4096);
    usleep(100);
  }
  return NULL;
}

__attribute__((noinline)) static void after_final_leak(void) {
  void* volatile p = malloc(777);
  touch(p, 777);
  p = NULL;
}

static void after_final(void) {
  pthread_t t;
  pthread_create(&t, NULL, allocate_forever, NULL);
  after_final_leak();
  usleep(200000);
  static char buf[1 << 20];
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  for (int i = 0; i < 1 << 19; i++) putchar('x');
  exit(0);
}

static void* volatile kept_by_global;

__attribute__((noinline)) static void one_fd_leak(void) {
  void* volatile p = malloc(555);
  touch(p, 555);
  p = NULL;
}

static int one_fd(void) {
  kept_by_global = malloc(4444);
  touch(kept_by_global, 4444);
  one_fd_leak();
  int highest = 0;
  for (int fd = 0; fd < 1024; fd++)
    if (fcntl_is_open(fd)) highest = fd;
  struct rlimit lim = {(rlim_t)highest + 2, (rlim_t)highest + 2};
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 2;
  printf("done\n");
  return 0;
}

struct node {
  struct node* next;
  char pad[24];
};
static struct node* volatile list_head;
static volatile int faulter_ready;
static long fault_delay_us;

static void* fault_once_scan_begins(void* arg) {
  (void)arg;
  sigset_t all_but_segv;
  sigfillset(&all_but_segv);
  sigdelset(&all_but_segv, SIGSEGV);
  pthread_sigmask(SIG_BLOCK, &all_but_segv, NULL);
  struct sigaction first, now;
  sigaction(SIGSEGV, NULL, &first);
  faulter_ready = 1;
  do sigaction(SIGSEGV, NULL, &now); /* the scan installs its own handler while it reads */
  while (now.sa_handler == first.sa_handler);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do clock_gettime(CLOCK_MONOTONIC, &t);
  while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < fault_delay_us);
  *(volatile int*)8 = 1; /* the thread's own bug */
  return NULL;
}

static void fault_in_scan(long delay_us) {
  fault_delay_us = delay_us;
  prctl(PR_SET_DUMPABLE, 0);
  for (int i = 0; i < 1000000; i++) {
    struct node* n = malloc(sizeof *n);
    n->next = list_head;
    list_head = n;
  }
  pthread_t t;
  pthread_create(&t, NULL, fault_once_scan_begins, NULL);
  while (!faulter_ready) {
  }
  exit(0);
}

static int slow_visit(struct dl_phdr_info* info, size_t size, void* arg) {
  (void)info, (void)size, (void)arg;
  usleep(20);
  return 0;
}

static void* walk_objects_forever(void* arg) {
  (void)arg;
  for (;;) dl_iterate_phdr(slow_visit, NULL);
  return NULL;
}

__attribute__((noinline)) static void fork_loader_leak(void) {
  void* volatile p = malloc(4321);
  touch(p, 4321);
  p = NULL;
}

static int fork_loader(int children) {
  pthread_t walker;
  pthread_create(&walker, NULL, walk_objects_forever, NULL);
  int failed = 0;
  for (int i = 0; i < children; i++) {
    usleep(1000);
    pid_t pid = fork();
    if (pid == 0) {
      alarm(10);
      fork_loader_leak();
      lifecycle_leak_without_unwind_tables(1234);
      exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d: status %d\n", i, status);
      failed++;
      break;
    }
  }
  if (failed) return 1;
  printf("done\n");
  fflush(stdout);
  _exit(0); /* the threads go on walking */
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "handler_snapshot") == 0)
    return handler_snapshot(argc > 2 ? atof(argv[2]) : 2.0, argc > 3 ? atol(argv[3]) : 300);
  if (strcmp(mode, "after_final") == 0) after_final();
  if (strcmp(mode, "one_fd") == 0) return one_fd();
  if (strcmp(mode, "fault_in_scan") == 0) fault_in_scan(argc > 2 ? atol(argv[2]) : 20000);
  if (strcmp(mode, "fork_loader") == 0) return fork_loader(argc > 2 ? atoi(argv[2]) : 40);
  fprintf(stderr, "usage: lifecycle handler_snapshot SECONDS [US] | after_final | one_fd | fault_in_scan [US] | "
                  "fork_loader [CHILDREN]\n");
  return 2;
}
