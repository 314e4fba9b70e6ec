/* exit.c - exit called by a second thread, daemon's parent, and the ways out that skip destructors:
 * _exit, _Exit and quick_exit. A forked child that ends
 * in _exit (as it should: exit() would flush its parent's stdio buffers a second time), a shell's
 * subshell, a program using quick_exit: without these wrappers their traces were lost, unless they
 * ran long enough for a periodic snapshot. The final trace is written first (no leak scan:
 * tracking.c says why), then the process ends as the C library would end it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../pools/atomic.h"
#include "preload.h"
#include "tracking.h"

static void (*libc_quick_exit)(int);
static void (*libc_exit)(int);
static int (*libc_daemon)(int, int);

/* Before any thread could call it: dlsym may allocate, which a vfork child must not. */
void ptmem_exit_resolve(void) {
  void* sym = dlsym(RTLD_NEXT, "quick_exit");
  memcpy(&libc_quick_exit, &sym, sizeof sym);
  sym = dlsym(RTLD_NEXT, "exit");
  memcpy(&libc_exit, &sym, sizeof sym);
  sym = dlsym(RTLD_NEXT, "daemon");
  memcpy(&libc_daemon, &sym, sizeof sym);
}

const void* ptmem_exit_libc(void) {
  const void* fn;
  memcpy(&fn, &libc_exit, sizeof fn);
  return fn;
}

/* What glibc's _exit does: exit_group, and the plain exit should that ever return. */
static _Noreturn void end_process(int status) {
  for (;;) {
    syscall(SYS_exit_group, status);
    syscall(SYS_exit, status);
  }
}

/* glibc's exit (2.36) is not safe to call from two threads: the second finds the handlers taken by
 * the first, skips them and ends the process with its own status, while the first may still be in
 * its destructors and, with tracking, writing the final trace. Five threads calling exit at once
 * left no trace in 30 runs of 30. So a thread calling exit while another thread of this process
 * already does waits for that one to end the process (as POSIX asks of a thread-safe exit, and as
 * Rust's standard library does for its own calls), but not for ever: after 2 s (10 s while the
 * final trace is being written) it goes on as glibc would. An exit handler of the first that waits
 * for the second (joins it, wants a lock it holds) would otherwise hang a process that natively
 * ends; so would a second caller inside a dl_iterate_phdr callback, whose lock the trace's module
 * list takes (found in review: the first version waited as long as the trace was being written).
 * The same thread calling exit again (from a handler) goes through, as glibc lets it. The owner
 * is kept with its process id: a fork child starts afresh. */
static _Atomic uint64_t exit_owner; /* pid << 32 | tid of the first caller; 0 none */
enum { SECOND_EXIT_WAIT_MS = 2000, SECOND_EXIT_WAIT_WRITING_MS = 10000 };

static void wait_for_first_exit(void) {
  uint64_t pid = (uint64_t)syscall(SYS_getpid), self = pid << 32 | (uint32_t)syscall(SYS_gettid);
  uint64_t owner = pt_load_acquire(&exit_owner);
  while (owner >> 32 != pid && !pt_cas_strong_acq_rel(&exit_owner, &owner, self)) {
  }
  if (owner >> 32 != pid || owner == self) return; /* the first, or again */
  for (int waited_ms = 0; waited_ms < SECOND_EXIT_WAIT_MS ||
                          (waited_ms < SECOND_EXIT_WAIT_WRITING_MS && ptmem_tracking_writing_final());
       waited_ms++)
    nanosleep(&(struct timespec){0, 1000000}, NULL);
}

PT_EXPORT _Noreturn void exit(int status) {
  if (ptmem_tracking) wait_for_first_exit();
  if (!libc_exit) { /* called before the constructor: by another library's constructor */
    void* sym = dlsym(RTLD_NEXT, "exit");
    memcpy(&libc_exit, &sym, sizeof sym);
  }
  if (libc_exit) libc_exit(status);
  end_process(status);
}

PT_EXPORT _Noreturn void _exit(int status) {
  ptmem_tracking_exit_call("_exit");
  end_process(status);
}

PT_EXPORT _Noreturn void _Exit(int status) {
  ptmem_tracking_exit_call("_Exit");
  end_process(status);
}

/* The trace is written before the at_quick_exit handlers run: what they allocate is not in it. */
PT_EXPORT _Noreturn void quick_exit(int status) {
  ptmem_tracking_exit_call("quick_exit");
  if (libc_quick_exit) libc_quick_exit(status);
  end_process(status);
}

/* glibc's daemon ends the parent with an _exit inside the C library, which the wrapper above never
 * sees: the parent left no trace, and `ptmem run` of a program that daemonizes reported "no trace
 * was written" (exit 2). So with tracking on, daemon is done here, as glibc does it, with the
 * parent leaving through _exit above. */
PT_EXPORT int daemon(int nochdir, int noclose) {
  if (!ptmem_tracking && libc_daemon) return libc_daemon(nochdir, noclose);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid > 0) _exit(0);
  if (setsid() < 0) return -1;
  if (!nochdir) (void)chdir("/");
  if (noclose) return 0;
  int fd = open("/dev/null", O_RDWR); /* no O_CLOEXEC: it may itself become 0, 1 or 2 */
  struct stat st;
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) { /* not the real one */
    close(fd);
    errno = ENODEV;
    return -1;
  }
  dup2(fd, STDIN_FILENO);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  if (fd > STDERR_FILENO) close(fd);
  return 0;
}
