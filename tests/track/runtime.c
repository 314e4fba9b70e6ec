/* runtime: the tracker's run-time behaviour, one mode per argument, checked by check_runtime.py.
 *   snapshot    ptmem_snapshot(argv[2]) from inside the program, then one to a 1299-byte path (too
 *               long: ENAMETOOLONG), then more work, then exit
 *   signal      raise(PTMEM_SNAPSHOT_SIGNAL's signal), then allocate (the snapshot is written then)
 *   long        allocate and free for argv[2] seconds (killed with SIGKILL by the checker)
 *   sample      100000 allocations of 1000 bytes from sampled_site, all freed
 *   plain       a few allocations, for the unwritable-trace case
 *   busy_exit   exit while another thread keeps allocating and freeing (huge blocks included):
 *               the exit-time scan must not crash on memory that vanishes under it
 *   chdir       chdir(argv[2]) before exit, as daemons do (chdir("/"))
 *   exec        leak 1000 blocks from before_exec, then exec this program in plain mode
 *   exec_snapshot  leak 1000 blocks from before_exec, write a snapshot to the PTMEM_OUT path, then
 *               an exec that fails (execvp of a missing program; prints "exec failed: ENOENT"); then
 *               argv[2] "exec": execle /bin/sh, printing $PTMEM_EXEC_ARG ("via execle") from the
 *               environment given; "exit": return
 *   crash       1000 allocations from before_crash, then a write through a null pointer (SIGSEGV)
 *   abort       the same, then abort() (SIGABRT)
 *   term        the same, then SIGTERM sent to itself (kill's default signal)
 *   own_handler the program's own SIGSEGV handler (prints "own handler", _exit(3)), then a crash
 *   pipe, hup, alarm, quit  the same 1000 allocations, then a write to a pipe whose reader is gone
 *               (SIGPIPE), SIGHUP or SIGQUIT sent to itself, or alarm(1) and a wait (SIGALRM)
 *   restored_pipe  as pipe, after putting back with signal() the SIGPIPE handler signal() returned
 *               (`old = signal(SIGPIPE, SIG_IGN); signal(SIGPIPE, old)`, as git's sigchain does): it
 *               must still die of SIGPIPE
 *   chained_pipe  the program's own SIGPIPE handler calls the handler it found, as the JVM's does,
 *               and three writes to a pipe whose reader is gone fail with EPIPE; prints
 *               "chained 3 EPIPE 3"
 *   chained_segv  1000 allocations, then the program's own SIGSEGV handler, which calls the handler it
 *               found (as the JVM's does for a crash in native code) or, finding the default, puts it
 *               back, and a write through a null pointer: it must die of SIGSEGV (ptmem's handler,
 *               called by it, did nothing: the fault came back into both for ever); a sixth call
 *               of the program's handler ends the process with status 99
 *   vfork_term  1000 allocations, then a vfork child as Python's subprocess makes one (every signal
 *               blocked; the handlers not SIG_DFL or SIG_IGN put back to the default; the mask
 *               restored; exec), which a SIGTERM reaches before its mask is restored: it dies of
 *               it, ptmem's handler writing nothing from its parent's memory; prints "child signal
 *               15" and returns 0 (the parent's trace must not name the signal)
 *   next_sigaction  run with sigaction_next.so preloaded after libptmem (a wrapper of sigaction and
 *               signal, as the JVM's libjsig): two sigaction and two signal calls, one of each asking
 *               for SIGTERM's default; prints "next 4 default" (the calls that reached it, and what
 *               SIGTERM's action reads as)
 *   exit_call   a forked child allocates and ends in _exit(3), a vfork child in _exit(4); then the
 *               program ends in argv[2]: "_exit" (status 6), "_Exit" (7) or "quick_exit" (8)
 *   fork_while_writing  a thread's snapshot to the FIFO argv[2] blocks (no reader yet) while the
 *               program forks; the child must still write its own trace and exit; then the
 *               program reads the FIFO, which lets the snapshot finish
 *   main_exit   main ends with pthread_exit while a thread keeps 4444 bytes in a global, leaks 123
 *               from main_exit_leak and returns: the last thread's exit(0) runs the scan, with
 *               main a zombie thread (/proc/self is then empty: maps, exe, cmdline)
 *   exit_while_writing  a thread's snapshot to the FIFO argv[2] blocks for good (nobody reads it)
 *               while main returns: the exit must not wait for it forever
 *   deep        leak 99 bytes from the bottom of a recursion 40 calls deep (deep_leak)
 *   sparse      a 1 GiB block kept by a global, written only in its first page and at 700 MiB,
 *               where it holds the only pointer to a 777-byte block; 555 bytes leak
 *               (the exit scan must find the 777 bytes reachable without reading the untouched
 *               gigabyte: reading it would fault every page in)
 *   spike       1 MiB live for 0.2 s of small allocations, 8 MiB more for 5 ms, then 0.2 s more;
 *               prints how long all 8 MiB were live, in microseconds
 *   stderr      "before" on stderr, a snapshot to argv[2] (if given), "after" on stderr
 *   low_memory  lowers RLIMIT_AS below the process's size (no new mapping can be made), then 100
 *               allocations from low_memory_site, freed; prints "limited" once the limit is set
 *   fork_unwritable  a snapshot to the PTMEM_OUT path (unwritable: the parent warns), then a fork
 *               whose child exits (its own trace fails as well: it must warn too); prints both pids
 *   fsize       run under an RLIMIT_FSIZE smaller than a trace, with a SIGXFSZ handler of its own:
 *               writes past the limit to argv[2] itself (its handler runs), snapshots (which must
 *               fail without reaching its handler), then again with SIGXFSZ blocked and its own
 *               signal pending (which must stay pending), then exits with SIGXFSZ's default action
 *               (the final trace fails too: the process must still exit 0) */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void before_exec(void) {
  for (int i = 0; i < 1000; i++) touch(malloc(48), 48);
}

