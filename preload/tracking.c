/* tracking.c - see tracking.h. The record (stack id and requested size) lives in the pools' meta
 * word of the block, so malloc and free take no lock and touch no shared table; only a new stack
 * goes through the lock-free stack table. A per-thread guard makes allocations made by the tracker
 * itself (libunwind's first use in a thread, pthread_setspecific) count under the "unknown" stack
 * instead of recursing. */
#define _GNU_SOURCE
#include "tracking.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "jsonl.h"
#include "leaks.h"
#include "modules.h"
#include "timeline.h"
#include "options.h"
#include "preload.h"
#include "ptmem/ptmem.h"
#include "trace.h"
#include "tracefile.h"
#include "sites.h"
#include "stack.h"
#include "track.h"

bool ptmem_tracking;
static _Atomic int writing; /* one trace write at a time: the writer has one static buffer */
static pt_trace_info_t trace_info;
static pthread_key_t thread_key;
static _Atomic int thread_key_state; /* 0 none, 3 being created, 1 ready, 2 failed */
static _Atomic int self_range_ready;
static _Atomic uint32_t modules_seen_stacks;
/* This thread's state, one byte so that the fast path tests it once: ARMED once its first event
 * set it up, INSIDE while the tracker itself runs (what it allocates then is not tracked), ENDING
 * once its key destructor ran. */
enum { ARMED = 1, INSIDE = 2, ENDING = 4 };
static __thread uint8_t tls_state __attribute__((tls_model("initial-exec")));
/* Between realloc's two tracking calls the block has no record: a leak scan then would take it for
 * freed, and what only it points to for leaked. A scan in a signal handler looks here first. */
static __thread unsigned tls_realloc_open __attribute__((tls_model("initial-exec"))); /* a count: handlers nest */
static bool realloc_open(void) { return tls_realloc_open != 0; } /* the hold's probe, in a held thread's handler */
/* The signal a write is for (0: none) and, for a scan off the thread's stack, where its live part
 * starts: this thread's, given to the trace once it has the writer (another thread's write under
 * way must not take them). */
static __thread int tls_write_signal __attribute__((tls_model("initial-exec")));
static __thread uintptr_t tls_scan_from __attribute__((tls_model("initial-exec")));

bool ptmem_tracking_in_allocator(void) { return pt__tls.busy && pt__busy_is_live(pt__stack_pointer()); }

bool ptmem_tracking_may_write_here(void) {
  return !(tls_state & INSIDE) && !pt_track_locks_held && !tls_realloc_open;
}

static bool thread_counts(void);

/* The process tracking counts for: a vfork child runs in its parent's memory without a fork
 * handler telling us, and is known by its pid differing from this. */
static pid_t tracked_pid;
static pid_t forked_from; /* the process this one is a fork child of (trace_info.forked_child) */

static uint64_t clock_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A relative PTMEM_OUT means the directory the program started in: a daemon's chdir("/") would
 * otherwise send its trace to / (or, unwritable, nowhere). The raw system call: this runs on the
 * first allocation, and glibc's getcwd may allocate. Forked children inherit the anchored path; a
 * program that execs anchors its own in the directory it starts in. */
static void anchor_trace_path(void) {
  char* out = ptmem_options.out;
  char dir[sizeof ptmem_options.out];
  if (out[0] == '/' || out[0] == 0) return;
  long len = syscall(SYS_getcwd, dir, sizeof dir);
  if (len <= 1 || dir[0] != '/') return; /* "(unreachable)/...": outside our root, keep it relative */
  size_t d = strlen(dir), o = strlen(out);
  if (d + 1 + o >= sizeof ptmem_options.out) return; /* too long to anchor: relative, as given */
  memmove(out + d + 1, out, o + 1);
  memcpy(out, dir, d);
  out[d] = '/';
}

