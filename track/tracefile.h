/* tracefile.h - where a trace is written: a regular file through a temporary one renamed over it,
 * so a reader (or a crash) always finds a complete trace; a device, FIFO or dangling link in place;
 * the program's own stdout or stderr after its output; a symlink never replaced (docs/ptmem.md,
 * PTMEM_OUT). No malloc: it runs inside malloc, at exit, and in signal handlers. */
#ifndef PTMEM_TRACK_TRACEFILE_H
#define PTMEM_TRACK_TRACEFILE_H
#include <stdbool.h>

#include "jsonl.h"

/* While true, a FIFO with no reader is waited for at most 2 s (a process ending by a signal). */
void pt_track_tracefile_bound_waits(bool bounded);
/* Opens `w` on the file that stands for `path`; false (reported once) if it cannot be. */
bool pt_track_tracefile_open(pt_jsonl_t* w, const char* path);
/* Closes `w` and puts the finished trace in place; false (reported once) if it could not be. */
bool pt_track_tracefile_close(pt_jsonl_t* w, const char* path);
void pt_track_tracefile_exclude(void); /* its buffers are no leak roots */

#endif
