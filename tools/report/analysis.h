/* analysis.h - from traces to findings. Stacks are grouped by their return addresses relative to
 * their module files, so the same leak in two processes of one run is one finding that names both
 * processes; they are symbolized only when something reads their frames. Suppressed leaks stay in the list, flagged, so
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

struct rp_stack_src_s;

/* A stack, shared by every finding with the same return addresses: the same module file (path
 * and build-id) and offsets, innermost first, in whichever processes. Its frames are symbolized
 * on first use, through rp_stack_resolve: a report prints a few dozen of a trace's thousands of
 * stacks, and symbolizing is most of its cost. A stack made with its frames filled in has no
 * `src`. */
typedef struct rp_stack_s {
  rp_frame_t* frames;   /* innermost first; valid after rp_stack_resolve */
  uint32_t nframes;
  const char* label;    /* what a stack without frames is: "(no frames)", "(unknown stack)" */
  const struct rp_stack_src_s* src; /* the trace it was first seen in */
  uint32_t id;          /* its stack id in that trace */
  bool resolved;        /* frames filled in (or no src: made with them) */
  uint64_t hash;        /* of the return-address chain */
} rp_stack_t;

/* `s` with frames filled in (a cache: the report's stacks are made mutable, so const is fine). */
const rp_stack_t* rp_stack_resolve(const rp_stack_t* s);
/* Deterministic order of stacks, for ties: by module path and offset, innermost frame first. */
int rp_stack_compare(const rp_stack_t* a, const rp_stack_t* b);

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
  rp_stack_t** stacks_owned;       /* every stack, freed with the report */
  uint32_t nstacks;
  struct rp_stack_src_s* srcs;     /* one per trace */
} rp_report_t;

/* Groups; `supp` may be NULL (with suppressions every leak's stack is symbolized to match them).
 * Takes ownership of the traces array; `sym` must outlive the report. */
void rp_analyze(rp_report_t* r, rp_trace_t* traces, uint32_t ntraces, rp_symbolizer_t* sym,
                struct rp_suppressions_s* supp);
void rp_report_free(rp_report_t* r);

/* Views for output: indices into r->sites (for RP_COST_LEAKED: into r->leaks, definite and
 * indirect ones not suppressed), entries with a cost of 0 left out; *count of them. The first
 * `top` (all when 0) are the biggest by the given cost, in order, ties in rp_stack_compare order
 * so output is deterministic; the rest follow in no order. Caller frees. */
typedef enum rp_cost_e { RP_COST_LEAKED, RP_COST_PEAK, RP_COST_ALLOCS, RP_COST_TEMPORARY } rp_cost_t;
uint32_t* rp_sites_by(const rp_report_t* r, rp_cost_t cost, uint32_t top, uint32_t* count);
uint64_t rp_site_cost(const rp_entry_t* e, rp_cost_t cost);
bool rp_cost_parse(const char* name, rp_cost_t* out); /* leaked, peak, allocations, temporary */

#endif