__attribute__((noinline)) void before_crash(void) {
  for (int i = 0; i < 1000; i++) touch(malloc(64), 64);
}

static struct sigaction found_pipe_action;
static volatile sig_atomic_t chained;

static void chaining_pipe_handler(int sig, siginfo_t* info, void* context) {
  chained++;
  if (found_pipe_action.sa_flags & SA_SIGINFO) found_pipe_action.sa_sigaction(sig, info, context);
  else if (found_pipe_action.sa_handler != SIG_DFL && found_pipe_action.sa_handler != SIG_IGN)
    found_pipe_action.sa_handler(sig);
}

static void chaining_noop_handler(int sig) { (void)sig; }

static struct sigaction found_segv_action;
static volatile sig_atomic_t segv_calls;

static void chaining_segv_handler(int sig, siginfo_t* info, void* context) {
  if (++segv_calls > 5) _exit(99);
  if (found_segv_action.sa_flags & SA_SIGINFO) found_segv_action.sa_sigaction(sig, info, context);
  else if (found_segv_action.sa_handler != SIG_DFL && found_segv_action.sa_handler != SIG_IGN)
    found_segv_action.sa_handler(sig);
  else signal(sig, SIG_DFL); /* the default: the fault, again, ends the process */
}

static int write_to_widowed_pipe(int times) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  close(fds[0]);
  int epipe = 0;
  for (int i = 0; i < times; i++)
    if (write(fds[1], "x", 1) < 0 && errno == EPIPE) epipe++;
  close(fds[1]);
  return epipe;
}

static void own_segv_handler(int sig) {
  (void)sig;
  static const char msg[] = "own handler\n";
  if (write(1, msg, sizeof msg - 1) < 0) _exit(4);
  _exit(3);
}

__attribute__((noinline)) void sampled_site(void) {
  for (int i = 0; i < 100000; i++) {
    char* volatile p = malloc(1000);
    p[0] = 1;
    free(p);
  }
}

static void churn_for(double seconds) {
  double end = now_s() + seconds;
  while (now_s() < end) {
    char* volatile p = malloc(64);
    p[0] = 1;
    free(p);
  }
}

__attribute__((noinline)) void deep_leak(int depth) {
  if (depth > 0) {
    deep_leak(depth - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call: every level keeps its frame */
    return;
  }
  touch(malloc(99), 99);
}

enum { SPIKE_BLOCKS = 64, SPIKE_BLOCK = 128 << 10, BASE_BLOCKS = 1024 };

__attribute__((noinline)) static double spike(void) {
  static void* big[SPIKE_BLOCKS];
  for (int i = 0; i < SPIKE_BLOCKS; i++) touch(big[i] = malloc(SPIKE_BLOCK), SPIKE_BLOCK);
  double t0 = now_s(); /* all 8 MiB live from here */
  churn_for(0.005);
  for (int i = 0; i < SPIKE_BLOCKS; i++) free(big[i]);
  return now_s() - t0;
}

__attribute__((noinline)) void low_memory_site(void) {
  for (int i = 0; i < 100; i++) {
    char* volatile p = malloc(200);
    if (p) p[0] = 1;
    free(p);
  }
}

/* Half the address space the process has now: every new mapping is refused from here on. */
static bool limit_address_space(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  bool read = f && fscanf(f, "%lu", &pages) == 1;
  if (f) fclose(f);
  struct rlimit lim;
  if (!read || getrlimit(RLIMIT_AS, &lim) != 0) return false;
  lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) / 2;
  return setrlimit(RLIMIT_AS, &lim) == 0;
}

