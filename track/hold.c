/* hold.c - the registers of the other threads for the exit leak scan, without ptrace.
 * LeakSanitizer attaches to every thread with ptrace and reads its registers; a block whose only
 * pointer is in a register of a thread still running would otherwise come out leaked. Here every
 * other thread listed in /proc/self/task is sent a signal (tgkill) whose handler copies the
 * general registers of the interrupted code (its ucontext) into a static table that the scan reads
 * as a root, then waits until the scan is over, so the thread cannot move or free the block
 * meanwhile. All waits are bounded: a thread that blocks the signal (read from its SigBlk) is not
 * sent it; one that exits before handling it is noticed (tgkill with signal 0); if the scanner
 * never releases them, handlers give up after a few seconds. The handler only uses
 * async-signal-safe calls (futex, gettid). Outside a hold it passes the signal on to whatever
 * handler the program had installed for it, so the program does not lose its own signals. Threads
 * that block the signal are held with ptrace from a helper process where that is allowed
 * (hold_ptrace.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../pools/atomic.h"
#include "../pools/os.h"
#include "hold_ptrace.h"
#include "leaks.h"

#define HOLD_SIGNAL (SIGRTMAX - 2)
#define HOLD_MAX 1024        /* threads whose registers are kept; more are scanned without them */
#define ARRIVE_WAIT_NS 2000000000ull /* for all threads to reach the handler */
#define RELEASE_WAIT_MS 5000 /* a handler's bound on waiting for the scan */

typedef struct held_s {
  _Atomic long tid;
  uintptr_t thread_pointer; /* where its static TLS and thread control block are */
  uint64_t regs[NGREG];
  /* Its vector registers, in the signal frame the kernel saved them to (below its stack pointer,
   * outside the part of its stack that is scanned): LSan reads them, and glibc's AVX-512 code
   * leaves heap addresses there. Valid while it is held. */
  uintptr_t xstate;
  size_t xstate_size;
} held_t;
static held_t held[HOLD_MAX]; /* a root of the scan (pt_track_threads_held) */
static _Atomic unsigned nheld;
static _Atomic int missed;    /* a thread of the last hold was not held (it blocks the signal...) */
static _Atomic int off_stack; /* one was held on its alternate signal stack */
static unsigned listed;       /* other threads the last hold found running */
static _Atomic int holding;       /* 1 while a hold is on: the handler spills and waits */
static _Atomic uint32_t released; /* futex word: bumped to let the handlers go */
static _Atomic int inside;        /* handlers not yet returned */
static _Atomic int outstanding;   /* signals sent and not yet handled: tells ours from the program's */
static struct sigaction previous;
static _Atomic int installed;

/* A thread blocked in a system call when the hold reached it: the call, as /proc/TID/syscall
 * showed it just before the signal was sent (see restart_wait). */
typedef struct wait_s {
  _Atomic long tid;
  long nr;
  uint64_t pc; /* just after the syscall instruction */
  uint64_t args[6];
} wait_t;
static wait_t waits[HOLD_MAX];
static _Atomic unsigned nwaits;
static bool (*midchange_probe)(void);
__thread volatile int pt_track_hold_late __attribute__((tls_model("initial-exec")));

