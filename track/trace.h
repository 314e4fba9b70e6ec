/* trace.h - the trace file (docs/trace-format.md): JSON Lines, written at exit (and on demand) from
 * the tracker's state. The format's version lives here and nowhere else. */
#ifndef PTMEM_TRACK_TRACE_H
#define PTMEM_TRACK_TRACE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leaks.h"

#define PT_TRACE_FORMAT "ptmem-trace"
#define PT_TRACE_VERSION 1

typedef struct pt_trace_info_s {
  const char* source;   /* "malloc" or "vulkan" */
  const char* unwinder; /* "libunwind" or "frame-pointers" */
  unsigned depth;
  uint64_t start_unix_ns; /* wall-clock time tracking started */
  uint64_t start_mono_ns; /* CLOCK_MONOTONIC at the same moment: times in the trace are relative */
  int crash_signal;       /* the signal the process is dying of (a snapshot written by the crash handler); 0: none */
  const char* exit_call;  /* "_exit", "_Exit", "quick_exit", an exec ("execve"...): how it ended; NULL: none */
  bool forked_child;      /* a fork child that has not exec'd: its heap is its parent's copy */
} pt_trace_info_t;

/* Expands a PTMEM_OUT template: %p the pid, %e the program's file name, %% a percent sign. False if
 * the result does not fit. */
bool pt_track_trace_path(const char* tmpl, char* out, size_t size);
/* Writes the whole trace to a temporary file and renames it over `path` (over the end of its chain
 * of links if it is a symlink), so a reader (or a crash) always finds a complete trace there; in
 * place when that is not a regular file, after the program's output when it is the program's
 * stdout or stderr (docs/ptmem.md, PTMEM_OUT). `leaks` may be NULL (a snapshot: no scan, the summary says
 * "final": false). False if the file could not be written (reported once on stderr). */
void pt_track_trace_exclude_buffers(void); /* once, when tracking starts */
bool pt_track_trace_write(const char* path, const pt_trace_info_t* info, const pt_leak_result_t* leaks, bool final);

#endif
