/* symbolize_dwarf.h - the DWARF half of symbolize.c: the logical frames at an address of one
 * module (inlined functions, file and line), with an index of each compile unit's functions. */
#ifndef PTMEM_REPORT_SYMBOLIZE_DWARF_H
#define PTMEM_REPORT_SYMBOLIZE_DWARF_H
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rp_rawframe_s {
  const char* function; /* a linkage name still mangled, or a qualified name; NULL if unnamed */
  const char* file;     /* NULL without line info */
  uint32_t line;
  bool inlined;
} rp_rawframe_t;

typedef struct rp_dwarf_s rp_dwarf_t;

/* `mod` has DWARF (dwfl_module_getdwarf succeeded) and outlives the result. */
rp_dwarf_t* rp_dwarf_create(Dwfl_Module* mod);
void rp_dwarf_destroy(rp_dwarf_t* d);
/* The frames at pc, innermost first, the last one physical. physical_name: the caller has no name
 * for the function at pc (else it has a better one, the ELF symbol, and the physical frame is left
 * unnamed). 0 when no compile unit covers pc, or pc is in no function. The array lives until the
 * next call, its strings until rp_dwarf_destroy. */
unsigned rp_dwarf_frames(rp_dwarf_t* d, uint64_t pc, bool physical_name, const rp_rawframe_t** frames);

#endif
