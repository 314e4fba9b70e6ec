/* run_app - the program check_run.py runs under `ptmem run`. argv[1] is the mode, argv[2] an optional
 * exit status:
 *   clean        allocates and frees, prints "clean run"
 *   leak         loses 32 blocks from leak_in_parent, prints "leaked"
 *   fork-leak    a forked child loses 32 blocks from leak_in_child and exits; the parent is clean
 *   spawn-leak   runs itself with "leak" (fork + exec: a new program image) and waits; clean itself
 *   echo         copies stdin to stdout byte for byte
 *   peak BYTES   holds BYTES for a moment, then frees them
 *   env          prints LD_PRELOAD, PTMEM_TRACK, PTMEM_OUT and PTMEM_DEPTH as it sees them
 *   abort        abort()s
 *   wait-int     prints "ready", waits for SIGINT, catches it, then leaks like `leak` and exits 0
 *   die-int      prints "ready", waits for SIGINT and dies of it (the default action)
 * The leaks lose many blocks so that a stale copy of one pointer on the stack, which makes that
 * block look reachable to the exit scan, cannot hide the leak: the report must name the function. */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
enum { BLOCKS_LOST = 32, BLOCK_SIZE = 48 };

__attribute__((noinline)) void leak_in_parent(void) {
  for (int i = 0; i < BLOCKS_LOST; i++) {
    char* p = malloc(BLOCK_SIZE);
    if (p) memset(p, 'p', BLOCK_SIZE);
  }
}

__attribute__((noinline)) void leak_in_child(void) {
  for (int i = 0; i < BLOCKS_LOST; i++) {
    char* p = malloc(BLOCK_SIZE);
    if (p) memset(p, 'c', BLOCK_SIZE);
  }
}

static int wait_ok(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "run_app: child failed (status %d)\n", status);
    return 0;
  }
  return 1;
}

static void on_sigint(int sig) { (void)sig; }

/* SIGINT is blocked before "ready" is printed and unblocked only inside sigsuspend, so a signal sent
 * as soon as the line is read cannot be lost between the two. */
static void wait_for_sigint(int catch_it) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &old);
  if (catch_it) signal(SIGINT, on_sigint);
  puts("ready");
  fflush(stdout);
  sigdelset(&old, SIGINT);
  sigsuspend(&old);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
}

static int run_mode(const char* mode, int argc, char** argv) {
  if (strcmp(mode, "clean") == 0) {
    char* p = malloc(1000);
    if (!p) return 1;
    memset(p, 0, 1000);
    free(p);
    puts("clean run");
  } else if (strcmp(mode, "leak") == 0) {
    leak_in_parent();
    puts("leaked");
  } else if (strcmp(mode, "fork-leak") == 0) {
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      leak_in_child();
      exit(0); /* not _exit: the child's trace is written at exit */
    }
    if (!wait_ok(pid)) return 1;
  } else if (strcmp(mode, "spawn-leak") == 0) {
    char* child_argv[] = {argv[0], "leak", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ) != 0) return 1;
    if (!wait_ok(pid)) return 1;
  } else if (strcmp(mode, "echo") == 0) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  } else if (strcmp(mode, "peak") == 0 && argc >= 3) {
    size_t bytes = strtoull(argv[2], NULL, 10);
    char* p = malloc(bytes);
    if (!p) return 1;
    memset(p, 1, bytes);
    free(p);
    return 0;
  } else if (strcmp(mode, "env") == 0) {
    const char* names[] = {"LD_PRELOAD", "PTMEM_TRACK", "PTMEM_OUT", "PTMEM_DEPTH"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      const char* v = getenv(names[i]);
      printf("%s=%s\n", names[i], v ? v : "(unset)");
    }
  } else if (strcmp(mode, "wait-int") == 0) {
    wait_for_sigint(1);
    leak_in_parent();
  } else if (strcmp(mode, "die-int") == 0) {
    wait_for_sigint(0);
  } else if (strcmp(mode, "daemon") == 0) {
    /* The parent ends inside daemon(); the daemon leaks once the file "daemon-go" appears (the
     * checker makes it after ptmem run's report), or after 10 s. */
    if (daemon(1, 1) != 0) return 1;
    for (int i = 0; i < 1000 && access("daemon-go", F_OK) != 0; i++) usleep(10000);
    leak_in_parent();
    return 0;
  } else if (strcmp(mode, "abort") == 0) {
    abort();
  } else {
    fprintf(stderr, "run_app: unknown mode '%s'\n", mode);
    return 2;
  }
  return argc >= 3 ? atoi(argv[2]) : 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: run_app MODE [STATUS]\n");
    return 2;
  }
  return run_mode(argv[1], argc, argv);
}
