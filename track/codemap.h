/* codemap.h - which module holds an address, for the trace writer: the module table's segments
 * sorted by address, so a frame costs a binary search instead of a pass over every segment of
 * every module (python3's trace writes spent two thirds of their time in those passes). */
#ifndef PTMEM_TRACK_CODEMAP_H
#define PTMEM_TRACK_CODEMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pt_codemap_span_s {
  uintptr_t lo, hi;
  int32_t module; /* index in the module table */
  bool code;      /* an executable segment */
} pt_codemap_span_t;

typedef struct pt_codemap_s {
  pt_codemap_span_t* spans;
  size_t nspans, bytes;
  size_t modules;   /* the table's first `modules` entries are the ones it knows */
  bool overlapping; /* an unloaded module's range was reused: answers come from the table's passes */
} pt_codemap_t;

/* Of the table's first `modules` modules (those a trace has written: one loaded since is no module
 * to the map, so its answers never name a module the trace lacks, and stay the same while it
 * lives); false (and every lookup takes passes over those modules) if no memory. */
bool pt_codemap_build(pt_codemap_t* map, size_t modules);
void pt_codemap_free(pt_codemap_t* map);
/* The first module in table order with a segment holding addr, or -1. */
int pt_codemap_module(const pt_codemap_t* map, uintptr_t addr);
/* True if addr is in an executable segment of some module. */
bool pt_codemap_code(const pt_codemap_t* map, uintptr_t addr);

#endif