static void* snapshot_to(void* path) {
  int (*snapshot)(const char*) = (int (*)(const char*))dlsym(RTLD_DEFAULT, "ptmem_snapshot");
  return (void*)(intptr_t)(snapshot ? snapshot(path) : -1);
}

__attribute__((noinline)) void main_exit_leak(void) { touch(malloc(123), 123); }
void* sparse_kept;

/* Leaves the block whose address is in sparse_kept sparse: pages never written stay unmapped. */
static void sparse(void) {
  const size_t size = (size_t)1 << 30, far = (size_t)700 << 20;
  char* big = malloc(size);
  if (!big) exit(9);
  big[0] = 1;
  void* only_from_far = malloc(777);
  touch(only_from_far, 777);
  memcpy(big + far, &only_from_far, sizeof only_from_far);
  only_from_far = NULL;
  sparse_kept = big;
  touch(malloc(555), 555);
  clobber_stack();
}

void* main_exit_kept; /* a global: reachable, which takes the process's mappings being read */

static void* leak_then_return(void* arg) {
  (void)arg;
  struct timespec nap = {0, 50 * 1000000L}; /* main has called pthread_exit by then */
  nanosleep(&nap, NULL);
  main_exit_kept = malloc(4444);
  touch(main_exit_kept, 4444);
  main_exit_leak();
  clobber_stack();
  return NULL;
}

static volatile sig_atomic_t xfsz_caught;
static void count_xfsz(int sig) {
  (void)sig;
  xfsz_caught++;
}

/* Writes to fd until the file size limit stops it: true if it did, with EFBIG. */
static bool write_past_limit(int fd) {
  static char block[1024];
  for (int i = 0; i < 1 << 16; i++)
    if (write(fd, block, sizeof block) < 0) return errno == EFBIG;
  return false;
}

static bool xfsz_pending(void) {
  sigset_t pending;
  return sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ);
}

static int fsize(const char* own_file) {
  int (*snapshot)(const char*) = (int (*)(const char*))dlsym(RTLD_DEFAULT, "ptmem_snapshot");
  int fd = open(own_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!snapshot || fd < 0) return 2;
  signal(SIGXFSZ, count_xfsz);
  bool stopped = write_past_limit(fd);
  printf("own write stopped %d, handler ran %d\n", stopped, (int)xfsz_caught);
  int r = snapshot(NULL);
  struct sigaction now;
  sigaction(SIGXFSZ, NULL, &now);
  printf("snapshot %s, handler ran %d, handler kept %d\n", r == EIO ? "EIO" : r ? "failed" : "written", (int)xfsz_caught,
         now.sa_handler == count_xfsz);
  sigset_t xfsz;
  sigemptyset(&xfsz);
  sigaddset(&xfsz, SIGXFSZ);
  sigprocmask(SIG_BLOCK, &xfsz, NULL);
  stopped = write_past_limit(fd);
  r = snapshot(NULL);
  printf("blocked: own write stopped %d, snapshot %s, own signal pending %d\n", stopped, r == EIO ? "EIO" : r ? "failed" : "written",
         xfsz_pending());
  sigprocmask(SIG_UNBLOCK, &xfsz, NULL);
  printf("unblocked: handler ran %d\n", (int)xfsz_caught);
  close(fd);
  signal(SIGXFSZ, SIG_DFL); /* the final trace's write must not kill the process either */
  return 0;
}

