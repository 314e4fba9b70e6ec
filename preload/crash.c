/* crash.c - a trace from a program that crashes or is told to stop. SIGKILL leaves the last periodic
 * snapshot, which a run shorter than a second does not have yet; a crash (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT), a SIGTERM (kill's default, how servers and pool workers are stopped), a SIGPIPE
 * (a pipeline's writer whose reader is gone: `yes | head -1`), SIGHUP, SIGALRM or SIGQUIT is seen
 * by a handler, which writes a trace naming the signal and then lets the signal take its default
 * course: the same exit status and the same core dump as without ptmem. For a request to end (all
 * but the crashes and SIGABRT) that is the final trace with the leak scan; otherwise a snapshot. SIGINT is left
 * alone: programs look at its action to decide whether to install their own (python3 raises
 * KeyboardInterrupt only if SIGINT's action was the default when it started).
 *
 * Installed only for signals whose action is the default when the constructor runs: a handler the
 * program had, or installs later, is the program's business and replaces ours, as without the
 * preload. Handlers do not survive exec, so the next program starts from its own defaults. A
 * handler installed later may still call ours, the one it found (signal chaining: the JVM does,
 * for every SIGPIPE, which it then ignores): without the preload it would have found the default
 * action, so ours does what calling that would do, nothing, and the program's handler decides.
 * Raising the signal there would land in that handler again, for ever. A fault of an instruction
 * is the exception: the instruction runs again when the handlers return, and faults again, so
 * there ours writes the trace and puts the default action back, which ends the process. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "leaks.h"
#include "track.h"
#include "tracking.h"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGPIPE, SIGHUP, SIGALRM, SIGQUIT};

static void on_crash(int signo, siginfo_t* info, void* context);
static bool asks_to_end(int signo);

/* The C library's sigaction, not sigaction.c's: that one tells ptmem's calls by their return
 * address, and a call in tail position returns to on_crash's caller (the program's handler), where
 * asking for the default would have put ours back. */
extern int __sigaction(int signo, const struct sigaction* act, struct sigaction* old);
static void put_default_back(int signo) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  __sigaction(signo, &dfl, NULL);
}

/* SA_RESETHAND put the default action back as the kernel delivered the signal to us (the handler
 * only: the flags stay, SA_SIGINFO among them). Ours still there: the program put back the handler
 * it found with signal() (`old = signal(SIGPIPE, SIG_IGN); ... signal(SIGPIPE, old)`, git's
 * sigchain_pop), which has no SA_RESETHAND: the kernel called us all the same, and the default action
 * is put back here, as the raise below needs (returning would have ignored the signal, where the
 * program without the preload dies of it). Any other action is a handler of the program's that
 * called us. */
static bool called_by_another_handler(int signo) {
  struct sigaction now;
  if (__sigaction(signo, NULL, &now) != 0 || now.sa_handler == SIG_DFL) return false;
  if (now.sa_sigaction != on_crash) return true;
  if (!asks_to_end(signo)) put_default_back(signo); /* a request to end has no SA_RESETHAND: see on_crash */
  return false;
}

/* A request to end from outside, not a failure of the process's own: the heap is as the program
 * left it, and its leaks are checked as at exit (valgrind does so too; LeakSanitizer checks nothing
 * on a signal). A server stopped with SIGTERM, python3's pool workers, the writer of a pipeline
 * whose reader is gone: a trace without the scan failed the gate as "leaks unknown". A crash or an
 * abort is not scanned: its heap may be what went wrong. */
static bool asks_to_end(int signo) {
  return signo == SIGTERM || signo == SIGHUP || signo == SIGALRM || signo == SIGQUIT || signo == SIGPIPE;
}

/* The process that sent the signal with kill, sigqueue or tgkill; 0: the kernel's own (SIGPIPE...). */
static pid_t sender(const siginfo_t* info) {
  return info && ((uintptr_t)info & 7) == 0 && (info->si_code == SI_USER || info->si_code == SI_QUEUE || info->si_code == SI_TKILL)
             ? info->si_pid
             : 0;
}

/* A fault of the instruction that was running (not a kill or raise of SIGSEGV, SIGBUS, SIGILL, SIGFPE):
 * returning runs it again, and it faults again. */
static bool instruction_fault(int signo, const siginfo_t* info) {
  return (signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE) && info &&
         ((uintptr_t)info & 7) == 0 && info->si_code > 0;
}

