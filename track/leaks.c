/* leaks.c - reachability scan at exit (LeakSanitizer's algorithm, compiler-rt lsan_common.cpp).
 *
 * Roots, LeakSanitizer's (roots_t says which; pt_track_leaks_all_mappings: every writable mapping
 * instead): the writable segments of the loaded modules; of each thread stack only the live part,
 * for the scanning thread from its stack pointer up (registers spilled there first), for the others
 * from the stack pointer hold.c caught them at, nothing of the stacks of ended threads
 * (threadstacks.c); static TLS around each live thread pointer; the held registers; the blocks
 * ld.so allocated. Never the allocator's own memory or the tracker's. Every aligned
 * word that points inside the requested bytes of a live block (interior pointers count; one past
 * the end does not, as in LSan, but for an 8-byte block holding 0: `new T[0]`'s cookie) marks the
 * block reachable;
 * reachable blocks are scanned in turn (an explicit work list, no recursion). Then every block left
 * unmarked is scanned once and whatever it points to that is not reachable is marked indirect: a
 * list whose head leaked is one definite leak plus indirect nodes. A pointer to itself does not count.
 * Marks live in two bits of the record. A fault while reading (a mapping that vanished) abandons
 * that range and the result says it is incomplete. */
#include "leaks.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "../pools/atomic.h"
#include "../pools/os.h"
#include "modules.h"
#include "touched.h"
#include "track.h"

/* The tracker's own reservations (stack table, per-thread rows...): never roots, and scanning their
 * untouched gigabytes would cost seconds. Appended lock-free; a full list only costs scan time. */
#define EXCLUDED_MAX 4096
static struct {
  _Atomic uintptr_t lo, hi;
} excluded[EXCLUDED_MAX];
static _Atomic int nexcluded;

void pt_track_leaks_exclude(const void* p, size_t size) {
  if (!p) return;
  int i = pt_fetch_add_relaxed(&nexcluded, 1);
  if (i >= EXCLUDED_MAX) return;
  pt_store_relaxed(&excluded[i].hi, (uintptr_t)p + size);
  pt_store_release(&excluded[i].lo, (uintptr_t)p);
}

const char* pt_leak_kind_name(int kind) {
  static const char* names[] = {"definite", "indirect", "reachable"};
  return kind >= 0 && kind < PT_LEAK_KINDS ? names[kind] : "?";
}

typedef struct scan_s {
  const pt_track_heap_t* heap;
  void** work; /* blocks to scan */
  size_t nwork, cap;
  size_t live;
  pt_touched_t touched;
} scan_t;

static sigjmp_buf fault_jump;
static volatile sig_atomic_t in_range;
static pid_t scanner; /* the thread whose reads are guarded */
static struct sigaction old_segv, old_bus;

/* A fault of the scan's own reads is a range that went away. Any other thread's fault (one the
 * hold could not stop) is that thread's, handled as without the scan (jumping onto the scanner's
 * stack from there hid a crash: the process exited 0). A handler of the program's that may go on
 * (a runtime's guard pages) is called from here, and the scan keeps its own; the default action,
 * or a handler that resets itself (ptmem's crash handler), is put back for the process and the
 * instruction runs again under it: the process ends, and the scan with it. */
static void on_fault(int sig, siginfo_t* info, void* context) {
  if (in_range && (pid_t)syscall(SYS_gettid) == scanner) siglongjmp(fault_jump, 1);
  const struct sigaction* old = sig == SIGBUS ? &old_bus : &old_segv;
  bool handler = (old->sa_flags & SA_SIGINFO) || (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN);
  if (!handler || (old->sa_flags & SA_RESETHAND)) {
    sigaction(sig, old, NULL);
  } else if (old->sa_flags & SA_SIGINFO) {
    old->sa_sigaction(sig, info, context);
  } else {
    old->sa_handler(sig);
  }
}

