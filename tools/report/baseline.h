/* baseline.h - a previous `--format json` report (docs/report-format.md) read back for --baseline,
 * and the key that matches a leak site of that report with one of today's: the functions of every
 * frame. Functions survive what paths, offsets and line numbers do not (a rebuild, a move to
 * another directory), which is where heaptrack's diff, matching by path strings, fails. */
#ifndef PTMEM_REPORT_BASELINE_H
#define PTMEM_REPORT_BASELINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

typedef struct rp_baseline_leak_s {
  rp_kind_t kind;
  bool suppressed;
  uint64_t count, bytes;
  char* fn_key; /* rp_frames_fn_key of its stack */
} rp_baseline_leak_t;

typedef struct rp_baseline_s {
  rp_count_t leaked[RP_KINDS]; /* summary.leaks: not counting suppressed */
  uint64_t peak_bytes;         /* summary.peak_bytes: the highest peak of one process */
  bool approximate;            /* summary.approximate: sampled, leak figures are estimates */
  RP_VEC(rp_baseline_leak_t) leaks;
} rp_baseline_t;

/* The functions of every frame, innermost first, joined by ';'; a frame with no known function
 * gives '?' and its module's file name. "(no frames)" for an empty stack. Caller frees. */
char* rp_frames_fn_key(const rp_frame_t* frames, uint32_t nframes);

/* Reads the report at `path`. False with the message in err: "FILE:LINE:COLUMN: ..." for text
 * that is not JSON, "FILE: JSON.PATH: ..." for a value of the wrong type or a missing field. */
bool rp_baseline_load(rp_baseline_t* b, const char* path, char* err, size_t errsize);
void rp_baseline_free(rp_baseline_t* b);

#endif