/* Every signal but the faults of an instruction, which blocked would kill the process at once (the
 * scan's guarded reads take SIGSEGV and SIGBUS). Blocked while the trace is written: a second
 * signal meanwhile (a SIGHUP after the SIGTERM, a program's SIGINT handler calling exit) ended the
 * process mid-scan, without its trace, or waited for the writer its own thread held. */
static void all_but_faults(sigset_t* set) {
  sigfillset(set);
  static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(set, faults[i]);
}

static atomic_int written; /* two threads crashing at once: one trace */
static atomic_int trace_done;

/* The trace, by this thread or, if another's signal came first, by that one: then this one waits
 * until it is written (a second signal in another thread ended the process mid-scan), and a moment
 * more for the first signal to end the process, as it would have without the preload. */
static void write_for(int signo, pid_t from) {
  if (!atomic_exchange(&written, 1)) {
    if (!(asks_to_end(signo) && ptmem_tracking_end_by_signal(signo, from))) ptmem_tracking_crash_snapshot(signo);
    atomic_store(&trace_done, 1);
    return;
  }
  struct timespec step = {0, 1000000};
  for (int ms = 0; ms < 10000 && !atomic_load(&trace_done); ms++) nanosleep(&step, NULL);
  for (int ms = 0; ms < 1000; ms++) nanosleep(&step, NULL);
}

/* The default action, then the signal: it is blocked here, so it is delivered, with the default
 * action, when the handler returns (or, out of one, as it is unblocked). */
static void end_with(int signo) {
  if (asks_to_end(signo)) put_default_back(signo);
  raise(signo);
}

/* A request to end that came while its thread could not write (ptmem_tracking_may_write_here: a
 * tracker lock held, a trace or a walk of its own under way, a realloc open): the trace, then the
 * signal, once it can. Not in a handler any more: the signal ends the process as it is unblocked. */
static __thread pid_t deferred_sender __attribute__((tls_model("initial-exec")));
static __thread timer_t deferred_timer __attribute__((tls_model("initial-exec")));
static __thread bool deferred_timer_armed __attribute__((tls_model("initial-exec")));

static void cancel_timer(void) {
  if (deferred_timer_armed) timer_delete(deferred_timer);
  deferred_timer_armed = false;
}

static void run_deferred(void) {
  if (!ptmem_tracking_may_write_here()) return; /* asked again where the thread leaves the next such state */
  pt_track_leaks_save_vector_registers(); /* no signal frame holds them here */
  int signo = pt_track_deferred_signal;
  pt_track_deferred_signal = 0; /* before the write, whose end asks again */
  cancel_timer();
  sigset_t mask, old;
  all_but_faults(&mask);
  sigprocmask(SIG_BLOCK, &mask, &old);
  write_for(signo, deferred_sender);
  end_with(signo);
  sigfillset(&mask);
  sigdelset(&mask, signo);
  sigprocmask(SIG_SETMASK, &mask, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL); /* still here: the signal was made to do something else meanwhile */
}

/* The signal again to this thread, `ms` from now; false if no timer could be made. */
static bool send_again(int signo, long ms) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = signo;
  ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  struct itimerspec once = {{0, 0}, {ms / 1000, (ms % 1000) * 1000000L}};
  cancel_timer();
  deferred_timer_armed = timer_create(CLOCK_MONOTONIC, &ev, &deferred_timer) == 0;
  return deferred_timer_armed && timer_settime(deferred_timer, 0, &once, NULL) == 0;
}

/* The state that holds the signal back normally ends within microseconds; one a handler left for
 * good with siglongjmp (out of a realloc, a walk) never does. The same signal comes back to this
 * thread after a while (a timer), and then the process ends without the scan. */
static void defer(int signo, pid_t from) {
  deferred_sender = from;
  pt_track_deferred_signal = signo;
  send_again(signo, 200);
}

/* Inside malloc or free the heap is mid-change, and the scan would misread it; waiting for the
 * allocator to be left would cost its fast paths a test. The signal comes back a millisecond later
 * instead, when the thread is almost always elsewhere (an allocation takes nanoseconds): a loop
 * that spends half its time in malloc is caught outside within a few tries. After 50 the process
 * ends with a snapshot. Before, such a signal always gave the snapshot (a malloc loop: 1 run in 6),
 * and the gate failed the process as "leaks unknown". */
static __thread int allocator_retries __attribute__((tls_model("initial-exec")));
static __thread pid_t first_sender __attribute__((tls_model("initial-exec")));
static __thread bool retrying __attribute__((tls_model("initial-exec")));