static long futex(_Atomic uint32_t* word, int op, uint32_t value, const struct timespec* timeout) {
  return syscall(SYS_futex, (uint32_t*)word, op, value, timeout, NULL, 0);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The size of the register state the kernel saved in a signal frame: the whole XSAVE area when
 * the frame says it holds one (its software-reserved bytes, Linux's fpstate layout), else the
 * legacy 512 bytes. */
static size_t frame_xstate_size(const struct _libc_fpstate* fp) {
  const uint32_t* sw = (const uint32_t*)((const uint8_t*)fp + 464); /* magic1, extended_size, ... */
  if (sw[0] == 0x46505853u /* FP_XSTATE_MAGIC1 */ && sw[1] > 512 && sw[1] < (1u << 16)) return sw[1];
  return 512;
}

static void hold_here(void* context);
static void restart_wait(void* context);
static uint64_t parse_hex_mask(const char* p);

/* A /proc file of this process into buf, NUL-terminated: its length, or <= 0. Only
 * async-signal-safe calls: the handler reads one too. */
static ssize_t read_proc(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n > 0) buf[n] = 0;
  return n;
}

/* The value of a "Key:" line of a status file, blanks skipped; NULL without one. */
static const char* status_field(const char* status, const char* key_line) {
  const char* at = strstr(status, key_line);
  if (!at) return NULL;
  at += strlen(key_line);
  while (*at == ' ' || *at == '\t') at++;
  return at;
}

static void on_hold_signal(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  bool ours = info->si_code == SI_TKILL && info->si_pid == getpid() && pt_load_acquire(&outstanding) > 0;
  if (!ours) { /* the program's own use of this signal */
    errno = saved_errno;
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) previous.sa_sigaction(sig, info, context);
    else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN && previous.sa_handler) previous.sa_handler(sig);
    return;
  }
  pt_fetch_sub_relaxed(&outstanding, 1);
  if (!pt_load_acquire(&holding)) { /* arrived after the scan: nothing to do */
    errno = saved_errno;
    return;
  }
  /* Mid-way through a change the scan cannot read through (a realloc, its block without a record
   * for a moment): the thread finishes it and is held there (pt_track_threads_arrive_late), a few
   * microseconds later; the hold waits for it as for any other. */
  if (midchange_probe && midchange_probe()) {
    pt_track_hold_late = 1;
    errno = saved_errno;
    return;
  }
  hold_here(context);
  restart_wait(context);
  errno = saved_errno;
}