/* A block found reachable: its contents are scanned in turn (drain). */
static inline void mark_reachable(scan_t* s, void* block, uint64_t* rec) {
  *rec |= PT_REC_MARK_REACHABLE;
  if (s->nwork < s->cap) s->work[s->nwork++] = block;
}

/* LSan's one exception to "one past the end does not count" (IsSpecialCaseOfOperatorNew0): C++'s
 * `new T[0]` for a T with a destructor allocates just the 8-byte array cookie, holding 0, and
 * returns the address one past it, which is all the program keeps. The allocator's smallest slot
 * is 16 bytes, so that address still finds the 8-byte block. */
static inline bool is_new_array_zero(const void* start, size_t requested, uintptr_t w) {
  return requested == sizeof(uintptr_t) && w == (uintptr_t)start + sizeof(uintptr_t) &&
         *(const uintptr_t*)start == 0;
}

/* Marks the block at word w with `mark` if it is not marked yet; reachable ones go on the list. */
static inline void consider(scan_t* s, uintptr_t w, const void* from_block, uint64_t mark) {
  if (w < 4096 || (w >> 47)) return;
  void* start;
  size_t size;
  uint64_t* rec;
  if (!s->heap->find((const void*)w, &start, &size, &rec)) return;
  if (start == from_block) return; /* a pointer to itself */
  size_t requested = (*rec & PT_REC_USABLE) ? size : pt_rec_size(*rec);
  if (w - (uintptr_t)start >= (requested ? requested : 1) && !is_new_array_zero(start, requested, w))
    return; /* past the end: LSan ignores it */
  if (*rec & PT_REC_MARK_REACHABLE) return;
  if (mark == PT_REC_MARK_INDIRECT) {
    *rec |= PT_REC_MARK_INDIRECT;
    return;
  }
  mark_reachable(s, start, rec);
}

static void scan_words(scan_t* s, uintptr_t lo, uintptr_t hi, const void* from_block, uint64_t mark) {
  lo = (lo + 7) & ~(uintptr_t)7;
  for (uintptr_t a = lo; a + 8 <= hi; a += 8) consider(s, *(const uintptr_t*)a, from_block, mark);
}

#define PT_SCAN_PAGE_CHECK_MIN (64 * 1024) /* smaller blocks read faster than a pagemap lookup */

static void scan_block_contents(scan_t* s, void* block, uint64_t mark) {
  void* start;
  size_t size;
  uint64_t* rec;
  if (!s->heap->find(block, &start, &size, &rec)) return;
  size_t used = (*rec & PT_REC_USABLE) ? size : pt_rec_size(*rec); /* only what it asked for holds data */
  uintptr_t lo = (uintptr_t)start, hi = lo + (used < size ? used : size);
  /* A big block is often mostly untouched (a compressor's dictionary, a hash table's reserve): its
   * pages never written read as zeros, and reading them costs a page fault each. */
  while (hi - lo > PT_SCAN_PAGE_CHECK_MIN) {
    uintptr_t page_end = (lo | 4095) + 1;
    if (!pt_touched_never(&s->touched, lo)) scan_words(s, lo, page_end, start, mark);
    lo = page_end;
  }
  scan_words(s, lo, hi, start, mark);
}

static void drain(scan_t* s) {
  while (s->nwork) scan_block_contents(s, s->work[--s->nwork], PT_REC_MARK_REACHABLE);
}

/* If `a` is in memory that is never a root (the allocator's or the tracker's), its end; else 0. */
static uintptr_t own_end(const scan_t* s, uintptr_t a) {
  uintptr_t end = s->heap->own_end(a);
  if (end) return end;
  int n = pt_load_acquire(&nexcluded);
  for (int i = 0; i < n && i < EXCLUDED_MAX; i++) {
    uintptr_t elo = pt_load_acquire(&excluded[i].lo), ehi = pt_load_relaxed(&excluded[i].hi);
    if (a >= elo && a < ehi) return ehi;
  }
  return 0;
}