void ptmem_tracking_start(void) {
  tracked_pid = (pid_t)syscall(SYS_getpid);
  anchor_trace_path();
  pt__settings.block_meta = true; /* before the first page exists: every block gets a record */
  /* Never roots, and scanning their untouched pages costs every process page faults at exit: the
   * page map's top level (it points at submaps, not at blocks) and the trace writer's buffers. */
  pt_track_leaks_exclude(pt__pagemap, sizeof pt__pagemap);
  pt_track_trace_exclude_buffers();
  trace_info.source = "malloc";
  trace_info.unwinder = ptmem_options.frame_pointers ? "frame-pointers" : "libunwind";
  trace_info.depth = (unsigned)ptmem_options.depth;
  trace_info.start_unix_ns = clock_ns(CLOCK_REALTIME);
  trace_info.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
  pt_track_config_t c = {.depth = (unsigned)ptmem_options.depth, .frame_pointers = ptmem_options.frame_pointers != 0};
  pt_track_stack_configure(&c);
  pt_track_set_sampling((uint64_t)ptmem_options.sample);
  pt_track_leaks_all_mappings = ptmem_options.leak_all_mappings != 0;
  pt_track_threads_set_midchange_probe(realloc_open);
  pt_track_stack_fit_address_limit();
  pt_track_clock_start();
  pt_track_thread_start_hook = thread_counts;
  ptmem_tracking = true;
}

/* Tells the exit scan that this thread's stack, which glibc keeps for a later thread, holds nothing
 * live any more (threadstacks.c). pthread_getattr_np allocates: inside the guard. The main thread's
 * stack is never handed to another thread, and finding it reads /proc/self/maps: left out. */
static void stack_ends(void) {
  if (gettid() == getpid()) return;
  uint8_t was = tls_state;
  tls_state |= INSIDE;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* lo;
    size_t size;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0) pt_track_leaks_thread_ended((uintptr_t)lo, (uintptr_t)lo + size);
    pthread_attr_destroy(&attr);
  }
  tls_state = was;
  pt_track_run_deferred();
}

/* The thread's key destructor. Destructors of other keys may run after it and allocate or free,
 * in this round or the next ones, and nothing says which round is glibc's last: so from here on
 * the thread keeps no tracker state. Its events count into a shared record (thread_counts says
 * false) and its stacks are walked without walk records or caches (capture_walked). Arming the key
 * again to be called in the next round left the state of threads allocating in the last round
 * (tests/stress thread_dtor_rounds, tracked: RSS +32 KiB a thread). */
static void thread_ends(void* arg) {
  (void)arg;
  stack_ends();
  /* Inside and ending: a signal handler's allocation meanwhile must not use the state being given
   * back (its pools' locks are this thread's) nor take a record of its own (nothing would give it
   * back): it takes the unknown stack and counts into the shared record. */
  tls_state |= INSIDE | ENDING;
  pt_track_thread_exit();
  pt_track_unwind_thread_exit();
  pt_track_stacktab_thread_exit();
  tls_state = (uint8_t)((tls_state & ~(ARMED | INSIDE)) | ENDING);
  pt_track_run_deferred(); /* only now: its rows are in the retired table, and it no longer counts as active */
}

/* Things that need a working process (dl_iterate_phdr, pthread keys): done on the first events. */
static void first_use_in_thread(void) {
  if (pt_load_acquire(&self_range_ready) == 0) {
    uintptr_t lo, hi;
    pt_track_config_t c = {.depth = (unsigned)ptmem_options.depth, .frame_pointers = ptmem_options.frame_pointers != 0};
    if (pt_track_module_text_of(&trace_info, &lo, &hi)) { /* any address of ours finds our module */
      c.skip_lo = lo;
      c.skip_hi = hi;
    }
    pt_track_stack_configure(&c);
    pt_store_release(&self_range_ready, 1);
  }
  int st = pt_load_acquire(&thread_key_state);
  if (st == 0) {
    int expected = 0;
    if (pt_cas_strong_acq_rel(&thread_key_state, &expected, 3))
      pt_store_release(&thread_key_state, pthread_key_create(&thread_key, thread_ends) == 0 ? 1 : 2);
    while ((st = pt_load_acquire(&thread_key_state)) == 3) {
    }
  }
  if (st == 1 && !(tls_state & ENDING)) pthread_setspecific(thread_key, (void*)1); /* may allocate: inside the guard */
  pt_track_leaks_thread_started((uintptr_t)__builtin_frame_address(0)); /* perhaps on an ended thread's stack */
  tls_state |= ARMED;
}

/* The stack when the replay could not give it: a walk, which may allocate (libunwind), so inside
 * the guard. */