void pt_track_threads_arrive_late(void) {
  pt_track_hold_late = 0;
  if (!pt_load_acquire(&holding)) return;
  /* Held as in the handler, every signal blocked: the one thread of the process taking signals, a
   * program's handler would run here and allocate while the scan marks. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  ucontext_t uc; /* this point's registers, as a signal frame would hold them */
  if (getcontext(&uc) == 0) {
    uc.uc_mcontext.fpregs = NULL;
    hold_here(&uc);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static void hold_here(void* context) {
  pt_fetch_add_acq_rel(&inside, 1);
  unsigned i = pt_fetch_add_acq_rel(&nheld, 1);
  if (i < HOLD_MAX) {
    const ucontext_t* uc = context;
    memcpy(held[i].regs, uc->uc_mcontext.gregs, sizeof held[i].regs);
    held[i].thread_pointer = (uintptr_t)__builtin_thread_pointer();
    held[i].xstate = (uintptr_t)uc->uc_mcontext.fpregs;
    held[i].xstate_size = held[i].xstate ? frame_xstate_size(uc->uc_mcontext.fpregs) : 0;
    /* Interrupted on its alternate signal stack (this handler runs on the interrupted stack): its
     * stack pointer is not on its thread stack, which must then not be taken for a dead one. */
    stack_t alt;
    if (sigaltstack(NULL, &alt) == 0 && (alt.ss_flags & SS_ONSTACK)) pt_store_relaxed(&off_stack, 1);
    pt_store_release(&held[i].tid, syscall(SYS_gettid));
  }
  uint64_t give_up = now_ms() + RELEASE_WAIT_MS;
  for (;;) { /* the futex word is read before the flag: a release in between wakes the wait */
    uint32_t generation = pt_load_acquire(&released);
    if (!pt_load_acquire(&holding) || now_ms() > give_up) break;
    struct timespec step = {0, 100 * 1000000L};
    futex(&released, FUTEX_WAIT_PRIVATE, generation, &step);
  }
  pt_fetch_sub_relaxed(&inside, 1);
}

/* The hold must not show. Waits that the kernel never restarts after a handler, whatever its
 * SA_RESTART (pause, nanosleep and sleep, poll, select, epoll_wait, sigsuspend: signal(7)), return
 * EINTR once the handler is over: a main thread sleeping while a worker called exit(4) returned
 * from main with 0, ended the process with status 0 and cut the final trace short. So a thread the
 * hold's signal took straight out of a system call with EINTR is sent back into it, as the kernel
 * restarts the calls it may: rip back onto the syscall instruction, rax the call's number. The
 * arguments are still in their registers (a system call changes only rax, rcx and r11). A timed
 * wait starts its time again (a sleep of 60 s sleeps up to 60 s more).
 * - The call's number: /proc/TID/syscall, read before the signal was sent, where it shows this
 *   very call (same pc, same arguments); else the `mov $NR, %eax` that most glibc wrappers put
 *   right before their syscall instruction, taken only for the waits that end with EINTR (a 0xb8
 *   ending some other instruction must not run another call). /proc is unreadable in a process
 *   that is not dumpable, and after a stop it shows restart_syscall, whose state the handler's
 *   return has reset (a review found both ending sleeps early). Where neither tells (a wrapper
 *   loading the number earlier, syscall()), the wait ends with EINTR as before.
 * - Not when a signal of the program's own, with a handler, is pending for this thread and not
 *   blocked where it was: natively that signal would have ended the wait with EINTR, and sent
 *   back, the thread would take it and wait on. One whose handler ran just before ours and
 *   blocked ours meanwhile is not seen: that wait is restarted, where natively it ended.
 * - Also when the hold gave up waiting for the scan (the process was stopped, or the scan is long).
 * Keeping such threads held until the process ended instead hung exits: a library's destructor
 * joining a worker, glibc's final flush waiting for a stream lock, the loader's locks held by a
 * thread sleeping in a dl_iterate_phdr callback (found in review). */
static long syscall_number(const greg_t* g) {
  long self = syscall(SYS_gettid);
  unsigned n = pt_load_acquire(&nwaits);
  for (unsigned i = 0; i < n && i < HOLD_MAX; i++) {
    const wait_t* w = &waits[i];
    if (pt_load_acquire(&w->tid) != self) continue;
    const uint64_t regs[6] = {(uint64_t)g[REG_RDI], (uint64_t)g[REG_RSI], (uint64_t)g[REG_RDX],
                              (uint64_t)g[REG_R10], (uint64_t)g[REG_R8],  (uint64_t)g[REG_R9]};
    if (w->pc == (uint64_t)g[REG_RIP] && memcmp(w->args, regs, sizeof regs) == 0 && w->nr != SYS_restart_syscall)
      return w->nr;
    break;
  }
  const uint8_t* ip = (const uint8_t*)g[REG_RIP]; /* the syscall instruction's page is mapped */
  if ((((uintptr_t)ip - 7) >> 12) != (((uintptr_t)ip - 2) >> 12) || ip[-7] != 0xb8) return -1;
  int32_t nr;
  memcpy(&nr, ip - 6, sizeof nr);
  /* Read from code, the number is taken only for the waits that end with EINTR: a 0xb8 byte that
   * ends some other instruction must not run another call with these arguments. */
  static const int32_t waits_ending_in_eintr[] = {
      SYS_pause,       SYS_nanosleep,    SYS_clock_nanosleep, SYS_poll,          SYS_ppoll,
      SYS_select,      SYS_pselect6,     SYS_epoll_wait,      SYS_epoll_pwait,   SYS_rt_sigsuspend,
      SYS_rt_sigtimedwait, SYS_futex,    SYS_io_getevents,    SYS_semop,         SYS_semtimedop,
      SYS_msgrcv,      SYS_msgsnd};
  for (size_t i = 0; i < sizeof waits_ending_in_eintr / sizeof waits_ending_in_eintr[0]; i++)
    if (nr == waits_ending_in_eintr[i]) return nr;
  return -1;
}

/* Signals sent to this thread (SigPnd), not to the process (ShdPnd): a signal for the process that
 * arrived during the hold is pending for every held thread, but natively only one thread would
 * have taken it and left its wait (a review saw all of them leave theirs). */
static uint64_t pending_for_thread(void) {
  char buf[4096];
  if (read_proc("/proc/thread-self/status", buf, sizeof buf) <= 0) return 0;
  const char* pending = status_field(buf, "\nSigPnd:");
  return pending ? parse_hex_mask(pending) : 0;
}

static bool own_signal_came(const ucontext_t* uc) {
  uint64_t pending = pending_for_thread();
  for (int s = 1; s <= 64 && pending; s++) {
    /* A pending HOLD_SIGNAL is the program's own: the hold sends one at a time, and it is this */
    if (!(pending >> (s - 1) & 1) || sigismember(&uc->uc_sigmask, s)) continue;
    struct {
      uintptr_t handler;
      unsigned long flags;
      uintptr_t restorer;
      uint64_t mask;
    } act; /* the kernel's: the action as it is, not as the preload shows it to the program */
    if (syscall(SYS_rt_sigaction, s, NULL, &act, sizeof act.mask) != 0) return true;
    if (act.handler != (uintptr_t)SIG_DFL && act.handler != (uintptr_t)SIG_IGN) return true;
  }
  return false;
}

static void restart_wait(void* context) {
  ucontext_t* uc = context;
  greg_t* g = uc->uc_mcontext.gregs;
  const uint8_t* ip = (const uint8_t*)g[REG_RIP];
  /* The syscall instruction was just run, so its two bytes are mapped, even on the page before */
  if (g[REG_RAX] != -EINTR || ip[-2] != 0x0f || ip[-1] != 0x05) return;
  long nr = syscall_number(g);
  if (nr < 0 || own_signal_came(uc)) return;
  g[REG_RIP] -= 2;
  g[REG_RAX] = nr;
}

/* "NR 0xARG1 ... 0xARG6 0xSP 0xPC" for a thread blocked in a system call ("-1 ..." outside one,
 * "running" when it runs): kept for restart_wait. */
static void note_wait(const char* tid_text, long tid) {
  char path[64] = "/proc/self/task/";
  strcat(path, tid_text);
  strcat(path, "/syscall");
  char buf[256];
  if (read_proc(path, buf, sizeof buf) <= 0 || buf[0] < '0' || buf[0] > '9') return;
  const char* p = buf;
  wait_t w = {0};
  while (*p >= '0' && *p <= '9') w.nr = w.nr * 10 + (*p++ - '0');
  for (int k = 0; k < 8; k++) { /* six arguments, the stack pointer, the pc */
    if (p[0] != ' ' || p[1] != '0' || p[2] != 'x') return;
    p += 3;
    uint64_t v = parse_hex_mask(p);
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) p++;
    if (k < 6) w.args[k] = v;
    else if (k == 7) w.pc = v;
  }
  unsigned i = pt_fetch_add_acq_rel(&nwaits, 1);
  if (i >= HOLD_MAX) return;
  waits[i].nr = w.nr;
  waits[i].pc = w.pc;
  memcpy(waits[i].args, w.args, sizeof w.args);
  pt_store_release(&waits[i].tid, tid);
}

static bool install(void) {
  if (pt_load_acquire(&installed)) return true;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_hold_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask); /* nothing else runs on top of a held thread */
  if (sigaction(HOLD_SIGNAL, &sa, &previous) != 0) return false;
  pt_store_release(&installed, 1); /* stays installed: a late delivery must find a handler */
  pt_track_leaks_exclude(held, sizeof held); /* the scan reads the entries in use itself */
  pt_track_leaks_exclude(waits, sizeof waits); /* copies of registers the scan reads in held */
  return true;
}

