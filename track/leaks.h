/* leaks.h - classifying the blocks alive at exit, as LeakSanitizer does: reachable from the roots,
 * indirect (reachable only from leaked blocks) or definite. The heap is seen through callbacks, so
 * any allocator that keeps one record word per block can be scanned. */
#ifndef PTMEM_TRACK_LEAKS_H
#define PTMEM_TRACK_LEAKS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pt_track_heap_s {
  /* Calls fn for every live block with its record word (pt_rec_*). */
  void (*foreach)(void (*fn)(void* block, size_t size, uint64_t* rec, void* arg), void* arg);
  /* The live block containing addr (interior pointers count), with its record. */
  bool (*find)(const void* addr, void** start, size_t* size, uint64_t** rec);
  /* If addr is in the allocator's own memory (never a root: its metadata points at blocks), the
   * end of that piece of memory; otherwise 0. */
  uintptr_t (*own_end)(uintptr_t addr);
} pt_track_heap_t;

enum { PT_LEAK_DEFINITE, PT_LEAK_INDIRECT, PT_LEAK_REACHABLE, PT_LEAK_KINDS };
#define PT_LEAK_EXAMPLES 4
typedef struct pt_leak_site_s {
  uint64_t count[PT_LEAK_KINDS], bytes[PT_LEAK_KINDS];
  uintptr_t example[PT_LEAK_KINDS][PT_LEAK_EXAMPLES];
  uint8_t examples[PT_LEAK_KINDS]; /* how many of example[] are set */
} pt_leak_site_t;
typedef struct pt_leak_result_s {
  pt_leak_site_t* sites; /* indexed by stack id, `nsites` entries */
  uint64_t* used;        /* bit per stack id: sites[id] has blocks (the rest are untouched pages) */
  uint32_t nsites;
  uint64_t count[PT_LEAK_KINDS], bytes[PT_LEAK_KINDS];
  bool complete; /* false if part of the scan was cut short (memory vanished under it) */
  uint32_t threads_unheld; /* other threads running at the scan whose registers could not be read */
} pt_leak_result_t;

/* Runs the scan. Call it when no other thread allocates or frees (at exit). */
void pt_track_leaks_scan(const pt_track_heap_t* heap, pt_leak_result_t* out);
/* The scanning thread's stack counts as a root from `sp` up (0: from the scan's own frame). The
 * embedder passes the stack pointer where it entered the tracker: the tracker's frames below hold
 * stale words of the application's dead frames (uninitialised buffers), which are not roots. */
void pt_track_leaks_live_stack_from(uintptr_t sp);
/* The scan runs on a stack of its own (a signal handler's, switched away from the thread's stack,
 * whose remaining room is unknown): the thread's stack counts as a root from `sp` up. */
void pt_track_leaks_scan_off_stack(uintptr_t sp);
/* The code that called exit() (exitcaller.c): its stack pointer after the call and its
 * callee-saved registers then. With it, the exiting thread's stack counts as a root from that `sp`
 * up, and the registers are a root: the frames of exit itself are not the program's. */
#define PT_EXIT_CALLER_REGS 6 /* rbx, rbp, r12-r15 */
typedef struct pt_exit_caller_s {
  uintptr_t sp;
  uintptr_t regs[PT_EXIT_CALLER_REGS];
} pt_exit_caller_t;
/* False if it cannot be told (libunwind missing, no frame of `exit_fn` within reach). */
bool pt_track_exit_caller(const void* exit_fn, uintptr_t own_lo, uintptr_t own_hi, pt_exit_caller_t* out);
void pt_track_exit_caller_resolve(void* libunwind); /* libunwind's functions, looked up once */
/* For the next scan only; NULL: none. */
void pt_track_leaks_exit_caller(const pt_exit_caller_t* caller);
/* Saves the calling thread's vector registers for the scan (they are a root): call it first thing
 * on the way out, before code that may use them. */
void pt_track_leaks_save_vector_registers(void);
/* True: every writable mapping is a root, not only LeakSanitizer's set (for runtimes that keep
 * heap pointers in arenas of their own: Python's pymalloc, the JVM, V8). */
extern bool pt_track_leaks_all_mappings;
/* Memory of the tracker's own that holds heap addresses and must not count as a root. */
void pt_track_leaks_exclude(const void* p, size_t size);
const char* pt_leak_kind_name(int kind);

/* "hold.c": the other threads' registers. Hold makes every other thread copy its registers into
 * a table (a root, given by pt_track_threads_held) and wait; it returns how many did. Release lets
 * them go. Every wait is bounded. */
unsigned pt_track_threads_hold(void);
void pt_track_threads_held(const void** regs, size_t* size);
void pt_track_threads_release(void);
/* Held thread i (below pt_track_threads_held_count): its stack pointer and thread pointer. False if
 * its entry is not filled. */
unsigned pt_track_threads_held_count(void);
bool pt_track_threads_held_at(unsigned i, uintptr_t* sp, uintptr_t* thread_pointer);
/* Held thread i's vector registers, where its signal frame holds them; false if none. */
bool pt_track_threads_held_xstate(unsigned i, uintptr_t* lo, uintptr_t* hi);
/* Other threads the last hold found running (not ended) but could not hold. */
unsigned pt_track_threads_unheld(void);
/* Whether the last hold held every other thread: then a stack no held thread runs on is dead. */
bool pt_track_threads_all_held(void);
/* The embedder's test, run by each thread the hold reaches, for a change of its own the scan
 * cannot read through (a realloc between its two tracking calls, the moved block without a record).
 * Such a thread is held when the change is over: the embedder calls arrive_late there when
 * pt_track_hold_late is set. */
void pt_track_threads_set_midchange_probe(bool (*probe)(void));
extern __thread volatile int pt_track_hold_late __attribute__((tls_model("initial-exec")));
void pt_track_threads_arrive_late(void);

/* "threadstacks.c": a thread ended, and its stack [lo, hi) holds nothing live until a thread starts
 * on it again (a stack pointer in it). */
void pt_track_leaks_thread_ended(uintptr_t lo, uintptr_t hi);
void pt_track_leaks_thread_started(uintptr_t sp);
/* The end of an ended thread's stack that starts at lo and lies within [lo, hi), or 0. */
uintptr_t pt_track_leaks_dead_stack_end(uintptr_t lo, uintptr_t hi);

#endif