__attribute__((noinline)) static uint32_t capture_walked(const void* frame) {
  if (tls_state & INSIDE) return PT_STACK_UNKNOWN;
  tls_state |= INSIDE;
  if (pt_unlikely(!(tls_state & ARMED))) first_use_in_thread();
  uint32_t id = pt_likely(!(tls_state & ENDING)) ? pt_track_stack_id_walked(frame)
                                                 : pt_track_stack_id_stateless(frame); /* see thread_ends */
  /* Ids are dense and grow: one not below the count last seen is a new stack, perhaps in code of a
   * library loaded since. A replayed id was walked before and checked then. */
  if (pt_unlikely(id >= pt_load_relaxed(&modules_seen_stacks))) {
    pt_store_relaxed(&modules_seen_stacks, pt_track_stack_count());
    pt_track_modules_refresh();
  }
  tls_state &= (uint8_t)~INSIDE;
  pt_track_run_deferred();
  return id;
}

/* A thread's first counted event (or one after thread_ends: false, see there). */
static bool thread_counts(void) {
  if (tls_state & ENDING) return false;
  if (tls_state & (ARMED | INSIDE)) return true;
  tls_state |= INSIDE;
  first_use_in_thread();
  tls_state &= (uint8_t)~INSIDE;
  pt_track_run_deferred();
  return true;
}

/* `frame`: ours, in the entry point the application called (see pt_track_stack_id_from). A replay
 * reads the stack and this thread's records only: no guard needed. */
static inline __attribute__((always_inline)) uint32_t capture(const void* frame) {
  uint32_t id;
  if (pt_likely(tls_state == ARMED) && pt_track_stack_replay(frame, &id)) return id;
  return capture_walked(frame);
}


static void heap_foreach(void (*fn)(void*, size_t, uint64_t*, void*), void* arg) { pt__foreach_meta(fn, arg); }
static bool heap_find(const void* a, void** start, size_t* size, uint64_t** rec) {
  return pt__block_find(a, start, size, rec);
}
static uintptr_t heap_own_end(uintptr_t addr) { return pt__internal_end(addr); }

/* What a trace write is: a snapshot (skipped if another write is under way), the final trace at
 * exit (waits its turn, the leak scan), the final trace of a process a signal ends (the leak scan,
 * from a signal handler: crash.c), or the final trace of a process ending through _exit or
 * quick_exit (no leak scan, as LeakSanitizer checks nothing there). The waits are bounded: 2 s for
 * _exit and a signal (in a signal handler), 10 s at exit (a snapshot takes well under a second),
 * where another thread's snapshot may be stuck opening a FIFO nobody reads; then the process ends
 * without its final trace, and says so. */
enum trace_kind { SNAPSHOT, AT_EXIT, AT_SIGNAL, AT_EXIT_CALL, BEFORE_EXEC };