static uint64_t parse_hex_mask(const char* p) {
  uint64_t v = 0;
  for (;; p++) {
    int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
    if (d < 0) return v;
    v = v << 4 | (uint64_t)d;
  }
}

/* What the hold can do with thread `tid`: signal it, or not (it blocks the signal and would never
 * answer), or nothing at all: it has ended. A zombie counts as ended: the main thread after
 * pthread_exit stays listed, as a zombie, until the process exits, and waiting for its answer
 * cost every such program the whole 2 s bound at exit. */
enum thread_kind { SIGNALLABLE, BLOCKS_SIGNAL, ENDED };

static enum thread_kind thread_kind(const char* tid) {
  char path[64] = "/proc/self/task/";
  strcat(path, tid);
  strcat(path, "/status");
  char buf[4096];
  if (read_proc(path, buf, sizeof buf) <= 0) return ENDED;
  const char* state = status_field(buf, "\nState:");
  if (state && (*state == 'Z' || *state == 'X')) return ENDED;
  const char* blocked = status_field(buf, "\nSigBlk:");
  if (!blocked) return SIGNALLABLE;
  return (parse_hex_mask(blocked) >> (HOLD_SIGNAL - 1)) & 1 ? BLOCKS_SIGNAL : SIGNALLABLE;
}

