/* sigaction.c - the signal actions the program sees. Where crash.c's handler stands for the default
 * action (it writes the trace, then the signal takes its default course), the program is shown the
 * default, SIG_DFL, and asking for the default puts that handler back. A program reading an action
 * to put it back later got a handler it could not name: Python calls one it did not install None,
 * so `old = signal.signal(SIGALRM, h); ... signal.signal(SIGALRM, old)`, the usual timeout, raised
 * TypeError; the JVM chained every SIGPIPE to it; and a program that put back the default (git's
 * sigchain_pop, bash's `trap - TERM`) lost the trace of its death. ptmem's own calls (the exit scan
 * saving and restoring SIGSEGV's action) see the actions as they are. The C library's own functions
 * (posix_spawn, system) call its internal sigaction, which is not this one. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "preload.h"
#include "tracking.h"

extern int __sigaction(int signo, const struct sigaction* act, struct sigaction* old);
extern __sighandler_t bsd_signal(int signo, __sighandler_t handler);

/* The program's calls go on to the next definition, not straight to the C library's: a library
 * preloaded after ours that wraps them (the JVM's libjsig, which keeps the JVM's SIGSEGV handler
 * when a native library installs its own, and chains to that) saw none of them, and a native
 * library's handler replaced the JVM's (its null checks fault). Until the constructor has found
 * them, and for ptmem's own calls (the actions as they are), the C library's. */
typedef int sigaction_fn(int, const struct sigaction*, struct sigaction*);
typedef __sighandler_t signal_fn(int, __sighandler_t);
static sigaction_fn* next_sigaction;
static signal_fn* next_signal;

/* From the constructor: dlsym may allocate, which a vfork child or a signal handler must not. */
void ptmem_sigaction_resolve(void) {
  void* sym = dlsym(RTLD_NEXT, "sigaction");
  sigaction_fn* sa;
  memcpy(&sa, &sym, sizeof sym);
  sym = dlsym(RTLD_NEXT, "signal");
  signal_fn* sg;
  memcpy(&sg, &sym, sizeof sym);
  __atomic_store_n(&next_sigaction, sa, __ATOMIC_RELEASE);
  __atomic_store_n(&next_signal, sg, __ATOMIC_RELEASE);
}

static int call_next_sigaction(int signo, const struct sigaction* act, struct sigaction* old) {
  sigaction_fn* next = __atomic_load_n(&next_sigaction, __ATOMIC_ACQUIRE);
  return next ? next(signo, act, old) : __sigaction(signo, act, old);
}

static __sighandler_t call_next_signal(int signo, __sighandler_t handler) {
  signal_fn* next = __atomic_load_n(&next_signal, __ATOMIC_ACQUIRE);
  return next ? next(signo, handler) : bsd_signal(signo, handler);
}

/* _dl_find_object takes no lock and is async-signal-safe, as sigaction is. */
static bool called_from_ptmem(const void* caller) {
#if defined(DLFO_EH_SEGMENT_TYPE)
  struct dl_find_object ours, theirs;
  return _dl_find_object((void*)(uintptr_t)&called_from_ptmem, &ours) == 0 &&
         _dl_find_object((void*)caller, &theirs) == 0 && ours.dlfo_map_start == theirs.dlfo_map_start;
#else
  (void)caller;
  return false;
#endif
}

static bool asks_for_default(const struct sigaction* act) {
  return act && !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

PT_EXPORT int sigaction(int signo, const struct sigaction* act, struct sigaction* old) {
  if (called_from_ptmem(__builtin_return_address(0))) return __sigaction(signo, act, old);
  struct sigaction ours;
  if (asks_for_default(act) && ptmem_crash_action_for_default(signo, &ours)) act = &ours;
  int result = call_next_sigaction(signo, act, old);
  if (result == 0 && old && ptmem_crash_handler_is(old)) {
    memset(old, 0, sizeof *old);
    old->sa_handler = SIG_DFL;
  }
  return result;
}

PT_EXPORT __sighandler_t signal(int signo, __sighandler_t handler) {
  if (called_from_ptmem(__builtin_return_address(0))) return bsd_signal(signo, handler);
  struct sigaction ours, old;
  if (handler == SIG_DFL && ptmem_crash_action_for_default(signo, &ours)) {
    if (call_next_sigaction(signo, &ours, &old) != 0) return SIG_ERR;
  } else {
    __sighandler_t previous = call_next_signal(signo, handler);
    if (previous == SIG_ERR) return SIG_ERR;
    old.sa_handler = previous;
    old.sa_flags = 0;
  }
  return ptmem_crash_handler_is(&old) ? SIG_DFL : old.sa_handler;
}
