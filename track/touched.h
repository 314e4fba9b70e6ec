/* touched.h - which pages of anonymous memory were ever touched, from /proc/self/pagemap. The exit
 * scan reads every writable mapping; a page never touched reads as zeros, and reading it costs a
 * page fault (2048 for each thread stack of 8 MiB, touched or cached by the C library after its
 * thread ended), so the scan skips it. */
#ifndef PTMEM_TRACK_TOUCHED_H
#define PTMEM_TRACK_TOUCHED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_TOUCHED_BATCH 512 /* pagemap entries read at once */
typedef struct pt_touched_s {
  int fd; /* -1: no pagemap (a kernel or sandbox without it): every page counts as touched */
  uintptr_t first; /* page number of entries[0] */
  size_t n;
  uint64_t entries[PT_TOUCHED_BATCH];
} pt_touched_t;

void pt_touched_open(pt_touched_t* t);
void pt_touched_close(pt_touched_t* t);
/* True only if the page holding addr, in anonymous memory, is neither present nor swapped out:
 * it was never written (or was given back with MADV_DONTNEED) and reads as zeros. False if unknown. */
bool pt_touched_never(pt_touched_t* t, uintptr_t addr);

#endif
