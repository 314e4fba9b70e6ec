/* symbolize.h - return addresses to functions and source lines, offline, with elfutils' libdw.
 * Each module file is opened once (keyed by path and build-id), when first needed, at load bias 0, so a trace's
 * module-relative offsets are ELF virtual addresses; results are cached per (module, offset).
 * The build-id recorded in the trace is checked against the file: a rebuilt or replaced binary
 * gives no lines (and its problem is reported), never wrong ones. */
#ifndef PTMEM_REPORT_SYMBOLIZE_H
#define PTMEM_REPORT_SYMBOLIZE_H
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* One logical frame: a real call site, or a function inlined into the next frame. */
typedef struct rp_symframe_s {
  const char* function; /* demangled C++ name, or the ELF symbol; NULL when unknown */
  const char* file;     /* source file as the debug info names it; NULL without line info */
  uint32_t line;        /* 0 when unknown */
  bool inlined;         /* this function was inlined into the next frame of the array */
} rp_symframe_t;

typedef enum rp_symstatus_e {
  RP_SYM_OK,               /* functions (and lines if the file has debug info) */
  RP_SYM_NO_DEBUG_INFO,    /* ELF symbols only: functions but no file:line */
  RP_SYM_FILE_MISSING,     /* the module file cannot be opened: module+offset only */
  RP_SYM_BUILD_ID_CHANGED, /* the file on disk is another build: module+offset only */
  RP_SYM_NO_MODULE,        /* an address in no known module */
} rp_symstatus_t;
const char* rp_symstatus_text(rp_symstatus_t s); /* "build-id changed", ... */

typedef struct rp_location_s {
  const rp_symframe_t* frames; /* innermost first; the last one is the physical frame */
  uint32_t nframes;            /* 0 when nothing is known about the address */
  const char* module;          /* module path ("" for RP_SYM_NO_MODULE) */
  uint64_t offset;             /* the trace's module-relative offset (absolute if no module) */
  rp_symstatus_t status;
} rp_location_t;

typedef struct rp_symbolizer_s rp_symbolizer_t;

/* debug_paths: extra directories searched for separate debug info (may be NULL); the standard
 * ones (/usr/lib/debug, .build-id links, .debug next to the file) are always searched. */
rp_symbolizer_t* rp_symbolizer_create(const char* debug_paths);
void rp_symbolizer_destroy(rp_symbolizer_t* s);
/* The location of node `node` of trace `t`. The result lives as long as the symbolizer. */
const rp_location_t* rp_symbolize(rp_symbolizer_t* s, const rp_trace_t* t, uint32_t node);
/* A module's problem, once per module and trace (for the report's notes): RP_SYM_OK if none, or
 * RP_SYM_FILE_MISSING, RP_SYM_BUILD_ID_CHANGED. Reads the file's headers only: whether it has
 * debug info is known once an address in it is symbolized. */
rp_symstatus_t rp_symbolize_module_status(rp_symbolizer_t* s, const rp_trace_t* t, int32_t module);
/* The module file (path and build-id) of a trace's module id, as a number shared by every trace
 * the symbolizer sees: the same file in two processes gets the same number. UINT32_MAX for an
 * id the trace does not have. Opens nothing. */
uint32_t rp_symbolize_module_id(rp_symbolizer_t* s, const rp_trace_t* t, int32_t module);
const char* rp_symbolize_module_path(const rp_symbolizer_t* s, uint32_t id); /* "" if none */

#endif
