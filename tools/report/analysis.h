/* analysis.h - from traces to findings. Stacks are symbolized and grouped by what they say
 * (function, file, line of every frame), not by address, so the same leak in two processes of one
 * run is one finding that names both processes. Suppressed leaks stay in the list, flagged, so
 * every output can count them. */
#ifndef PTMEM_REPORT_ANALYSIS_H
#define PTMEM_REPORT_ANALYSIS_H
#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "symbolize.h"

typedef struct rp_frame_s {
  const char* function; /* NULL when unknown */
  const char* file;     /* NULL without line info */
  uint32_t line;
  const char* module;   /* path of the module ("" when none) */
  uint64_t offset;      /* module-relative return address */
  bool inlined;         /* inlined into the next (outer) frame */
} rp_frame_t;

/* A symbolized stack, innermost frame first; shared by every finding with the same frames. */
typedef struct rp_stack_s {
  rp_frame_t* frames;
  uint32_t nframes;
  char* key;     /* every frame's function@file:line (or module+offset): grouping key */
} rp_stack_t;

typedef struct rp_entry_s {
  const rp_stack_t* stack;
  rp_kind_t kind;             /* leaks only */
  uint64_t count, bytes;      /* leaks: blocks and bytes */
  uint64_t allocs, frees, alloc_bytes, live_bytes, peak_bytes, temporary; /* sites */
  RP_VEC(uint32_t) traces;    /* indices into report.traces of the processes it comes from */
  int suppressed_by;          /* -1, or the index of the suppression that matched */
} rp_entry_t;

struct rp_suppressions_s;

typedef struct rp_report_s {
  rp_trace_t* traces;
  uint32_t ntraces;
  RP_VEC(rp_entry_t) leaks; /* by (stack, kind): definite and indirect, then reachable, each
                                biggest first; suppressed ones included */
  RP_VEC(rp_entry_t) sites; /* by stack, in no order: renderers sort views */
  rp_count_t leaked[RP_KINDS];     /* not suppressed */
  rp_count_t suppressed[RP_KINDS]; /* suppressed */
  uint64_t allocs, frees;          /* all processes */
  uint64_t peak_bytes;             /* highest peak of one process */
  uint32_t peak_trace;             /* the process it belongs to */
  uint64_t peak_rss;               /* highest RSS sample of any process */
  bool approximate;                /* some trace is sampled */
  RP_VEC(char*) notes;             /* incomplete traces, modules without symbols, ... */
  const struct rp_suppressions_s* suppressions; /* the rules used, or NULL */
  rp_stack_t** stacks_owned;       /* every symbolized stack, freed with the report */
  uint32_t nstacks;
} rp_report_t;

/* Symbolizes and groups; `supp` may be NULL. Takes ownership of the traces array. */
void rp_analyze(rp_report_t* r, rp_trace_t* traces, uint32_t ntraces, rp_symbolizer_t* sym,
                struct rp_suppressions_s* supp);
void rp_report_free(rp_report_t* r);

/* Views sorted for output: indices into r->sites (for RP_COST_LEAKED: into r->leaks, definite and
 * indirect ones not suppressed), biggest first by the given cost, entries with a cost of 0 left
 * out; ties in stack key order, so output is deterministic. Caller frees. */
typedef enum rp_cost_e { RP_COST_LEAKED, RP_COST_PEAK, RP_COST_ALLOCS, RP_COST_TEMPORARY } rp_cost_t;
uint32_t* rp_sites_by(const rp_report_t* r, rp_cost_t cost, uint32_t* count);
uint64_t rp_site_cost(const rp_entry_t* e, rp_cost_t cost);
bool rp_cost_parse(const char* name, rp_cost_t* out); /* leaked, peak, allocations, temporary */

#endif