static uintptr_t parse_hex(const char** p) {
  uintptr_t v = 0;
  for (;; (*p)++) {
    char c = **p;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return v;
    v = v * 16 + (uintptr_t)d;
  }
}

/* Scans one root range; false if reading it faulted (the mapping went away under us). */
__attribute__((noinline)) static bool guarded_scan(scan_t* s, uintptr_t lo, uintptr_t hi) {
  volatile bool ok = false;
  in_range = 1;
  if (sigsetjmp(fault_jump, 0) == 0) {
    scan_words(s, lo, hi, NULL, PT_REC_MARK_REACHABLE);
    drain(s);
    ok = true;
  }
  in_range = 0;
  return ok;
}

static void scan_leaked(void* block, size_t size, uint64_t* rec, void* arg) {
  (void)size;
  if (!(*rec & PT_REC_MARK_REACHABLE)) scan_block_contents(arg, block, PT_REC_MARK_INDIRECT);
}

/* The indirect pass: every unreachable block's contents. Guarded like the roots: a thread still
 * running at exit may free (and unmap) a block while we read it. */
__attribute__((noinline)) static bool guarded_indirect_pass(scan_t* s) {
  volatile bool ok = false;
  in_range = 1;
  if (sigsetjmp(fault_jump, 0) == 0) {
    s->heap->foreach(scan_leaked, s);
    ok = true;
  }
  in_range = 0;
  return ok;
}

/* Scans the parts of [lo, hi) that are not ours, page by page. Anonymous mappings that touch are
 * merged into one line of /proc/self/maps (without named mappings, before Linux 5.17, nothing keeps
 * ours apart), so one line can hold an allocator region and, next to it, ld.so's first TLS block.
 * Leaving out every line that touched our memory lost such roots: dlerror's message, held in libc's
 * TLS, came out as a definite leak in bash, in some runs only, by how the mappings happened to fall. */
static bool scan_foreign_parts(scan_t* s, uintptr_t lo, uintptr_t hi, bool anonymous) {
  uintptr_t run = lo; /* start of the foreign memory not scanned yet */
  for (uintptr_t a = lo; a < hi;) {
    uintptr_t end = own_end(s, a);
    if (!end && anonymous && pt_touched_never(&s->touched, a)) end = (a | 4095) + 1; /* zeros */
    if (!end) {
      a = (a | 4095) + 1;
      continue;
    }
    if (run < a && !guarded_scan(s, run, a)) return false;
    a = end < hi ? (end > a ? end : a + 1) : hi;
    run = a;
  }
  return run >= hi || guarded_scan(s, run, hi);
}

/* Not backed by a file (inode 0): its pages never touched are zeros, not the file's contents. */
static bool is_anonymous(const char* fields) {
  const char* p = fields;
  for (int field = 0; field < 3; field++) { /* perms, offset, dev */
    while (*p && *p != ' ') p++;
    while (*p == ' ') p++;
  }
  return p[0] == '0' && (p[1] == ' ' || p[1] == 0);
}

bool pt_track_leaks_all_mappings;

/* The root set, LeakSanitizer's unless pt_track_leaks_all_mappings: the writable segments of the
 * loaded modules, the live part of every live thread's stack, every live thread's static TLS and
 * thread control block. Other writable mappings (the program's own mmap'd memory, a runtime's
 * arenas) are not roots, as in LSan. */
typedef struct roots_s {
  uintptr_t own_sp, own_tp; /* the scanning thread's */
  size_t static_tls;        /* glibc's static TLS size, thread control block included */
  bool all_held;            /* every other thread was held: a stack none of them runs on is dead */
  uintptr_t prev_hi;        /* the previous line of /proc/self/maps... */
  bool prev_guard;          /* ...had no access at all: a thread stack's guard below this line */
} roots_t;