static void on_crash(int signo, siginfo_t* info, void* context) {
  /* A vfork child between vfork and exec keeps our handler: it has no atfork handler to tell us,
   * and Python's (_posixsubprocess), resetting the handlers a vfork child must not run, is shown the
   * default here and leaves it. Its signal would write a trace from the parent's memory, mark the
   * parent's trace with the signal and spend the parent's one crash trace: the signal takes its
   * course, and nothing is written. */
  bool vfork_child = ptmem_tracking_vfork_child();
  if (called_by_another_handler(signo)) {
    /* A fault the program's handler did not take as its own, passed on to the handler it found (the
     * JVM's for a crash in native code, Boehm GC's for a fault outside its heap). Found the default,
     * the program puts it back (or dies itself); doing nothing had the instruction fault again into
     * that handler and ours, for ever. So the default is put back: the fault, again, ends the process
     * with its status and core, as without the preload. */
    if (!instruction_fault(signo, info)) return;
    if (!vfork_child && !atomic_exchange(&written, 1)) {
      ptmem_tracking_crash_snapshot(signo);
      atomic_store(&trace_done, 1);
    }
    put_default_back(signo);
    return;
  }
  pid_t from = retrying ? first_sender : sender(info); /* a timer's signal has no sender */
  if (!vfork_child && asks_to_end(signo) && ptmem_tracking_in_allocator() && allocator_retries < 50 &&
      !pt_track_deferred_signal && send_again(signo, 1)) {
    if (!retrying) first_sender = from;
    retrying = true;
    allocator_retries++;
    return;
  }
  if (!vfork_child && asks_to_end(signo) && !ptmem_tracking_may_write_here() && !pt_track_deferred_signal) {
    /* What holds it back is over within microseconds (run_deferred); the trace cannot wait for it
     * here. The handler stays (a request to end has no SA_RESETHAND): a second signal to another
     * thread waits for this one's trace. */
    defer(signo, from);
    return;
  }
  /* A second request while one waits in this thread (the timer's, or another kill): the state never
   * ended. The snapshot, if this thread can write one, and the end. */
  cancel_timer();
  if (!vfork_child) write_for(signo, from);
  /* A crash's SA_RESETHAND restored the default on entry; a request to end puts it back now. The
   * signal is blocked while this runs, so raising it makes it pending: it is delivered, with the
   * default action, when the handler returns, before the faulting instruction could run again
   * (and whether or not it would fault again). Any other signal that came meanwhile stays blocked,
   * so the process dies of this one, as it would have without the preload. */
  end_with(signo);
  if (context) {
    sigfillset(&((ucontext_t*)context)->uc_sigmask);
    sigdelset(&((ucontext_t*)context)->uc_sigmask, signo);
  }
}

static uint64_t covered; /* bit signo: ours stands for the default action there */

static void crash_action(struct sigaction* sa, int signo) {
  memset(sa, 0, sizeof *sa);
  sa->sa_sigaction = on_crash;
  sa->sa_flags = SA_SIGINFO;
  /* A program's alternate stack serves a crash (a stack overflow has no room left on the stack), but
   * not a request to end: the scan runs on a stack of its own, and a nested signal, finding the
   * thread off its alternate stack, would be put where this one's frame is. A request to end keeps
   * its handler until the trace is written: with the default back at once, the same signal sent
   * again reached another thread and ended the process mid-scan. */
  if (!asks_to_end(signo)) sa->sa_flags |= SA_ONSTACK | SA_RESETHAND;
  all_but_faults(&sa->sa_mask);
}

void ptmem_tracking_install_crash_handlers(int except) {
  if (!ptmem_tracking) return;
  pt_track_deferred_hook = run_deferred;
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
    int signo = fatal_signals[i];
    struct sigaction old;
    if (signo == except || sigaction(signo, NULL, &old) != 0) continue;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa;
    crash_action(&sa, signo);
    if (sigaction(signo, &sa, NULL) == 0) covered |= (uint64_t)1 << signo;
  }
}

bool ptmem_crash_handler_is(const struct sigaction* action) { return action->sa_sigaction == on_crash; }

bool ptmem_crash_action_for_default(int signo, struct sigaction* ours) {
  if (signo <= 0 || signo >= 64 || !(covered & (uint64_t)1 << signo)) return false;
  crash_action(ours, signo);
  return true;
}
