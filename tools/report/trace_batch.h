/* trace_batch.h - a fast path of trace_read.c for the trace's column batches (nodes, stacks, sites,
 * timeline), which are most of a big trace's bytes. Only the writer's exact shape is accepted;
 * any other line, valid or not, is left to the jansson path and its checks and messages. */
#ifndef PTMEM_REPORT_TRACE_BATCH_H
#define PTMEM_REPORT_TRACE_BATCH_H
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum { RP_BATCH_MAX_COLUMNS = 8 };

typedef RP_VEC(uint64_t) rp_batch_column_t; /* integers as two's complement, or addresses */

/* Scratch columns, reused from line to line; zero-initialise, free with rp_batch_free. */
typedef struct rp_batch_s {
  int64_t first;
  size_t rows;
  rp_batch_column_t col[RP_BATCH_MAX_COLUMNS];
} rp_batch_t;

/* Reads one line of a trace whose header has been read and whose summary has not. True: it was a
 * batch of the writer's shape whose every entry passed the checks trace_read.c makes, and it was
 * added to *t. False: *t is unchanged, and the line must go through the jansson path. */
bool rp_batch_read(rp_batch_t* b, rp_trace_t* t, const char* line, size_t len);
void rp_batch_free(rp_batch_t* b);

#endif