static bool scan_part(scan_t* s, uintptr_t lo, uintptr_t hi, uintptr_t from, uintptr_t to, bool anonymous) {
  if (from < lo) from = lo;
  if (to > hi) to = hi;
  return from >= to || scan_foreign_parts(s, from, to, anonymous);
}

/* The main thread's thread pointer, taken when the library is loaded (on the main thread): its
 * stack is "[stack]". A fork child of another thread keeps the value, and rightly: its one thread
 * is not the one that ran on "[stack]" (its tid is the pid all the same). */
static uintptr_t main_tp;
__attribute__((constructor)) static void note_main_thread(void) {
  if (syscall(SYS_gettid) == getpid()) main_tp = (uintptr_t)__builtin_thread_pointer();
}
static size_t static_tls;

/* Whether the thread stack [lo, hi) is the own stack of the exiting thread or of a held one: a
 * thread stack holds its thread's static TLS and control block, the main thread's is "[stack]". */
static bool stack_of_live_thread(const roots_t* r, uintptr_t lo, uintptr_t hi, bool main_stack) {
  bool main_alive = main_tp && main_stack;
  if ((r->own_tp >= lo && r->own_tp < hi) || (main_alive && r->own_tp == main_tp)) return true;
  uintptr_t sp, tp;
  for (unsigned i = 0; i < pt_track_threads_held_count(); i++)
    if (pt_track_threads_held_at(i, &sp, &tp) && ((tp >= lo && tp < hi) || (main_alive && tp == main_tp)))
      return true;
  return false;
}

/* Where the live part of the thread stack [lo, hi) starts: at the lowest stack pointer of the
 * threads running on it (a held thread's less the 128-byte red zone below it, where the code it
 * interrupted may keep data). None running on it: all of it if it is the stack of a live thread
 * that runs elsewhere (exit() called in a handler on its alternate signal stack, a thread switched
 * to a makecontext coroutine's stack), as LSan reads a stack whose thread's stack pointer is off
 * it: the code that switched away is live there; nowhere (hi) if the stack is known dead (an ended
 * thread's that glibc keeps for the next thread, or any when every thread was held), else all of
 * it (a thread that was not held, read whole as LSan does when it cannot place a stack pointer). */
static uintptr_t live_stack_part(const roots_t* r, uintptr_t lo, uintptr_t hi, bool stack, bool main_stack) {
  if (r->own_sp >= lo && r->own_sp < hi) return r->own_sp;
  uintptr_t live = hi, sp, tp;
  for (unsigned i = 0; i < pt_track_threads_held_count(); i++)
    if (pt_track_threads_held_at(i, &sp, &tp) && sp >= lo && sp < hi && sp - 128 < live)
      live = sp - lo > 128 ? sp - 128 : lo;
  if (live < hi || !stack) return live;
  if (stack_of_live_thread(r, lo, hi, main_stack)) return lo;
  uintptr_t dead_end = pt_track_leaks_dead_stack_end(lo, hi);
  if (dead_end) return pt_track_leaks_all_mappings ? dead_end : hi;
  return r->all_held && !pt_track_leaks_all_mappings ? hi : lo;
}

/* The writable segments of loaded modules within [lo, hi): .data and .bss. */
static bool scan_module_parts(scan_t* s, uintptr_t lo, uintptr_t hi, bool anonymous) {
  size_t n = pt_track_modules_count();
  for (size_t i = 0; i < n; i++) {
    const pt_module_t* m = pt_track_module(i);
    if (m->unloaded_ns) continue;
    for (uint32_t k = 0; k < m->nsegments; k++) {
      if (!(m->segments[k].flags & PF_W)) continue;
      uintptr_t from = m->base + m->segments[k].vaddr;
      if (!scan_part(s, lo, hi, from, from + m->segments[k].memsz, anonymous)) return false;
    }
  }
  return true;
}

