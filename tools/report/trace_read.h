/* trace_read.h - reading one trace file (docs/trace-format.md) into an rp_trace_t.
 * Line by line with a bounded line length: memory grows with the trace's stacks, never with the
 * file's size beyond one line. The first problem wins and is reported as
 * "FILE:LINE:COLUMN: what is wrong (with the value)". */
#ifndef PTMEM_REPORT_TRACE_READ_H
#define PTMEM_REPORT_TRACE_READ_H
#include <stddef.h>

#include "model.h"

#define RP_LINE_MAX (64u << 20) /* longer lines are an error, not a reason to eat all memory */

typedef struct rp_read_error_s {
  char text[1024]; /* "FILE:LINE:COLUMN: message" */
} rp_read_error_t;

/* Reads `path` into *t (zeroed first). Returns false with err->text set for unusable input: a
 * missing or unreadable file, an empty file, a line that is not JSON, a field of the wrong type,
 * a missing field, a newer format version, a reference to a stack, node or module that does not
 * exist. A file cut inside its last line, or without a summary, is read and marked incomplete. */
bool rp_trace_read(const char* path, rp_trace_t* t, rp_read_error_t* err);
/* The same on a buffer (the fuzz target and tests); `name` names it in messages. */
bool rp_trace_read_buffer(const char* name, const char* data, size_t size, rp_trace_t* t,
                          rp_read_error_t* err);

#endif
