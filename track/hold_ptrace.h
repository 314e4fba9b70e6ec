/* hold_ptrace.h - holding, with ptrace from a helper process, the threads that block the hold
 * signal (hold.c's fallback; hold_ptrace.c says how and where it cannot). */
#ifndef PTMEM_TRACK_HOLD_PTRACE_H
#define PTMEM_TRACK_HOLD_PTRACE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/user.h>

#define PT_PTRACE_MAX 256 /* threads held this way; more stay unheld */

#define PT_PTRACE_XSTATE_MAX 16384 /* bytes of a thread's extended (vector) register state kept */

typedef struct pt_ptrace_held_s {
  long tid;
  bool attached, ok; /* ok: stopped, and regs read */
  struct user_regs_struct regs;
  size_t xstate_size; /* 0: its vector registers could not be read */
  const void* xstate; /* PT_PTRACE_XSTATE_MAX bytes, of which xstate_size are its XSAVE area */
} pt_ptrace_held_t;

/* Stops threads `tids` of this process and reads their registers: on return, out[0..result) says
 * for each whether it worked. They stay stopped until pt_track_ptrace_release. 0: nothing held. */
unsigned pt_track_ptrace_hold(const long* tids, unsigned n, const pt_ptrace_held_t** out);
void pt_track_ptrace_release(void);

#endif
