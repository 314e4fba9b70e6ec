/* exec.c - the exec family. A process that execs runs no destructor: its trace is whatever it wrote
 * last. Before its first periodic snapshot that is nothing (a shell's forked child, exec'ing at
 * once: the new image's trace is the process's, as before); after one, it was that snapshot, and
 * `ptmem-report` failed the run for its missing leak scan (`ptmem run -- bash -c 'sleep 2; exec
 * true'`, a wrapper script ending in `exec`, bash's own exec of the last command of `-c`). So a
 * process that has a snapshot on disk writes its final trace before it execs, without a leak scan
 * (as LeakSanitizer, which checks nothing there: the image is discarded), "exit_call" naming the
 * call. If the exec fails, the process goes on and its final trace is still to come.
 *
 * The C library's functions are resolved by the constructor: a vfork child (which writes nothing,
 * its pid is not the tracked one) must not allocate, and dlsym may. The list forms are the vector
 * forms with the arguments gathered, as the C library does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "tracking.h"

typedef int (*exec_v_t)(const char*, char* const[]);
typedef int (*exec_ve_t)(const char*, char* const[], char* const[]);

static exec_ve_t libc_execve, libc_execvpe;
static exec_v_t libc_execv, libc_execvp;
static int (*libc_fexecve)(int, char* const[], char* const[]);
static int (*libc_execveat)(int, const char*, char* const[], char* const[], int);

static bool resolved;

static void* resolve(const char* name) {
  return dlsym(RTLD_NEXT, name);
}

void ptmem_exec_resolve(void) {
  resolved = true;
  void* sym;
  sym = resolve("execve");
  memcpy(&libc_execve, &sym, sizeof sym);
  sym = resolve("execvpe");
  memcpy(&libc_execvpe, &sym, sizeof sym);
  sym = resolve("execv");
  memcpy(&libc_execv, &sym, sizeof sym);
  sym = resolve("execvp");
  memcpy(&libc_execvp, &sym, sizeof sym);
  sym = resolve("fexecve");
  memcpy(&libc_fexecve, &sym, sizeof sym);
  sym = resolve("execveat");
  memcpy(&libc_execveat, &sym, sizeof sym);
}

/* Called before the constructor ran (another library's constructor exec'ing): resolved then. */
static void ensure_resolved(void) {
  if (!resolved) ptmem_exec_resolve();
}

PT_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call("execve");
  int r = libc_execve ? libc_execve(path, argv, envp) : (int)syscall(SYS_execve, path, argv, envp);
  ptmem_tracking_exec_failed(wrote);
  return r;
}

static int call_execv(const char* how, const char* path, char* const argv[]) {
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call(how);
  int r = libc_execv ? libc_execv(path, argv) : (errno = ENOSYS, -1);
  ptmem_tracking_exec_failed(wrote);
  return r;
}

static int call_execvp(const char* how, const char* file, char* const argv[]) {
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call(how);
  int r = libc_execvp ? libc_execvp(file, argv) : (errno = ENOSYS, -1);
  ptmem_tracking_exec_failed(wrote);
  return r;
}

static int call_execvpe(const char* how, const char* file, char* const argv[], char* const envp[]) {
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call(how);
  int r = libc_execvpe ? libc_execvpe(file, argv, envp) : (errno = ENOSYS, -1);
  ptmem_tracking_exec_failed(wrote);
  return r;
}

PT_EXPORT int execv(const char* path, char* const argv[]) {
  return call_execv("execv", path, argv);
}
PT_EXPORT int execvp(const char* file, char* const argv[]) {
  return call_execvp("execvp", file, argv);
}
PT_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  return call_execvpe("execvpe", file, argv, envp);
}

PT_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call("fexecve");
  int r = libc_fexecve ? libc_fexecve(fd, argv, envp) : (errno = ENOSYS, -1);
  ptmem_tracking_exec_failed(wrote);
  return r;
}

PT_EXPORT int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) {
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call("execveat");
  int r = libc_execveat ? libc_execveat(dirfd, path, argv, envp, flags)
                        : (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
  ptmem_tracking_exec_failed(wrote);
  return r;
}

/* The vector's length for `arg` and the arguments after it up to the NULL, that NULL included. As
 * the C library, which declares `arg` not null: the NULL is looked for after it. */
static size_t count_args(va_list ap) {
  size_t n = 2;
  while (va_arg(ap, const char*))
    n++;
  return n;
}

static void gather(char** argv, size_t n, const char* arg, va_list* ap) {
  argv[0] = (char*)arg;
  for (size_t i = 1; i < n; i++) /* the NULL included: va_arg is past it after */
    argv[i] = va_arg(*ap, char*);
}

PT_EXPORT int execl(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  size_t n = count_args(ap);
  va_end(ap);
  char* argv[n];
  va_start(ap, arg);
  gather(argv, n, arg, &ap);
  va_end(ap);
  return call_execv("execl", path, argv);
}

PT_EXPORT int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  size_t n = count_args(ap);
  va_end(ap);
  char* argv[n];
  va_start(ap, arg);
  gather(argv, n, arg, &ap);
  va_end(ap);
  return call_execvp("execlp", file, argv);
}

PT_EXPORT int execle(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  size_t n = count_args(ap);
  va_end(ap);
  char* argv[n];
  va_start(ap, arg);
  gather(argv, n, arg, &ap);
  char* const* envp = va_arg(ap, char* const*);
  va_end(ap);
  ensure_resolved();
  bool wrote = ptmem_tracking_exec_call("execle");
  int r = libc_execve ? libc_execve(path, argv, envp) : (int)syscall(SYS_execve, path, argv, envp);
  ptmem_tracking_exec_failed(wrote);
  return r;
}
