/* hold_ptrace.c - holding the threads that block the hold signal (hold.c), the way LeakSanitizer
 * holds every thread: a helper process attaches to each with PTRACE_SEIZE and PTRACE_INTERRUPT,
 * reads its general registers into memory it shares with us, and keeps it stopped until the scan is
 * over (general registers and, with PTRACE_GETREGSET, the vector ones). A program that blocks every
 * signal in all its threads (one of them in sigwait) is common in servers; without this, a block
 * held only in such a thread's register came out a definite leak.
 *
 * The helper is a raw clone without an exit signal: no fork handler runs in it, the program sees no
 * SIGCHLD, and it calls nothing but system calls. Yama's ptrace_scope 1 lets it attach to its
 * parent's threads because we name it our tracer (PR_SET_PTRACER). Where ptrace is refused
 * (ptrace_scope 2 or 3, a seccomp filter, a debugger already attached), those threads stay
 * unheld, as they were. Every wait is bounded; if the helper is gone, tracees are let go by the
 * kernel. */
#define _GNU_SOURCE
#include "hold_ptrace.h"

#include <elf.h>
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../pools/atomic.h"

enum { STARTING, GO, ATTACHED, RELEASE };
#define GO_WAIT_MS 2000       /* the helper's wait for our go */
#define ATTACH_WAIT_MS 2000   /* ours for the helper to stop them all; also its wait per thread */
#define RELEASE_WAIT_MS 10000 /* the helper's bound on keeping threads stopped */

typedef struct shared_s {
  _Atomic uint32_t state; /* futex word, shared between the two processes */
  uint32_t n;
  pt_ptrace_held_t threads[PT_PTRACE_MAX];
  /* Their vector registers (LSan reads them too). Pages of it are only touched for the threads
   * held, and the header above is all that is cleared. */
  uint8_t xstate[PT_PTRACE_MAX][PT_PTRACE_XSTATE_MAX] __attribute__((aligned(64)));
} shared_t;

static shared_t* shared;
static pid_t helper;

static long futex(_Atomic uint32_t* word, int op, uint32_t value, const struct timespec* timeout) {
  return syscall(SYS_futex, (uint32_t*)word, op, value, timeout, NULL, 0);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until `state` is at least `want` or `ms` have passed; true if it is. */
static bool wait_state(uint32_t want, uint64_t ms) {
  uint64_t end = now_ms() + ms;
  for (;;) {
    uint32_t s = pt_load_acquire(&shared->state);
    if (s >= want) return true;
    if (now_ms() > end) return false;
    struct timespec step = {0, 10 * 1000000L};
    futex(&shared->state, FUTEX_WAIT, s, &step); /* not _PRIVATE: the word is in shared memory */
  }
}

static void set_state(uint32_t s) {
  pt_store_release(&shared->state, s);
  futex(&shared->state, FUTEX_WAKE, 0x7fffffff, NULL);
}

/* Waits for tracee `tid` to stop; false if it exited or did not stop in time. */
static bool wait_stopped(long tid) {
  uint64_t end = now_ms() + ATTACH_WAIT_MS;
  for (;;) {
    int status;
    long r = syscall(SYS_wait4, tid, &status, __WALL | WNOHANG, NULL);
    if (r == tid) return WIFSTOPPED(status);
    if (r < 0 && errno != EINTR) return false;
    if (now_ms() > end) return false;
    struct timespec step = {0, 1000000L};
    nanosleep(&step, NULL);
  }
}

/* The helper: attach, read, report, hold, let go. System calls only (a copy of a process that may
 * have had other threads inside malloc). */
static _Noreturn void run_helper(void) {
  if (wait_state(GO, GO_WAIT_MS)) {
    for (uint32_t i = 0; i < shared->n; i++) {
      pt_ptrace_held_t* t = &shared->threads[i];
      if (syscall(SYS_ptrace, PTRACE_SEIZE, t->tid, 0, 0) != 0) continue;
      t->attached = true;
      if (syscall(SYS_ptrace, PTRACE_INTERRUPT, t->tid, 0, 0) != 0 || !wait_stopped(t->tid)) continue;
      t->ok = syscall(SYS_ptrace, PTRACE_GETREGS, t->tid, 0, &t->regs) == 0;
      struct iovec io = {shared->xstate[i], PT_PTRACE_XSTATE_MAX};
      if (t->ok && syscall(SYS_ptrace, PTRACE_GETREGSET, t->tid, NT_X86_XSTATE, &io) == 0) t->xstate_size = io.iov_len;
    }
    set_state(ATTACHED);
    wait_state(RELEASE, RELEASE_WAIT_MS);
    for (uint32_t i = 0; i < shared->n; i++)
      if (shared->threads[i].attached) syscall(SYS_ptrace, PTRACE_DETACH, shared->threads[i].tid, 0, 0);
  }
  for (;;) syscall(SYS_exit_group, 0);
}

unsigned pt_track_ptrace_hold(const long* tids, unsigned n, const pt_ptrace_held_t** out) {
  *out = NULL;
  if (!n) return 0;
  if (!shared) {
    void* m = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 0;
    shared = m;
  }
  memset(shared, 0, offsetof(shared_t, xstate));
  shared->n = n < PT_PTRACE_MAX ? n : PT_PTRACE_MAX;
  for (uint32_t i = 0; i < shared->n; i++) {
    shared->threads[i].tid = tids[i];
    shared->threads[i].xstate = shared->xstate[i];
  }
  /* A fork without fork handlers and without SIGCHLD (exit signal 0: reaped with __WALL). */
  long pid = syscall(SYS_clone, 0, NULL, NULL, NULL, NULL);
  if (pid < 0) return 0;
  if (pid == 0) run_helper();
  helper = (pid_t)pid;
  prctl(PR_SET_PTRACER, (unsigned long)pid, 0, 0, 0); /* fails harmlessly without Yama */
  set_state(GO);
  if (!wait_state(ATTACHED, (uint64_t)ATTACH_WAIT_MS * (1 + shared->n))) return 0;
  *out = shared->threads;
  return shared->n;
}

void pt_track_ptrace_release(void) {
  if (!helper) return;
  set_state(RELEASE);
  uint64_t end = now_ms() + ATTACH_WAIT_MS;
  int status;
  while (syscall(SYS_wait4, helper, &status, __WALL | WNOHANG, NULL) == 0) {
    if (now_ms() > end) { /* the kernel lets its tracees go when it dies */
      kill(helper, SIGKILL);
      syscall(SYS_wait4, helper, &status, __WALL, NULL);
      break;
    }
    struct timespec step = {0, 1000000L};
    nanosleep(&step, NULL);
  }
  prctl(PR_SET_PTRACER, 0, 0, 0, 0);
  helper = 0;
}