/* A thread stopped by the ptrace helper, into the table as if its handler had run. */
static void add_ptrace_held(const pt_ptrace_held_t* t) {
  unsigned i = pt_fetch_add_acq_rel(&nheld, 1);
  if (i >= HOLD_MAX) return;
  const struct user_regs_struct* r = &t->regs;
  uint64_t* g = held[i].regs;
  g[REG_R8] = r->r8, g[REG_R9] = r->r9, g[REG_R10] = r->r10, g[REG_R11] = r->r11;
  g[REG_R12] = r->r12, g[REG_R13] = r->r13, g[REG_R14] = r->r14, g[REG_R15] = r->r15;
  g[REG_RDI] = r->rdi, g[REG_RSI] = r->rsi, g[REG_RBP] = r->rbp, g[REG_RBX] = r->rbx;
  g[REG_RDX] = r->rdx, g[REG_RAX] = r->rax, g[REG_RCX] = r->rcx, g[REG_RSP] = r->rsp, g[REG_RIP] = r->rip;
  held[i].thread_pointer = r->fs_base;
  held[i].xstate = t->xstate_size ? (uintptr_t)t->xstate : 0; /* the helper's shared memory: valid until release */
  held[i].xstate_size = t->xstate_size;
  pt_store_release(&held[i].tid, t->tid);
}

static bool arrived(long tid) {
  unsigned n = pt_load_acquire(&nheld);
  for (unsigned i = 0; i < n && i < HOLD_MAX; i++)
    if (pt_load_acquire(&held[i].tid) == tid) return true;
  return false;
}

static bool gone(pid_t pid, long tid) { return syscall(SYS_tgkill, pid, tid, 0) != 0 && errno == ESRCH; }

/* The threads that block the signal, by ptrace; false if any of them could not be held. Ending
 * threads block every signal (glibc, at the end of start_thread): a thread seen masked is often one
 * that ends before ptrace can stop it, and has nothing left to hold. */
static bool hold_by_ptrace(const long* masked, unsigned nmasked, pid_t pid) {
  const pt_ptrace_held_t* res;
  unsigned n = pt_track_ptrace_hold(masked, nmasked, &res);
  bool all = n == nmasked;
  for (unsigned i = 0; i < n; i++) {
    if (res[i].ok) {
      add_ptrace_held(&res[i]);
    } else if (gone(pid, res[i].tid)) {
      if (listed) listed--;
    } else {
      all = false;
    }
  }
  return all;
}

static bool all_arrived(const long* sent, unsigned nsent, pid_t pid) {
  for (unsigned k = 0; k < nsent; k++)
    if (sent[k] && !arrived(sent[k]) && !gone(pid, sent[k])) return false;
  return true;
}

/* Threads that ended instead of answering had nothing left to hold: not unheld. */
static void unlist_gone(const long* sent, unsigned nsent, pid_t pid) {
  for (unsigned k = 0; k < nsent; k++)
    if (sent[k] && !arrived(sent[k]) && gone(pid, sent[k]) && listed) listed--;
}