/* The static TLS and thread control block around thread pointer tp, if in [lo, hi). */
static bool scan_tls(scan_t* s, const roots_t* r, uintptr_t lo, uintptr_t hi, uintptr_t tp, bool anonymous) {
  return tp < lo || tp >= hi || scan_part(s, lo, hi, tp - r->static_tls, tp + r->static_tls, anonymous);
}

/* One line of /proc/self/maps: "lo-hi perms offset dev inode path". */
static bool root_line(scan_t* s, const char* line, roots_t* r) {
  const char* p = line;
  uintptr_t lo = parse_hex(&p);
  if (*p++ != '-') return true;
  uintptr_t hi = parse_hex(&p);
  if (*p++ != ' ') return true;
  bool stack = (r->prev_guard && r->prev_hi == lo) || strstr(line, "[stack]");
  r->prev_hi = hi;
  r->prev_guard = p[0] == '-' && p[1] == '-' && p[2] == '-';
  if (p[0] != 'r') return true;
  if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]") || strstr(line, "[anon:ptmem")) return true;
  bool anonymous = is_anonymous(p);
  /* Read-only now, but part of a module's writable segment: RELRO, or globals the program sealed
   * with mprotect after filling them. LSan reads the whole segment (a block kept only there was a
   * false definite leak); stacks and TLS are never read-only. */
  if (p[1] != 'w') return scan_module_parts(s, lo, hi, anonymous);
  uintptr_t live = live_stack_part(r, lo, hi, stack, strstr(line, "[stack]") != NULL);
  if (pt_track_leaks_all_mappings) return scan_part(s, lo, hi, stack ? live : lo, hi, anonymous);
  if (!scan_part(s, lo, hi, live, hi, anonymous) || !scan_module_parts(s, lo, hi, anonymous)) return false;
  /* Static TLS lies below the thread pointer and the thread control block above it: in a thread's
   * stack mapping, read above already, but the main thread's is memory of ld.so's own. */
  if (!scan_tls(s, r, lo, hi, r->own_tp, anonymous)) return false;
  uintptr_t sp, tp;
  for (unsigned i = 0; i < pt_track_threads_held_count(); i++)
    if (pt_track_threads_held_at(i, &sp, &tp) && !scan_tls(s, r, lo, hi, tp, anonymous)) return false;
  return true;
}

static uintptr_t live_stack_from;
void pt_track_leaks_live_stack_from(uintptr_t sp) { live_stack_from = sp; }
static pt_exit_caller_t exit_caller; /* sp 0: none */
void pt_track_leaks_exit_caller(const pt_exit_caller_t* caller) {
  if (caller) exit_caller = *caller;
  else memset(&exit_caller, 0, sizeof exit_caller);
}
static uintptr_t off_stack_from;
void pt_track_leaks_scan_off_stack(uintptr_t sp) { off_stack_from = sp; }

/* The exiting thread's vector registers, a root as LSan makes them (it reads every thread's
 * extended state with ptrace): glibc's AVX-512 string and memory functions leave heap addresses in
 * ymm16-31, which nothing else overwrites. Saved with XSAVE before the tracker's own code can use
 * them; its size comes from CPUID for the features the kernel enabled. */
static uint8_t own_xstate[16384] __attribute__((aligned(64)));
static size_t own_xstate_size;

void pt_track_leaks_save_vector_registers(void) {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return; /* no XSAVE, no XGETBV */
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d) || b == 0 || b > sizeof own_xstate) return;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  __asm__ volatile("xsave64 %0" : "+m"(own_xstate) : "a"(lo), "d"(hi) : "memory");
  own_xstate_size = b;
#endif
}

/* Without the map (no /proc: a chroot, a new mount namespace, a sandbox), the same roots found
 * another way: the modules' writable segments from the loader, and each known thread's stack
 * from its stack pointer up to where glibc put its thread control block (the top of a thread's
 * stack) or, for the main thread, to the start of its stack (__libc_stack_end). A thread running
 * off its stack (a handler on an alternate stack, a coroutine) or not held leaves the scan
 * incomplete. Before this, no map meant no roots: every live block came out leaked, and the gate
 * failed clean programs (`unshare --mount-proc`'s own process). */