static bool take_writer(enum trace_kind kind) {
  for (int tries = kind == AT_EXIT ? 10000 : kind == SNAPSHOT ? 1 : 2000; tries > 0; tries--) {
    int expected = 0;
    if (pt_cas_strong_acq_rel(&writing, &expected, 1)) return true;
    if (tries > 1) nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  if (kind == AT_EXIT || kind == AT_SIGNAL || kind == AT_EXIT_CALL) /* an exec may fail, and the process go on */
    pt__os_write_stderr("ptmem: another trace write did not finish; the process ends without its final trace\n");
  return false;
}

/* Set once the final trace is written (under the writer): nothing may replace it after that, as a
 * snapshot, an _exit or a SIGTERM of another thread while exit's destructors still run would
 * (their trace has no leak scan: the report then passed a program that leaked). */
static bool final_written;
/* The final trace was written before an exec, which may yet fail while another thread calls exit:
 * that exit's trace, with its leak scan, replaces it. */
static bool final_before_exec;
/* Set (under the writer) once a snapshot of this process is at its PTMEM_OUT path: an exec would
 * leave it there as the process's last word (exec.c). */
static _Atomic int snapshot_on_disk;
enum { TRACE_PATH_MAX = 1200 };

static _Atomic int writing_final;
bool ptmem_tracking_writing_final(void) { return pt_load_acquire(&writing_final); }

static int write_trace(const char* path_or_null, enum trace_kind kind) {
  /* A signal handler's call while this thread holds a tracker lock (the timeline's, say) would
   * wait for it forever inside the write. */
  if (pt_track_locks_held) return EBUSY;
  if (path_or_null && strlen(path_or_null) >= TRACE_PATH_MAX) return ENAMETOOLONG;
  if (!take_writer(kind)) return EBUSY;
  bool scans = kind == AT_EXIT || kind == AT_SIGNAL;
  if (final_written && !(scans && final_before_exec)) {
    pt_store_release(&writing, 0);
    return EBUSY;
  }
  if (scans) trace_info.exit_call = NULL; /* "execve", if it replaces the trace before one */
  pt_store_release(&writing_final, scans);
  trace_info.crash_signal = tls_write_signal;
  uint8_t was = tls_state;
  tls_state |= INSIDE;
  int result = 0;
  char path[TRACE_PATH_MAX];
  if (path_or_null) {
    strcpy(path, path_or_null);
  } else if (!pt_track_trace_path(ptmem_options.out, path, sizeof path)) {
    static _Atomic int warned; /* once: periodic snapshots would repeat it every few seconds */
    if (!pt_exchange_acq_rel(&warned, 1))
      pt__os_write_stderr("ptmem: PTMEM_OUT expands to an empty or too long path; no trace written\n");
    result = EINVAL;
  }
  if (!result) {
    static pt_leak_result_t leaks; /* static: nothing of it may live on the stack being scanned */
    if (scans) {
      pt_track_forget_last_allocs();
      pt_track_heap_t heap = {heap_foreach, heap_find, heap_own_end};
      pt_track_leaks_scan_off_stack(tls_scan_from);
      pt_track_leaks_scan(&heap, &leaks);
      pt_track_leaks_scan_off_stack(0);
    }
    uint64_t started = clock_ns(CLOCK_MONOTONIC);
    uint32_t stacks = pt_track_stack_count();
    pt_track_tracefile_bound_waits(kind == AT_SIGNAL || tls_write_signal); /* the process is ending by a signal */
    if (!pt_track_trace_write(path, &trace_info, scans ? &leaks : NULL, kind != SNAPSHOT)) result = EIO;
    pt_track_tracefile_bound_waits(false);
    if (kind == SNAPSHOT) pt_track_timeline_snapshot_took(clock_ns(CLOCK_MONOTONIC) - started, stacks);
    else if (!result) {
      final_written = true;
      final_before_exec = kind == BEFORE_EXEC;
    }
    if (kind == SNAPSHOT && !result && !path_or_null) pt_store_release(&snapshot_on_disk, 1);
  }
  tls_state = was;
  pt_store_release(&writing_final, 0);
  pt_store_release(&writing, 0);
  pt_track_run_deferred();
  return result;
}

/* p's meta word m (NULL: p is NULL, or a block without one). `fresh`: p holds no data yet. */
static inline __attribute__((always_inline)) void track_alloc_at(void* p, uint64_t* m, size_t n, const void* frame,
                                                                 bool fresh) {
  if (!m || !pt_track_sample_this(n)) return; /* not sampled: no record, its free is ignored too */
  uint32_t stack = capture(frame);
  *m = pt_rec_make(stack, n);
  /* A slab block's first word still holds the free list's link to the next free block of its page.
   * A program that writes the block later, partly (a short string) or never, left that link for
   * the exit scan to follow: a leak allocated next in the page came out reachable from the block
   * before it. Every block is at least 8 bytes, and the pop just read this line. */
  if (fresh) *(void**)p = NULL;
  pt_track_alloc(p, stack, n);
  if (pt_unlikely(pt_load_relaxed(&pt_track_snapshot_due)) && !(tls_state & INSIDE) && !pt_track_locks_held &&
      pt_exchange_acq_rel(&pt_track_snapshot_due, 0))
    write_trace(NULL, SNAPSHOT);
}

/* Called by an entry point of ours: this frame's callers out to the application are all ours. */
void ptmem_track_alloc(void* p, size_t n) {
  track_alloc_at(p, p ? pt__block_meta_of(p) : NULL, n, __builtin_frame_address(0), true);
}

static inline __attribute__((always_inline)) void track_free_in(void* p, pt_desc_t* d) {
  uint64_t* m = pt__block_meta(p, d);
  if (!m || !*m) return; /* untracked, or freed twice */
  uint64_t rec = *m;
  *m = 0; /* before the block can be reused */
  pt_track_free(p, pt_rec_stack(rec), pt_rec_size(rec));
}

void ptmem_track_usable(void* p) {
  uint64_t* m = pt__block_meta_of(p);
  if (m && *m) *m |= PT_REC_USABLE;
}

void ptmem_track_free(void* p) {
  pt_desc_t* d = p ? pt__pagemap_lookup(p) : NULL;
  if (d) track_free_in(p, d); /* else foreign */
}

/* malloc tail-calls it: this frame's return address is in the application. */
void* ptmem_tracked_malloc(size_t n) {
  uint64_t* m;
  void* p = pt__entry_alloc_meta(n, &m);
  track_alloc_at(p, m, n, __builtin_frame_address(0), true);
  return p;
}

void ptmem_tracked_free(void* p) {
  pt_desc_t* d = pt__pagemap_lookup(p); /* once for the tracker and the pools both */
  if (pt_likely(d != NULL)) {
    track_free_in(p, d);
    pt__entry_free_in(p, d);
  } else if (p) {
    ptmem_foreign_free(p);
  }
}

/* After the block's new record is in place: a hold or a request to end that found the thread in
 * the window is served now. */
static inline void realloc_window_closes(void) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (--tls_realloc_open == 0) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (pt_unlikely(pt_track_hold_late)) pt_track_threads_arrive_late();
    pt_track_run_deferred();
  }
}

