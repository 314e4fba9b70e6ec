/* sigaction_next: a library preloaded after libptmem that wraps sigaction and signal, as the JVM's
 * libjsig does, counting the calls it sees and passing them on (runtime mode next_sigaction). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <string.h>

int track_sigaction_next_calls;

int sigaction(int signo, const struct sigaction* act, struct sigaction* old) {
  void* sym = dlsym(RTLD_NEXT, "sigaction");
  int (*next)(int, const struct sigaction*, struct sigaction*);
  memcpy(&next, &sym, sizeof sym);
  track_sigaction_next_calls++;
  return next(signo, act, old);
}

__sighandler_t signal(int signo, __sighandler_t handler) {
  void* sym = dlsym(RTLD_NEXT, "signal");
  __sighandler_t (*next)(int, __sighandler_t);
  memcpy(&next, &sym, sizeof sym);
  track_sigaction_next_calls++;
  return next(signo, handler);
}