extern void* __libc_stack_end;
#define THREAD_STACK_MAX ((uintptr_t)1 << 30) /* farther: the thread runs off its stack */

static bool scan_thread_stack(scan_t* s, uintptr_t sp, uintptr_t tp) {
  uintptr_t top = tp == main_tp ? (uintptr_t)__libc_stack_end + sizeof(void*) : tp;
  return sp < top && top - sp <= THREAD_STACK_MAX && scan_part(s, 0, UINTPTR_MAX, sp, top, false);
}

/* The static TLS and thread control block around tp, as scan_tls reads them, page by page: the map
 * bounded that range; without it, a page of it beyond the thread's allocation may not be mapped
 * (the main thread's block is page-aligned: a fault, and an incomplete scan, in half the runs), and
 * nothing of the thread is there. */
static void scan_thread_tls(scan_t* s, const roots_t* r, uintptr_t tp) {
  for (uintptr_t a = tp - r->static_tls, end = tp + r->static_tls; a < end;) {
    uintptr_t next = (a | 4095) + 1 < end ? (a | 4095) + 1 : end;
    (void)scan_part(s, 0, UINTPTR_MAX, a, next, false);
    a = next;
  }
}

static void scan_roots_without_map(scan_t* s, const roots_t* r, bool* complete) {
  scan_thread_tls(s, r, r->own_tp);
  bool ok = scan_module_parts(s, 0, UINTPTR_MAX, false) && scan_thread_stack(s, r->own_sp, r->own_tp) && r->all_held;
  uintptr_t sp, tp;
  for (unsigned i = 0; i < pt_track_threads_held_count(); i++)
    if (pt_track_threads_held_at(i, &sp, &tp)) {
      scan_thread_tls(s, r, tp);
      ok = scan_thread_stack(s, sp > 128 ? sp - 128 : sp, tp) && ok;
    }
  if (!ok) *complete = false;
}

__attribute__((noinline)) static void scan_roots(scan_t* s, bool* complete) {
  jmp_buf regs; /* callee-saved registers, spilled onto the stack we scan */
  setjmp(regs);
  roots_t r = {.own_sp = (uintptr_t)__builtin_frame_address(0), .own_tp = (uintptr_t)__builtin_thread_pointer(),
               .static_tls = static_tls, .all_held = pt_track_threads_all_held()};
  if (live_stack_from > r.own_sp) r.own_sp = live_stack_from;
  if (exit_caller.sp > r.own_sp) r.own_sp = exit_caller.sp;
  if (off_stack_from) r.own_sp = off_stack_from;
  int fd = pt__os_open_proc("maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && s->touched.fd >= 0) { /* the last free descriptor: the roots matter, pagemap only saves time */
    pt_touched_close(&s->touched);
    fd = pt__os_open_proc("maps", O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) scan_roots_without_map(s, &r, complete);
  char buf[16384];
  size_t have = 0;
  for (; fd >= 0;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n <= 0) break;
    have += (size_t)n;
    buf[have] = 0;
    char* line = buf;
    char* nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = 0;
      if (!root_line(s, line, &r)) {
        *complete = false;
        s->nwork = 0;
      }
      line = nl + 1;
    }
    have = (size_t)(buf + have - line);
    memmove(buf, line, have);
  }
  if (fd >= 0) close(fd);
  const void* held;
  size_t held_size;
  pt_track_threads_held(&held, &held_size); /* in our .bss, scanned above; again, to be explicit */
  if (held_size && !guarded_scan(s, (uintptr_t)held, (uintptr_t)held + held_size)) *complete = false;
  uintptr_t caller_regs = (uintptr_t)exit_caller.regs;
  if (exit_caller.sp && !guarded_scan(s, caller_regs, caller_regs + sizeof exit_caller.regs)) *complete = false;
  if (own_xstate_size && !guarded_scan(s, (uintptr_t)own_xstate, (uintptr_t)own_xstate + own_xstate_size))
    *complete = false;
  for (unsigned i = 0; i < pt_track_threads_held_count(); i++) {
    uintptr_t lo, hi;
    if (pt_track_threads_held_xstate(i, &lo, &hi) && !guarded_scan(s, lo, hi)) *complete = false;
  }
  __asm__ volatile("" : : "r"(&regs) : "memory");
}

