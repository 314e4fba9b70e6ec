/* bench_run - runs one command and reports its wall time and peak RSS, for scripts/bench.sh.
 *
 *   bench_run [-p PRELOAD_LIB] [-i STDIN] [-o STDOUT] [-e STDERR] [-t TIMEOUT_S] -- command [args...]
 *
 * prints one line: "status=ok|exit:N|signal:N|timeout wall=SECONDS rss_kb=KIB user=S sys=S".
 *
 * Why not /usr/bin/time: its wall clock has 10 ms resolution and it would itself run under the
 * LD_PRELOAD it passes on. Here the preload is set only in the child (and removed when not asked for,
 * so an inherited LD_PRELOAD cannot pollute the glibc baseline), wall time is CLOCK_MONOTONIC around
 * fork..exit, and the rusage from wait4 covers the whole process including the children it waited
 * for (gcc's cc1 and as): the kernel folds their maxrss into the parent's. The child runs in its own
 * process group so a timeout kills the command and everything it started. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void redirect(const char *path, int fd, int flags) {
  if (!path) return;
  int f = open(path, flags, 0644);
  if (f < 0 || dup2(f, fd) < 0) {
    perror(path);
    _exit(127);
  }
  close(f);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_run [-p LIB] [-i IN] [-o OUT] [-e ERR] [-t TIMEOUT_S] -- cmd [args...]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *preload = NULL, *in = NULL, *out = NULL, *err = NULL;
  double timeout = 0;
  int opt;
  while ((opt = getopt(argc, argv, "+p:i:o:e:t:")) != -1) {
    switch (opt) {
      case 'p': preload = optarg; break;
      case 'i': in = optarg; break;
      case 'o': out = optarg; break;
      case 'e': err = optarg; break;
      case 't': timeout = atof(optarg); break;
      default: usage();
    }
  }
  if (optind >= argc) usage();

  /* SIGCHLD is blocked and collected with sigtimedwait: exact end time, and a timeout, without races. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);

  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    setpgid(0, 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    redirect(in, 0, O_RDONLY);
    redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
    if (preload && *preload)
      setenv("LD_PRELOAD", preload, 1);
    else
      unsetenv("LD_PRELOAD");
    execvp(argv[optind], argv + optind);
    perror(argv[optind]);
    _exit(127);
  }
  setpgid(pid, pid); /* also from the parent: whichever runs first, the group exists before a kill */

  int status = 0, timed_out = 0;
  struct rusage ru;
  double t1;
  for (;;) {
    pid_t r = wait4(pid, &status, WNOHANG, &ru);
    if (r == pid) {
      t1 = now();
      break;
    }
    if (r < 0 && errno != EINTR) {
      perror("wait4");
      return 1;
    }
    double left = timeout > 0 ? timeout - (now() - t0) : 3600;
    if (left <= 0) {
      timed_out = 1;
      kill(-pid, SIGKILL);
      t1 = now();
      wait4(pid, &status, 0, &ru);
      break;
    }
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    sigtimedwait(&chld, NULL, &ts); /* woken by the exit (or a stray SIGCHLD: re-check) */
  }
  /* Leftover members of the group (a daemonised grandchild) must not disturb the next run. */
  kill(-pid, SIGKILL);

  char st[32];
  if (timed_out)
    snprintf(st, sizeof st, "timeout");
  else if (WIFSIGNALED(status))
    snprintf(st, sizeof st, "signal:%d", WTERMSIG(status));
  else if (WEXITSTATUS(status) != 0)
    snprintf(st, sizeof st, "exit:%d", WEXITSTATUS(status));
  else
    snprintf(st, sizeof st, "ok");
  printf("status=%s wall=%.4f rss_kb=%ld user=%.3f sys=%.3f\n", st, t1 - t0, ru.ru_maxrss,
         (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6);
  return 0;
}
