/* symbolize_units.h - the compile unit containing an address, found by the units' own ranges
 * (DW_AT_low_pc/high_pc, DW_AT_ranges). libdw 0.188 finds units only through .debug_aranges,
 * which clang does not emit by default (-gdwarf-aranges), so dwfl_module_addrdie knows no unit of
 * a clang build, and gives the unit below for an address between the units it does know. */
#ifndef PTMEM_REPORT_SYMBOLIZE_UNITS_H
#define PTMEM_REPORT_SYMBOLIZE_UNITS_H
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rp_units_s rp_units_t;

/* `dw` outlives the result. The table is built on the first rp_units_find. */
rp_units_t* rp_units_create(Dwarf* dw);
void rp_units_destroy(rp_units_t* u);
/* The compile unit DIE whose ranges contain addr (a DWARF address, without the module's bias). */
bool rp_units_find(rp_units_t* u, uint64_t addr, Dwarf_Die* cudie);

#endif