static void* churn_forever(void* arg) {
  (void)arg;
  for (unsigned i = 0;; i++) {
    char* volatile p = malloc(i % 4 == 0 ? 8u << 20 : 100 + i % 5000);
    p[0] = 1;
    free(p);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "plain";
  void* keep = malloc(4321);
  touch(keep, 4321);
  if (strcmp(mode, "snapshot") == 0) {
    int (*snapshot)(const char*) = (int (*)(const char*))dlsym(RTLD_DEFAULT, "ptmem_snapshot");
    if (!snapshot) return 2;
    int r = snapshot(argv[2]);
    printf("snapshot: %d\n", r);
    static char too_long[1300]; /* ptmem keeps paths up to 1199 bytes */
    memset(too_long, 'a', sizeof too_long - 1);
    printf("too long: %s\n", snapshot(too_long) == ENAMETOOLONG ? "ENAMETOOLONG" : "written somewhere");
    for (int i = 0; i < 1000; i++) free(malloc(100));
  } else if (strcmp(mode, "signal") == 0) {
    raise(SIGUSR1);
    for (int i = 0; i < 10; i++) free(malloc(100));
    printf("signalled\n");
  } else if (strcmp(mode, "long") == 0) {
    double end = now_s() + atof(argv[2]);
    while (now_s() < end) free(malloc(128));
  } else if (strcmp(mode, "busy_exit") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, churn_forever, NULL);
    struct timespec nap = {0, 50 * 1000000L};
    nanosleep(&nap, NULL);
  } else if (strcmp(mode, "sample") == 0) {
    sampled_site();
  } else if (strcmp(mode, "exec") == 0) {
    before_exec();
    fflush(NULL);
    execl("/proc/self/exe", argv[0], "plain", (char*)NULL);
    return 4;
  } else if (strcmp(mode, "exec_snapshot") == 0) {
    before_exec();
    int (*snapshot)(const char*) = (int (*)(const char*))dlsym(RTLD_DEFAULT, "ptmem_snapshot");
    if (!snapshot || snapshot(NULL) != 0) return 2;
    fflush(NULL);
    char* missing[] = {"ptmem-no-such-program", NULL};
    errno = 0;
    execvp(missing[0], missing);
    printf("exec failed: %s\n", errno == ENOENT ? "ENOENT" : strerror(errno));
    if (strcmp(argv[2], "exec") == 0) {
      extern char** environ;
      size_t n = 0;
      while (environ[n]) n++;
      char** env = calloc(n + 2, sizeof *env);
      memcpy(env, environ, n * sizeof *env);
      env[n] = "PTMEM_EXEC_ARG=via execle";
      fflush(NULL);
      execle("/bin/sh", "sh", "-c", "echo \"$PTMEM_EXEC_ARG\"", (char*)NULL, env);
      return 4;
    }
  } else if (strcmp(mode, "crash") == 0 || strcmp(mode, "abort") == 0 || strcmp(mode, "term") == 0 ||
             strcmp(mode, "own_handler") == 0) {
    if (strcmp(mode, "own_handler") == 0) signal(SIGSEGV, own_segv_handler);
    before_crash();
    if (strcmp(mode, "abort") == 0) abort();
    if (strcmp(mode, "term") == 0) kill(getpid(), SIGTERM);
    *(volatile int*)(uintptr_t)atoi("0") = 1; /* not foldable into a trap by the compiler */
    return 5;
  } else if (strcmp(mode, "pipe") == 0 || strcmp(mode, "hup") == 0 || strcmp(mode, "alarm") == 0 ||
             strcmp(mode, "quit") == 0 || strcmp(mode, "restored_pipe") == 0) {
    if (strcmp(mode, "restored_pipe") == 0) {
      void (*found)(int) = signal(SIGPIPE, SIG_IGN);
      signal(SIGPIPE, found);
    }
    before_crash();
    if (strcmp(mode, "pipe") == 0 || strcmp(mode, "restored_pipe") == 0) write_to_widowed_pipe(1);
    if (strcmp(mode, "hup") == 0) kill(getpid(), SIGHUP);
    if (strcmp(mode, "quit") == 0) kill(getpid(), SIGQUIT);
    if (strcmp(mode, "alarm") == 0) {
      alarm(1);
      for (;;) pause();
    }
    return 5;
  } else if (strcmp(mode, "next_sigaction") == 0) {
    struct sigaction sa, now;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = chaining_noop_handler;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, chaining_noop_handler);
    signal(SIGTERM, SIG_DFL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, &now);
    int* calls = dlsym(RTLD_DEFAULT, "track_sigaction_next_calls");
    printf("next %d %s\n", calls ? *calls : -1, now.sa_handler == SIG_DFL && !(now.sa_flags & SA_SIGINFO) ? "default" : "handler");
    return 0;
  } else if (strcmp(mode, "vfork_term") == 0) {
    before_crash();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t child = vfork();
    if (child == 0) {
      for (int sig = 1; sig < NSIG; sig++) { /* _posixsubprocess's reset_signal_handlers */
        struct sigaction sa, dfl;
        memset(&dfl, 0, sizeof dfl);
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0) continue;
        void* h = (sa.sa_flags & SA_SIGINFO) ? (void*)(uintptr_t)sa.sa_sigaction : (void*)(uintptr_t)sa.sa_handler;
        if (h != (void*)(uintptr_t)SIG_DFL && h != (void*)(uintptr_t)SIG_IGN) sigaction(sig, &dfl, NULL);
      }
      raise(SIGTERM); /* pending until the mask is restored */
      pthread_sigmask(SIG_SETMASK, &old, NULL);
      execl("/bin/true", "true", (char*)NULL);
      _exit(127);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int status;
    waitpid(child, &status, 0);
    printf("child %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return 0;
  } else if (strcmp(mode, "chained_segv") == 0) {
    before_crash();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = chaining_segv_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &found_segv_action);
    *(volatile int*)(uintptr_t)atoi("0") = 1;
    return 5;
  } else if (strcmp(mode, "chained_pipe") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = chaining_pipe_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGPIPE, &sa, &found_pipe_action);
    int epipe = write_to_widowed_pipe(3);
    printf("chained %d EPIPE %d\n", (int)chained, epipe);
    return 0;
  } else if (strcmp(mode, "exit_call") == 0) {
    pid_t child = fork();
    if (child == 0) {
      before_exec(); /* 1000 blocks, left to the end */
      _exit(3);
    }
    int status;
    waitpid(child, &status, 0);
    pid_t vchild = vfork();
    if (vchild == 0) _exit(4);
    waitpid(vchild, &status, 0);
    printf("children done\n");
    fflush(stdout);
    if (strcmp(argv[2], "quick_exit") == 0) quick_exit(8);
    if (strcmp(argv[2], "_Exit") == 0) _Exit(7);
    _exit(6);
  } else if (strcmp(mode, "fork_while_writing") == 0) {
    pthread_t writer;
    pthread_create(&writer, NULL, snapshot_to, argv[2]);
    struct timespec nap = {0, 200 * 1000000L}; /* the writer is in open(), waiting for a reader */
    nanosleep(&nap, NULL);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
      for (int i = 0; i < 10; i++) touch(malloc(100), 100);
      exit(0); /* the final trace: with the writer's flag inherited set, it waited forever */
    }
    int status;
    waitpid(child, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    FILE* f = fopen(argv[2], "r"); /* the snapshot can go on now */
    char buf[4096];
    while (f && fread(buf, 1, sizeof buf, f) > 0) {
    }
    if (f) fclose(f);
    void* r;
    pthread_join(writer, &r);
    printf("snapshot %d\n", (int)(intptr_t)r);
  } else if (strcmp(mode, "main_exit") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, leak_then_return, NULL);
    free(keep);
    printf("done\n");
    fflush(stdout);
    pthread_exit(NULL);
  } else if (strcmp(mode, "exit_while_writing") == 0) {
    pthread_t writer;
    pthread_create(&writer, NULL, snapshot_to, argv[2]);
    struct timespec nap = {0, 200 * 1000000L};
    nanosleep(&nap, NULL);
  } else if (strcmp(mode, "deep") == 0) {
    deep_leak(40);
    clobber_stack();
  } else if (strcmp(mode, "spike") == 0) {
    static void* base[BASE_BLOCKS];
    for (int i = 0; i < BASE_BLOCKS; i++) touch(base[i] = malloc(1024), 1024);
    churn_for(0.2);
    double held = spike();
    churn_for(0.2);
    for (int i = 0; i < BASE_BLOCKS; i++) free(base[i]);
    printf("spike held %.0f us\n", held * 1e6);
  } else if (strcmp(mode, "sparse") == 0) {
    sparse();
  } else if (strcmp(mode, "stderr") == 0) {
    fputs("before\n", stderr);
    if (argc > 2 && snapshot_to(argv[2]) != NULL) return 3;
    fputs("after\n", stderr);
  } else if (strcmp(mode, "low_memory") == 0) {
    if (!limit_address_space()) return 3;
    printf("limited\n");
    low_memory_site();
  } else if (strcmp(mode, "fork_unwritable") == 0) {
    int (*snapshot)(const char*) = (int (*)(const char*))dlsym(RTLD_DEFAULT, "ptmem_snapshot");
    if (!snapshot) return 2;
    printf("snapshot %s\n", snapshot(NULL) == EIO ? "EIO" : "written");
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
      touch(malloc(100), 100);
      exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("parent %d child %d exited %d\n", (int)getpid(), (int)child, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  } else if (strcmp(mode, "fsize") == 0) {
    int r = fsize(argv[2]);
    if (r) return r;
  } else if (strcmp(mode, "chdir") == 0) {
    if (chdir(argv[2]) != 0) return 3;
  }
  free(keep);
  printf("done\n");
  return 0;
}
