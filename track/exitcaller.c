/* exitcaller.c - where the code that called exit() stands: its stack pointer and callee-saved
 * registers at the call, found by unwinding the exit machinery with libunwind.
 *
 * The leak scan at exit runs inside glibc's exit (__run_exit_handlers, _dl_fini, the destructors).
 * Those frames are laid over the dead frames of the program's last calls and keep their words in
 * their holes: a realloc, calloc or aligned_alloc whose result the program dropped just before
 * returning from main left a copy of the pointer there (in the allocator's own frames), and the lost
 * block came out reachable (-O0 programs; LeakSanitizer, whose frames differ, said definite).
 * Nothing of the program lives in those frames but its callee-saved registers, which
 * __run_exit_handlers saved: libunwind's step recovers them from the unwind tables, so the scan
 * can start at the caller's stack pointer and take those registers as roots. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <string.h>

#include "leaks.h"
#include "track.h"

typedef int (*getcontext_fn)(unw_context_t*);
typedef int (*init_local_fn)(unw_cursor_t*, unw_context_t*);
typedef int (*step_fn)(unw_cursor_t*);
typedef int (*get_reg_fn)(unw_cursor_t*, unw_regnum_t, unw_word_t*);
typedef int (*get_proc_info_fn)(unw_cursor_t*, unw_proc_info_t*);

static struct {
  getcontext_fn getcontext;
  init_local_fn init_local;
  step_fn step;
  get_reg_fn get_reg;
  get_proc_info_fn get_proc_info;
} unw;

/* Resolved when libunwind is loaded, at start: dlsym at exit would take the loader's lock, which a
 * scan in a signal handler may have interrupted its own thread holding. */
void pt_track_exit_caller_resolve(void* libunwind) {
  static const char* const names[] = {"_Ux86_64_getcontext", "_ULx86_64_init_local", "_ULx86_64_step",
                                      "_ULx86_64_get_reg", "_ULx86_64_get_proc_info"};
  void* sym[sizeof names / sizeof names[0]];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) /* missing: the scan starts where it did */
    if (!(sym[i] = dlsym(libunwind, names[i]))) return;
  memcpy(&unw.getcontext, &sym[0], sizeof sym[0]); /* POSIX's dlsym idiom for function pointers */
  memcpy(&unw.init_local, &sym[1], sizeof sym[1]);
  memcpy(&unw.step, &sym[2], sizeof sym[2]);
  memcpy(&unw.get_reg, &sym[3], sizeof sym[3]);
  memcpy(&unw.get_proc_info, &sym[4], sizeof sym[4]);
}

enum { FRAMES_MAX = 64 }; /* the scan is called a dozen frames inside exit */

static const unw_regnum_t callee_saved[PT_EXIT_CALLER_REGS] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                                                             UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};

bool pt_track_exit_caller(const void* exit_fn, uintptr_t own_lo, uintptr_t own_hi, pt_exit_caller_t* out) {
  if (!unw.step || !exit_fn || pt_track_stack_loader_may_be_held()) return false;
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw.getcontext(&context) != 0 || unw.init_local(&cursor, &context) != 0) return false;
  bool past_exit = false;
  for (int i = 0; i < FRAMES_MAX; i++) {
    if (!past_exit) {
      unw_proc_info_t info;
      past_exit = unw.get_proc_info(&cursor, &info) == 0 && info.start_ip == (unw_word_t)(uintptr_t)exit_fn;
    } else {
      unw_word_t ip, sp;
      if (unw.get_reg(&cursor, UNW_REG_IP, &ip) != 0 || unw.get_reg(&cursor, UNW_REG_SP, &sp) != 0) return false;
      if (ip - 1 - own_lo >= own_hi - own_lo) { /* not our exit wrapper: the caller itself */
        out->sp = (uintptr_t)sp;
        for (int r = 0; r < PT_EXIT_CALLER_REGS; r++) {
          unw_word_t value = 0;
          if (unw.get_reg(&cursor, callee_saved[r], &value) != 0) return false;
          out->regs[r] = (uintptr_t)value;
        }
        return true;
      }
    }
    if (unw.step(&cursor) <= 0) return false;
  }
  return false;
}
