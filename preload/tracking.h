/* tracking.h - the glue between the malloc family and track/: records at each allocation, the
 * matching updates at each free, the trace at exit. Every hook checks `ptmem_tracking` first. */
#ifndef PTMEM_PRELOAD_TRACKING_H
#define PTMEM_PRELOAD_TRACKING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern bool ptmem_tracking; /* set once, at the first allocation, from PTMEM_TRACK */

void ptmem_tracking_start(void);            /* from pt__embedder_init: must not allocate */
void ptmem_track_alloc(void* p, size_t n);  /* after a successful allocation of n bytes */
void ptmem_track_free(void* p);             /* before the block is given back */
void ptmem_track_usable(void* p);           /* malloc_usable_size told the program p's whole size */
void* ptmem_tracked_malloc(size_t n);       /* malloc and free with tracking on */
void ptmem_tracked_free(void* p);
/* realloc: takes p's record off before the move (so the old block is never freed with a record),
 * and puts it back if the realloc fails. */
uint64_t ptmem_track_realloc_begin(void* p);
void ptmem_track_realloc_end(void* p, uint64_t old_record, void* q, size_t n);
void ptmem_tracking_finish(void);           /* at exit: leak scan, then the trace */
void ptmem_tracking_fork_child(void);
void ptmem_tracking_install_signal(int signo); /* PTMEM_SNAPSHOT_SIGNAL, from the constructor */
/* A snapshot saying the process is dying of `signo`: crash.c's handler. Async-signal-safe. */
void ptmem_tracking_crash_snapshot(int signo);
/* The final trace, with the leak scan, of a process that `signo` (a request to end: SIGTERM...) from
 * process `sender` (0: the kernel) is ending, from crash.c's handler; false if it was not written
 * (the signal interrupted the allocator or the tracker mid-change, whose state the scan reads): then
 * take the snapshot instead. */
bool ptmem_tracking_end_by_signal(int signo, pid_t sender);
/* Whether this thread may write a trace now: not inside the tracker, holding none of its locks, no
 * realloc open (crash.c defers a request to end until it may). */
bool ptmem_tracking_may_write_here(void);
/* Whether the signal being handled came inside malloc or free (the allocator's busy mark). */
bool ptmem_tracking_in_allocator(void);
/* The final trace of a process ending through _exit, _Exit or quick_exit (`how`): exit.c. */
void ptmem_tracking_exit_call(const char* how);
bool ptmem_tracking_writing_final(void); /* the final trace, with its leak scan, is being written now */
void ptmem_exit_resolve(void); /* exit.c: the C library's quick_exit, from the constructor */
const void* ptmem_exit_libc(void); /* exit.c: the C library's exit (NULL before the constructor) */
/* exec.c: before an exec, the final trace (no leak scan) of a process that has a snapshot on disk,
 * which would otherwise stay its last word; true if written. After a failed exec, exec_failed(that)
 * lets the process write its final trace later. */
bool ptmem_tracking_exec_call(const char* how);
void ptmem_tracking_exec_failed(bool wrote);
void ptmem_exec_resolve(void); /* exec.c: the C library's exec family, from the constructor */
/* crash.c: SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT write that snapshot, where the program had no
 * handler of its own; from the constructor. `except`: a signal left alone (the snapshot signal). */
void ptmem_tracking_install_crash_handlers(int except);
/* A vfork child, in its parent's memory (its pid is not the tracked process's): the crash handler
 * writes nothing there, and leaves the parent's trace and its own one-trace flag alone. */
bool ptmem_tracking_vfork_child(void);
/* sigaction.c shows the program crash.c's handler as the default action it stands for: whether
 * `action` is that handler; and, for a signal it was installed for, the action to install where the
 * program asks for the default (false: none). */
struct sigaction;
bool ptmem_crash_handler_is(const struct sigaction* action);
bool ptmem_crash_action_for_default(int signo, struct sigaction* ours);
void ptmem_sigaction_resolve(void); /* sigaction.c: the next sigaction and signal, from the constructor */
void ptmem_tracking_load_unwinder(void);          /* dlopen libunwind, from the constructor */

#endif