uint64_t ptmem_track_realloc_begin(void* p) {
  uint64_t* m = p ? pt__block_meta_of(p) : NULL;
  if (!m) return 0;
  uint64_t rec = *m;
  if (!rec) return 0;
  tls_realloc_open++; /* before the record goes: a signal between the two must see the window */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  *m = 0;
  return rec;
}

void ptmem_track_realloc_end(void* p, uint64_t old, void* q, size_t n) {
  if (!q) { /* failed: p is untouched, and so is its record */
    uint64_t* m = p ? pt__block_meta_of(p) : NULL;
    if (m) *m = old;
    if (old) realloc_window_closes();
    return;
  }
  if (old) pt_track_free(p, pt_rec_stack(old), pt_rec_size(old));
  track_alloc_at(q, pt__block_meta_of(q), n, __builtin_frame_address(0), false); /* q holds p's data */
  if (old) realloc_window_closes();
}

/* The stack below this frame is the tracker's: its buffers are not initialised and hold words of
 * the application's dead frames (a lost block's address, say), so the exit scan starts here. The
 * registers of the code that called exit are spilled just below, into the scanned part. */
__attribute__((noinline)) static void scan_and_write_at_exit(void) {
  jmp_buf regs;
  setjmp(regs);
  pt_track_leaks_live_stack_from((uintptr_t)&regs);
  pt_exit_caller_t caller;
  uint8_t was = tls_state;
  tls_state |= INSIDE; /* libunwind's own allocations are not the program's */
  bool found = pt_track_exit_caller(ptmem_exit_libc(), pt_track_stack_config.skip_lo, pt_track_stack_config.skip_hi,
                                    &caller);
  tls_state = was;
  pt_track_leaks_exit_caller(found ? &caller : NULL);
  write_trace(NULL, AT_EXIT);
  pt_track_leaks_exit_caller(NULL);
  __asm__ volatile("" : : "r"(&regs) : "memory");
}

/* The frame above (its padding, the words setjmp leaves alone) is laid where the application's
 * calls left their words, and it is scanned as live: zero that stack first. A lost list's node
 * sat there after a change of the allocator's frame sizes, and came out reachable. */
__attribute__((noinline)) static void clear_dead_stack(void) {
  volatile uintptr_t words[2048];
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) words[i] = 0;
}

void ptmem_tracking_finish(void) {
  if (!ptmem_tracking) return;
  pt_track_leaks_save_vector_registers(); /* before clearing the stack may use them */
  clear_dead_stack();
  scan_and_write_at_exit();
}

PT_EXPORT int ptmem_tracking_enabled(void) { return ptmem_tracking; }

PT_EXPORT int ptmem_snapshot(const char* path) {
  if (!ptmem_tracking) return ENOTSUP;
  return write_trace(path, SNAPSHOT);
}