/* glibc's static TLS size, thread control block included (what LSan reads too); unknown: 64 KiB
 * around the thread pointer, clipped to its mapping. Fixed once the program runs, and read when the
 * library is loaded: dlsym takes the loader's lock, which a scan in a signal handler may have
 * interrupted its own thread holding. */
static size_t static_tls_size(void) {
  void* sym = dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
  void (*info)(size_t*, size_t*);
  size_t size = 0, align = 0;
  if (sym) {
    memcpy(&info, &sym, sizeof sym);
    info(&size, &align);
  }
  return size ? size : 64 * 1024;
}
__attribute__((constructor)) static void note_static_tls(void) { static_tls = static_tls_size(); }

/* LSan's rule for the dynamic linker (lsan_common_linux.cpp): every block ld.so allocated is a
 * root. Its dynamic TLS blocks and threads' DTVs are reached only through thread control blocks and
 * arrays that a scan cannot place, and the DTV of an ended thread whose stack glibc keeps for the
 * next thread is reached from that dead stack only, which is not a root. So is every block of the
 * "unknown" stack, as LSan does with blocks it cannot give a caller for and with those allocated
 * inside its own machinery: here, blocks libunwind or the C library allocated for the tracker
 * (libunwind's data is not a root: stack.c), and any beyond a full stack table. */
typedef struct linker_roots_s {
  scan_t* scan;
  uint8_t* by_stack; /* 1: the stack's first frame is in ld.so */
  uint32_t nstacks;
} linker_roots_t;

static void mark_if_linker(void* block, size_t size, uint64_t* rec, void* arg) {
  (void)size;
  linker_roots_t* l = arg;
  uint32_t stack = pt_rec_stack(*rec);
  if (stack >= l->nstacks || !l->by_stack[stack] || (*rec & PT_REC_MARK_REACHABLE)) return;
  mark_reachable(l->scan, block, rec);
}

/* [lo, hi): ld.so's code (none: lo == hi). */
__attribute__((noinline)) static bool scan_linker_roots(scan_t* s, uint32_t nstacks, uintptr_t lo, uintptr_t hi) {
  if (nstacks <= PT_STACK_UNKNOWN) return true;
  linker_roots_t l = {s, pt__os_reserve(nstacks, 4096), nstacks};
  if (!l.by_stack) return false;
  for (uint32_t id = 0; id < nstacks; id++) {
    const uintptr_t* frames;
    l.by_stack[id] = id == PT_STACK_UNKNOWN || (pt_track_stack_frames(id, &frames) > 0 && frames[0] >= lo && frames[0] < hi);
  }
  s->heap->foreach(mark_if_linker, &l);
  pt__os_release(l.by_stack, nstacks);
  return guarded_scan(s, 0, 0); /* drains what they point to */
}

static void clear_and_count(void* block, size_t size, uint64_t* rec, void* arg) {
  (void)block;
  (void)size;
  *rec &= ~PT_REC_MARKS;
  ((scan_t*)arg)->live++;
}


