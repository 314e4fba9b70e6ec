/* cfi.h - the unwind rule of one code address, from the .eh_frame of its object (cfi.c). */
#ifndef PTMEM_TRACK_CFI_H
#define PTMEM_TRACK_CFI_H
#include <stdbool.h>
#include <stdint.h>

#define PT_CFI_OFFSET_MAX ((1 << 27) - 1) /* larger CFA offsets are "unsupported" (they fit 28 bits) */

typedef struct pt_cfi_rule_s {
  bool last;          /* the return address is undefined: the outermost frame (_start, thread start) */
  bool cfa_rbp;       /* CFA = rbp + cfa_offset, else rsp + cfa_offset */
  int32_t cfa_offset;
  int16_t rbp_offset; /* the caller's rbp is saved at CFA + rbp_offset; 0: rbp is not changed */
  int16_t ra_offset;  /* the return address is at CFA + ra_offset (unless last) */
} pt_cfi_rule_t;

/* The rule in effect at `pc` (for a return address: the address before it, the call itself).
 * False when there is no FDE for pc, or its rule needs more than the rule above can say.
 * A signal frame (the kernel's return into __restore_rt, an FDE marked 'S') is "last": a stack
 * captured in a signal handler ends with the handler's frames and the trampoline, not with the
 * code the signal interrupted. That code is wherever the signal landed, so a handler's one
 * allocation site would become a new stack at every signal; and following the frame needs the
 * saved context, which libunwind reads at some 30 us an allocation (two sigprocmask calls a
 * step): a 20 kHz timer whose handler allocates outran its own period. */
bool pt_cfi_rule(uintptr_t pc, pt_cfi_rule_t* out);

#endif