/* From the _exit, _Exit and quick_exit wrappers (exit.c): the process ends without its destructors,
 * so its final trace is written here, without a leak scan (as LeakSanitizer, which checks nothing on
 * these paths; a forked child ending in _exit holds a copy of its parent's heap). Not in a vfork
 * child, and not inside the tracker (a signal handler that interrupted it, calling _exit). */
void ptmem_tracking_exit_call(const char* how) {
  if (!ptmem_tracking || (tls_state & INSIDE) || pt_track_locks_held || (pid_t)syscall(SYS_getpid) != tracked_pid)
    return;
  trace_info.exit_call = how;
  write_trace(NULL, AT_EXIT_CALL);
}

/* From the exec wrappers (exec.c), before the exec: the final trace, without a leak scan, if a
 * snapshot of this process is on disk (else nothing, as before: the new image's trace is the
 * process's). True if it was written: then exec_failed must let the process write another. */
bool ptmem_tracking_exec_call(const char* how) {
  if (!ptmem_tracking || !pt_load_acquire(&snapshot_on_disk) || (tls_state & INSIDE) || pt_track_locks_held ||
      (pid_t)syscall(SYS_getpid) != tracked_pid)
    return false;
  int saved = errno;
  trace_info.exit_call = how;
  bool wrote = write_trace(NULL, BEFORE_EXEC) == 0;
  if (!wrote) trace_info.exit_call = NULL;
  errno = saved;
  return wrote;
}

