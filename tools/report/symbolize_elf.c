/* symbolize_elf.c - see symbolize_elf.h.
 * dwfl_module_addrinfo scans every symbol on each call (0.6 ms per lookup in cc1plus, 31000
 * symbols), so the function symbols are sorted by address once and found by binary search. Of
 * aliases at one address one is kept, the one dwfl_module_addrinfo would name. */
#include "symbolize_elf.h"

#include <stdlib.h>

#include "util.h"

typedef struct rp_elfsym_s {
  uint64_t addr, size; /* size 0: unknown */
  uint64_t end;        /* of the function: addr + size, or as far as a sizeless one may reach */
  const char* name;    /* in the ELF string table: valid while the module's Dwfl is open */
  int rank;            /* of aliases at one address the lowest wins: global, weak, local */
  int index;           /* in the symbol table */
} rp_elfsym_t;

struct rp_elfsyms_s {
  RP_VEC(rp_elfsym_t) syms; /* by address, one per address */
};

/* By address; of aliases, the one named first: sized, global, then first in the symbol table (as
 * dwfl_module_addrinfo chooses, and the same on every run). */
static int by_address_then_rank(const void* a, const void* b) {
  const rp_elfsym_t *x = a, *y = b;
  if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
  if ((x->size > 0) != (y->size > 0)) return x->size > 0 ? -1 : 1;
  if (x->rank != y->rank) return x->rank - y->rank;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Where the section of a symbol ends, in module addresses; 0 if unknown. */
static uint64_t section_end(Elf* elf, GElf_Word shndx, Dwarf_Addr bias) {
  GElf_Shdr header;
  Elf_Scn* section = elf ? elf_getscn(elf, shndx) : NULL;
  if (!section || !gelf_getshdr(section, &header)) return 0;
  return header.sh_addr + bias + header.sh_size;
}

/* Function symbols (from .symtab, or .dynsym without one) sorted by address, one per address. A
 * symbol without a size (written in assembly) is taken to reach the next one or the end of its
 * section, never beyond: the PLT after .init is not _init. */
rp_elfsyms_t* rp_elfsyms_create(Dwfl_Module* mod) {
  rp_elfsyms_t* m = rp_xcalloc(1, sizeof *m);
  int n = dwfl_module_getsymtab(mod);
  for (int i = 0; i < n; i++) {
    GElf_Sym sym;
    GElf_Addr addr;
    GElf_Word shndx;
    Elf* elf;
    Dwarf_Addr bias;
    const char* name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
    int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
    if (!name || !*name || sym.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC)) continue;
    int rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    uint64_t end = sym.st_size ? addr + sym.st_size : section_end(elf, shndx, bias);
    RP_PUSH(m->syms, ((rp_elfsym_t){addr, sym.st_size, end, name, rank, i}));
  }
  if (!m->syms.n) return m;
  qsort(m->syms.v, m->syms.n, sizeof *m->syms.v, by_address_then_rank);
  size_t kept = 1;
  for (size_t i = 1; i < m->syms.n; i++)
    if (m->syms.v[i].addr != m->syms.v[kept - 1].addr) m->syms.v[kept++] = m->syms.v[i];
  m->syms.n = kept;
  for (size_t i = 0; i < kept; i++) {
    rp_elfsym_t* e = &m->syms.v[i];
    if (e->size) continue;
    if (i + 1 < kept && m->syms.v[i + 1].addr < e->end) e->end = m->syms.v[i + 1].addr;
    if (e->end < e->addr) e->end = e->addr;
  }
  return m;
}

void rp_elfsyms_destroy(rp_elfsyms_t* syms) {
  if (!syms) return;
  free(syms->syms.v);
  free(syms);
}

/* The function symbol containing pc: the nearest one below it, or an enclosing bigger one a few
 * entries back. */
const char* rp_elfsyms_function(const rp_elfsyms_t* m, uint64_t pc) {
  if (!m) return NULL;
  size_t lo = 0, hi = m->syms.n; /* first entry above pc */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->syms.v[mid].addr <= pc)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t i = lo, back = 0; i > 0 && back < 8; i--, back++)
    if (pc < m->syms.v[i - 1].end) return m->syms.v[i - 1].name;
  return NULL;
}