static void classify(void* block, size_t size, uint64_t* rec, void* arg) {
  (void)size;
  pt_leak_result_t* out = arg;
  int kind = (*rec & PT_REC_MARK_REACHABLE) ? PT_LEAK_REACHABLE
             : (*rec & PT_REC_MARK_INDIRECT) ? PT_LEAK_INDIRECT
                                             : PT_LEAK_DEFINITE;
  uint64_t w = pt_track_weight(pt_rec_size(*rec)); /* sampled: one record stands for w blocks */
  uint64_t bytes = (pt_rec_size(*rec) ? pt_rec_size(*rec) : 1) * w; /* malloc(0): 1 byte, as LSan counts it */
  out->count[kind] += w;
  out->bytes[kind] += bytes;
  uint32_t stack = pt_rec_stack(*rec);
  if (out->sites && stack < out->nsites) {
    out->used[stack / 64] |= 1ull << (stack % 64);
    pt_leak_site_t* site = &out->sites[stack];
    if (site->examples[kind] < PT_LEAK_EXAMPLES) site->example[kind][site->examples[kind]++] = (uintptr_t)block;
    site->count[kind] += w;
    site->bytes[kind] += bytes;
  }
  *rec &= ~PT_REC_MARKS;
}

void pt_track_leaks_scan(const pt_track_heap_t* heap, pt_leak_result_t* out) {
  memset(out, 0, sizeof *out);
  out->complete = true;
  scan_t s = {.heap = heap, .touched = {.fd = -1}};
  out->nsites = pt_track_stack_count();
  out->sites = pt__os_reserve((size_t)out->nsites * sizeof(pt_leak_site_t), 4096);
  out->used = pt__os_reserve(((size_t)out->nsites + 63) / 64 * 8, 4096);
  if (!out->sites || !out->used) {
    out->sites = NULL;
    out->complete = false;
    return;
  }
  pt_track_leaks_exclude(out->sites, (size_t)out->nsites * sizeof(pt_leak_site_t));
  pt_track_leaks_exclude(out->used, ((size_t)out->nsites + 63) / 64 * 8);
  struct sigaction sa;
  scanner = (pid_t)syscall(SYS_gettid);
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* SIGSEGV is not blocked while the handler runs, so its siglongjmp leaves the mask as it was
   * and sigsetjmp need not save it: saving is a system call per guarded range, 3% of a tracked
   * /bin/true. */
  sa.sa_flags = SA_NODEFER | SA_SIGINFO;
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
  /* Before the hold: the module table is refreshed under the loader's lock, which a held thread
   * may own. */
  uintptr_t base = (uintptr_t)getauxval(AT_BASE), linker_lo = 0, linker_hi = 0;
  if (!base || !pt_track_module_text_of((const void*)base, &linker_lo, &linker_hi)) linker_lo = linker_hi = 0;
  /* Until the marks are final: held threads neither move nor free blocks (one caught moving a block
   * is held once the move is over: hold.c). */
  pt_track_threads_hold();
  out->threads_unheld = pt_track_threads_unheld();
  /* Records are written (their marks cleared) and counted only now: a thread freeing a block while
   * this pass wrote its record back put the record back on a free block, a false leak (and blocks
   * allocated after the count overflowed the work list, whose contents then went unscanned). */
  heap->foreach(clear_and_count, &s);
  s.cap = s.live + 1;
  s.work = pt__os_reserve(s.cap * sizeof(void*), 4096);
  if (s.work) {
    pt_track_leaks_exclude(s.work, s.cap * sizeof(void*));
    pt_touched_open(&s.touched);
    if (!scan_linker_roots(&s, out->nsites, linker_lo, linker_hi)) out->complete = false;
    scan_roots(&s, &out->complete);
    if (!guarded_indirect_pass(&s)) out->complete = false;
    pt_touched_close(&s.touched);
  }
  sigaction(SIGSEGV, &old_segv, NULL);
  sigaction(SIGBUS, &old_bus, NULL);
  if (s.work) {
    heap->foreach(classify, out);
  } else { /* nothing marked: every block would come out leaked */
    out->sites = NULL;
    out->complete = false;
  }
  pt_track_threads_release();
  if (s.work) pt__os_release(s.work, s.cap * sizeof(void*));
}