/* The exec returned: it failed, the process goes on, and its final trace is still to come. */
void ptmem_tracking_exec_failed(bool wrote) {
  if (!wrote) return;
  int saved = errno;
  for (int tries = 2000; tries > 0; tries--) { /* another thread's snapshot would see final_written: brief */
    int expected = 0;
    if (pt_cas_strong_acq_rel(&writing, &expected, 1)) {
      if (final_before_exec) { /* else another thread's exit has written the final trace since */
        final_written = false;
        final_before_exec = false;
        trace_info.exit_call = NULL;
      }
      pt_store_release(&writing, 0);
      break;
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  errno = saved;
}

/* From the crash handler (crash.c), in the thread that crashed. A tracker lock of this thread's
 * would never be released: then no trace (the last periodic snapshot stays). A write already
 * under way (write_trace does not wait for it) is left to finish if it can. */
bool ptmem_tracking_vfork_child(void) { return (pid_t)syscall(SYS_getpid) != tracked_pid; }

void ptmem_tracking_crash_snapshot(int signo) {
  if (!ptmem_tracking || pt_track_locks_held) return;
  tls_write_signal = signo;
  write_trace(NULL, SNAPSHOT);
  tls_write_signal = 0;
}

/* Runs fn with the stack pointer at top: the scan needs tens of KiB of stack, and a signal may come
 * on a thread with little left (a small thread stack, a coroutine's, the alternate signal stack). */
static void call_on_stack(void (*fn)(void), void* top) {
#if defined(__x86_64__)
  __asm__ volatile("mov %%rsp, %%rbx\n\t"
                   "mov %[top], %%rsp\n\t"
                   "call *%[fn]\n\t"
                   "mov %%rbx, %%rsp"
                   : [fn] "+r"(fn), [top] "+r"(top)
                   :
                   : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0",
                     "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                     "xmm12", "xmm13", "xmm14", "xmm15");
#else
  (void)top;
  fn();
#endif
}

static void scan_and_write_on_signal(void) { write_trace(NULL, AT_SIGNAL); }

enum { SIGNAL_SCAN_STACK = 256 * 1024 };

bool ptmem_tracking_end_by_signal(int signo, pid_t sender) {
  if (!ptmem_tracking || !ptmem_tracking_may_write_here()) return false;
  /* A worker its parent forked and now stops (a multiprocessing pool's, with SIGTERM): its heap is
   * the parent's copy, and scanned it would show the parent's leaks, and the blocks the parent's
   * other threads held, once per worker. As for _exit, the trace is final, without the scan. A fork
   * child stopped by anyone else is the program going on (a daemon, whose parent has exited): its
   * leaks are its own, and scanned. */
  if (trace_info.forked_child && sender && sender == forked_from && sender == getppid()) {
    tls_write_signal = signo;
    return write_trace(NULL, AT_EXIT_CALL) == 0;
  }
  /* Called out of a handler too (crash.c's deferred case): the registers of the code below, which
   * no signal frame holds then, are spilled here, above the stack pointer the scan starts from. */
  jmp_buf regs;
  setjmp(regs);
  uintptr_t sp = pt__stack_pointer();
  if (ptmem_tracking_in_allocator()) return false; /* the heap is mid-change: the scan would misread it */
  /* Interrupted on the alternate signal stack (inside another handler): its frames, where the
   * interrupted registers are, may lie in a block of the heap, which is not read as a stack. */
  stack_t alt;
  if (sigaltstack(NULL, &alt) == 0 && (alt.ss_flags & SS_ONSTACK)) return false;
  char* stack = pt__os_reserve(SIGNAL_SCAN_STACK, 4096);
  if (!stack) return false;
  pt_track_leaks_exclude(stack, SIGNAL_SCAN_STACK);
  tls_write_signal = signo;
  /* The code the signal interrupted is live from here up: its registers are in the signal frame
   * above, its red zone between that and its frames. */
  tls_scan_from = sp;
  call_on_stack(scan_and_write_on_signal, stack + SIGNAL_SCAN_STACK);
  tls_scan_from = 0;
  pt__os_release(stack, SIGNAL_SCAN_STACK);
  __asm__ volatile("" : : "r"(&regs) : "memory");
  return final_written;
}

static void snapshot_signal(int sig) {
  (void)sig;
  pt_store_relaxed(&pt_track_snapshot_due, 1); /* async-signal-safe: the next allocation writes it */
}

void ptmem_tracking_load_unwinder(void) {
  if (!ptmem_tracking || ptmem_options.frame_pointers) return;
  if (!pt_track_stack_load_libunwind()) {
    pt__os_write_stderr("ptmem: cannot load libunwind.so.8; stacks are taken by walking frame pointers, "
                        "which stops at code built without them\n");
    trace_info.unwinder = "frame-pointers";
  }
}

/* A fault signal is refused: the kernel sends it for the faulting instruction, and a handler that
 * returns runs that instruction again (PTMEM_SNAPSHOT_SIGNAL=11: a null pointer write spun at 100%
 * CPU for ever instead of crashing). Refused, the option is 0, so the crash handlers take that
 * signal as they do by default. */
static bool is_fault_signal(int signo) {
  return signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE || signo == SIGTRAP ||
         signo == SIGSYS;
}

void ptmem_tracking_install_signal(int signo) {
  if (!ptmem_tracking || signo <= 0) return;
  if (is_fault_signal(signo)) {
    pt__os_write_stderr("ptmem: PTMEM_SNAPSHOT_SIGNAL names a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP "
                        "or SIGSYS), which a crash sends; no snapshot signal\n");
    ptmem_options.snapshot_signal = 0;
    return;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = snapshot_signal;
  sa.sa_flags = SA_RESTART;
  if (sigaction(signo, &sa, NULL) != 0) { /* SIGKILL, SIGSTOP, or one the C library keeps (32, 33) */
    pt__os_write_stderr("ptmem: PTMEM_SNAPSHOT_SIGNAL names a signal that cannot be caught; no snapshot signal\n");
    ptmem_options.snapshot_signal = 0;
  }
}

void ptmem_tracking_fork_child(void) {
  if (!ptmem_tracking) return;
  tracked_pid = (pid_t)syscall(SYS_getpid);
  trace_info.forked_child = true;
  forked_from = getppid();
  /* A snapshot another thread was writing at the fork is not being written here: its writer did
   * not come along, and the child's final trace would wait for it forever. */
  pt_store_relaxed(&writing, 0);
  final_written = false; /* the parent's, forked from an atexit handler: the child's is to come */
  final_before_exec = false;
  pt_store_relaxed(&snapshot_on_disk, 0); /* the parent's: the child's trace has a path of its own */
  pt_track_sites_fork_child();
  pt_track_unwind_fork_child();
  pt_track_stack_fork_child();
  pt_track_stacktab_fork_child();
  pt_track_modules_fork_child();
  pt_track_timeline_fork_child();
  pt_jsonl_fork_child();
  trace_info.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
  trace_info.start_unix_ns = clock_ns(CLOCK_REALTIME);
}
