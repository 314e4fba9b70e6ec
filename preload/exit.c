/* exit.c - the ways out that skip destructors: _exit, _Exit and quick_exit. A forked child that ends
 * in _exit (as it should: exit() would flush its parent's stdio buffers a second time), a shell's
 * subshell, a program using quick_exit: without these wrappers their traces were lost, unless they
 * ran long enough for a periodic snapshot. The final trace is written first (no leak scan:
 * tracking.c says why), then the process ends as the C library would end it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "tracking.h"

static void (*libc_quick_exit)(int);

/* Before any thread could call it: dlsym may allocate, which a vfork child must not. */
void ptmem_exit_resolve(void) {
  void* sym = dlsym(RTLD_NEXT, "quick_exit");
  memcpy(&libc_quick_exit, &sym, sizeof sym);
}

/* What glibc's _exit does: exit_group, and the plain exit should that ever return. */
static _Noreturn void end_process(int status) {
  for (;;) {
    syscall(SYS_exit_group, status);
    syscall(SYS_exit, status);
  }
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
