/* model.h - one trace in memory, as docs/trace-format.md defines it (version 1). The reader
 * (trace_read.c) fills it; nothing else writes it. Ids are the trace's own: module ids index
 * `modules`, node ids index `nodes` (0 is the root, before any frame), stack ids index `stacks`
 * (0 and 1 are "no stack" and "unknown"). */
#ifndef PTMEM_REPORT_MODEL_H
#define PTMEM_REPORT_MODEL_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define RP_TRACE_FORMAT "ptmem-trace"
#define RP_TRACE_VERSION 1

typedef enum rp_kind_e { RP_DEFINITE, RP_INDIRECT, RP_REACHABLE, RP_KINDS } rp_kind_t;
const char* rp_kind_name(rp_kind_t kind); /* "definite", "indirect", "reachable" */
bool rp_kind_parse(const char* name, size_t len, rp_kind_t* out);

typedef struct rp_segment_s {
  uint64_t vaddr, size; /* unrelocated ELF address and size in memory */
  char perms[4];        /* "r-x" */
} rp_segment_t;

typedef struct rp_module_s {
  char* path;
  uint64_t base;        /* load bias: runtime address = base + ELF vaddr */
  char* build_id;       /* lower-case hex; "" when the object has none */
  bool unloaded;        /* dlclose'd before the trace was written */
  RP_VEC(rp_segment_t) segments;
} rp_module_t;

typedef struct rp_node_s {
  uint32_t parent;  /* caller's node; 0 is the root */
  int32_t module;   /* module id, or -1: `offset` is an absolute address in no known module */
  uint64_t offset;  /* return address relative to the module's base (= ELF vaddr after the call) */
} rp_node_t;

typedef struct rp_site_s {
  uint32_t stack;
  uint64_t allocs, frees, alloc_bytes, live_bytes, live_count, peak_bytes, temporary;
} rp_site_t;

typedef struct rp_leak_s {
  uint32_t stack;
  rp_kind_t kind;
  uint64_t count, bytes;
} rp_leak_t;

typedef struct rp_sample_s {
  uint64_t t_ns, heap_bytes, rss_bytes;
} rp_sample_t;

typedef struct rp_count_s {
  uint64_t count, bytes;
} rp_count_t;

typedef struct rp_summary_s {
  bool present; /* false: the trace has no summary line, so it is incomplete */
  uint64_t duration_ns, allocs, frees, live_bytes, peak_bytes, peak_time_ns, stacks, dropped_lines;
  uint64_t signal; /* the signal the process died of (its handler wrote the trace); 0: none */
  uint64_t threads_unheld; /* running threads the leak scan could not hold (their registers unread) */
  bool leak_scan, leak_scan_complete, approximate, final;
  bool forked_child; /* a fork child that had not exec'd: its heap was its parent's copy */
  rp_count_t kinds[RP_KINDS]; /* valid when leak_scan */
} rp_summary_t;

/* "crashed" for a fault or abort, "was killed" for a signal sent to stop it (SIGTERM). */
static inline const char* rp_signal_death(uint64_t signo) {
  return signo == SIGILL || signo == SIGABRT || signo == SIGBUS || signo == SIGFPE || signo == SIGSEGV ? "crashed"
                                                                                                     : "was killed";
}

typedef struct rp_trace_s {
  char* path;       /* as given on the command line */
  uint64_t lines;   /* complete lines read */
  /* Set when the file ends inside a line (a process killed while writing), or has no summary: the
   * trace is still used, and the report says so with this reason. */
  char* incomplete;

  /* header */
  char* source;     /* "malloc" or "vulkan" */
  char* exe;
  RP_VEC(char*) argv;
  int64_t pid, ppid;
  uint64_t start_unix_ns, sample_bytes, page_size;
  char* unwinder;
  char* leak_roots; /* "lsan" or "all-mappings"; NULL in traces older than the field */
  char* exit_call;  /* summary: "_exit", "_Exit", "quick_exit" or an exec ("execve"...); else NULL */
  uint32_t depth;

  RP_VEC(rp_module_t) modules;
  RP_VEC(rp_node_t) nodes;     /* nodes.v[0] is the root */
  RP_VEC(uint32_t) stacks;     /* node of each stack id; stacks.v[0], [1] are 0 */
  RP_VEC(rp_site_t) sites;
  RP_VEC(rp_leak_t) leaks;
  RP_VEC(rp_sample_t) timeline;
  rp_summary_t summary;
} rp_trace_t;

/* Frames of a stack, innermost first: node ids (not yet symbolized). Returns the count written,
 * at most max. Unknown stack ids give 0. */
unsigned rp_trace_stack_nodes(const rp_trace_t* t, uint32_t stack, uint32_t* out, unsigned max);
const char* rp_trace_program(const rp_trace_t* t); /* file name of exe, or "?" */
void rp_trace_free(rp_trace_t* t);

#endif