unsigned pt_track_threads_hold(void) {
  pt_store_relaxed(&missed, 1); /* until every thread listed was sent the signal */
  listed = 0;
  pt_store_relaxed(&off_stack, 0);
  if (!install()) return 0;
  unsigned before = pt_load_relaxed(&nheld); /* only what an earlier hold wrote: the rest is untouched */
  memset(held, 0, (before < HOLD_MAX ? before : HOLD_MAX) * sizeof *held);
  pt_store_relaxed(&nheld, 0);
  unsigned waited = pt_load_relaxed(&nwaits);
  for (unsigned i = 0; i < waited && i < HOLD_MAX; i++) pt_store_relaxed(&waits[i].tid, 0);
  pt_store_relaxed(&nwaits, 0);
  pt_store_release(&holding, 1);
  static long sent[HOLD_MAX]; /* static: the stack of the scanning thread is a root too */
  static long masked[PT_PTRACE_MAX];
  unsigned nsent = 0, nmasked = 0;
  pid_t pid = getpid();
  long self = syscall(SYS_gettid);
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) { /* no /proc: other threads, if the process ever had any, run on unheld */
    pt_store_relaxed(&missed, !__libc_single_threaded);
    return 0;
  }
  char buf[4096];
  long n;
  bool miss = false;
  while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      }* d = (void*)(buf + off);
      off += d->reclen;
      if (d->name[0] < '0' || d->name[0] > '9') continue;
      long tid = 0;
      for (const char* c = d->name; *c >= '0' && *c <= '9'; c++) tid = tid * 10 + (*c - '0');
      if (tid == self) continue;
      enum thread_kind kind = thread_kind(d->name);
      if (kind == ENDED) continue;
      listed++;
      if (kind == BLOCKS_SIGNAL || nsent == HOLD_MAX) {
        if (nmasked < PT_PTRACE_MAX) masked[nmasked++] = tid;
        else miss = true;
        continue;
      }
      note_wait(d->name, tid);
      pt_fetch_add_acq_rel(&outstanding, 1);
      if (syscall(SYS_tgkill, pid, tid, HOLD_SIGNAL) == 0) {
        sent[nsent++] = tid;
      } else { /* gone already */
        pt_fetch_sub_relaxed(&outstanding, 1);
        listed--;
      }
    }
  }
  close(fd);
  pt_store_relaxed(&missed, n < 0 || miss);
  struct timespec start, now, step = {0, 1000000L};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!all_arrived(sent, nsent, pid)) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((uint64_t)(now.tv_sec - start.tv_sec) * 1000000000ull + (uint64_t)now.tv_nsec - (uint64_t)start.tv_nsec >
        ARRIVE_WAIT_NS) {
      pt_store_relaxed(&missed, 1);
      break;
    }
    nanosleep(&step, NULL);
  }
  unlist_gone(sent, nsent, pid);
  if (nmasked && !hold_by_ptrace(masked, nmasked, pid)) pt_store_relaxed(&missed, 1);
  unsigned got = pt_load_acquire(&nheld);
  return got < HOLD_MAX ? got : HOLD_MAX;
}

void pt_track_threads_held(const void** regs, size_t* size) {
  unsigned n = pt_load_acquire(&nheld);
  *regs = held;
  *size = (n < HOLD_MAX ? n : HOLD_MAX) * sizeof *held;
}

unsigned pt_track_threads_held_count(void) {
  unsigned n = pt_load_acquire(&nheld);
  return n < HOLD_MAX ? n : HOLD_MAX;
}

bool pt_track_threads_held_at(unsigned i, uintptr_t* sp, uintptr_t* thread_pointer) {
  if (i >= pt_track_threads_held_count() || !pt_load_acquire(&held[i].tid)) return false;
  *sp = (uintptr_t)held[i].regs[REG_RSP];
  *thread_pointer = held[i].thread_pointer;
  return true;
}

bool pt_track_threads_held_xstate(unsigned i, uintptr_t* lo, uintptr_t* hi) {
  if (i >= pt_track_threads_held_count() || !pt_load_acquire(&held[i].tid) || !held[i].xstate) return false;
  *lo = held[i].xstate;
  *hi = held[i].xstate + held[i].xstate_size;
  return true;
}

unsigned pt_track_threads_unheld(void) {
  unsigned held_now = pt_track_threads_held_count();
  return listed > held_now ? listed - held_now : 0;
}

bool pt_track_threads_all_held(void) {
  return !pt_load_relaxed(&missed) && !pt_load_relaxed(&off_stack) && pt_load_acquire(&nheld) <= HOLD_MAX;
}

void pt_track_threads_set_midchange_probe(bool (*probe)(void)) { midchange_probe = probe; }

void pt_track_threads_release(void) {
  pt_track_ptrace_release();
  if (!pt_load_acquire(&holding)) return;
  pt_store_release(&holding, 0);
  pt_fetch_add_acq_rel(&released, 1);
  futex(&released, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
  struct timespec step = {0, 1000000L};
  for (int i = 0; i < 1000 && pt_load_acquire(&inside) > 0; i++) nanosleep(&step, NULL);
}
