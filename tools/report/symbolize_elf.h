/* symbolize_elf.h - the ELF half of symbolize.c: a module's function symbols, sorted once and
 * looked up by address. */
#ifndef PTMEM_REPORT_SYMBOLIZE_ELF_H
#define PTMEM_REPORT_SYMBOLIZE_ELF_H
#include <elfutils/libdwfl.h>
#include <stdint.h>

typedef struct rp_elfsyms_s rp_elfsyms_t;

/* `mod` outlives the result: the names point into its string tables. */
rp_elfsyms_t* rp_elfsyms_create(Dwfl_Module* mod);
void rp_elfsyms_destroy(rp_elfsyms_t* syms);
/* The name of the function symbol containing pc, as the symbol table has it (mangled, perhaps with
 * a version after '@'); NULL if no function symbol covers pc. */
const char* rp_elfsyms_function(const rp_elfsyms_t* syms, uint64_t pc);

#endif
