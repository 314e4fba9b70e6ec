/* symbolize_dwarf.c - see symbolize_dwarf.h.
 * The scopes at an address are what eu-addr2line finds with dwarf_getscopes then
 * dwarf_getscopes_die (the first follows abstract origins and skips the enclosing subprogram, the
 * second gives the physical nesting), but each of those walks the compile unit's DIEs from its
 * root: 0.35 ms per address in libc. So each compile unit is walked once, for the pc ranges of its
 * functions (sorted), and an address only descends the one function containing it, into the
 * inlined subroutines and lexical blocks that contain it. Addresses the index misses (functions
 * nested where the walk does not look) take the two libdw calls.
 * Each DW_TAG_inlined_subroutine is a logical frame: its name from its abstract origin, and the
 * line it was called from (DW_AT_call_file, DW_AT_call_line) is the next outer frame's line.
 * The unit at an address is libdw's when its own ranges agree, else symbolize_units.c's. */
#include "symbolize_dwarf.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "ranges.h"
#include "symbolize_units.h"
#include "util.h"

typedef struct rp_fnrange_s {
  uint64_t lo, hi; /* [lo, hi) in the module's DWARF addresses */
  Dwarf_Die die;   /* the DW_TAG_subprogram */
} rp_fnrange_t;

typedef struct rp_span_s {
  uint64_t lo, hi;
} rp_span_t;
_Static_assert(offsetof(rp_fnrange_t, hi) == 8 && offsetof(rp_span_t, hi) == 8, "ranges.h reads lo, hi first");

typedef struct rp_qualname_s {
  void* die_addr; /* the named declaration */
  char* name;     /* "demo::grab" */
} rp_qualname_t;

typedef struct rp_cuindex_s {
  void* cu_addr;               /* the compile unit DIE's address, which identifies it */
  RP_VEC(rp_span_t) spans;     /* the unit's own ranges, by lo */
  RP_VEC(rp_fnrange_t) ranges; /* by lo */
  RP_VEC(rp_qualname_t) names; /* computed as inlined functions without linkage names show up */
} rp_cuindex_t;

struct rp_dwarf_s {
  Dwfl_Module* mod;
  Dwarf* dw;
  Dwarf_Addr bias;           /* module address - DWARF address */
  rp_units_t* units;         /* the units by their ranges, where libdw finds none */
  RP_VEC(rp_cuindex_t*) cus; /* by cu_addr */
  RP_VEC(Dwarf_Die) scopes;  /* of the address at hand, innermost first */
  RP_VEC(rp_rawframe_t) frames;
  rp_str_t text;
};

enum { MAX_NESTING = 256 }; /* bounds the walks on corrupt DWARF */

rp_dwarf_t* rp_dwarf_create(Dwfl_Module* mod) {
  rp_dwarf_t* d = rp_xcalloc(1, sizeof *d);
  d->mod = mod;
  d->dw = dwfl_module_getdwarf(mod, &d->bias);
  d->units = rp_units_create(d->dw);
  return d;
}

void rp_dwarf_destroy(rp_dwarf_t* d) {
  if (!d) return;
  for (size_t i = 0; i < d->cus.n; i++) {
    rp_cuindex_t* cu = d->cus.v[i];
    for (size_t k = 0; k < cu->names.n; k++)
      free(cu->names.v[k].name);
    free(cu->names.v);
    free(cu->ranges.v);
    free(cu->spans.v);
    free(cu);
  }
  free(d->cus.v);
  rp_units_destroy(d->units);
  free(d->scopes.v);
  free(d->frames.v);
  rp_str_free(&d->text);
  free(d);
}

/* ---- the compile unit index -------------------------------------------------------------------- */

static void index_functions(rp_cuindex_t* cu, Dwarf_Die* parent, int depth) {
  Dwarf_Die child;
  if (depth > MAX_NESTING || dwarf_child(parent, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_subprogram) {
      Dwarf_Addr base, lo, hi;
      for (ptrdiff_t at = 0; (at = dwarf_ranges(&child, at, &base, &lo, &hi)) > 0;)
        if (lo < hi) RP_PUSH(cu->ranges, ((rp_fnrange_t){lo, hi, child}));
    } else if (tag == DW_TAG_namespace || tag == DW_TAG_module || tag == DW_TAG_class_type ||
               tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
      index_functions(cu, &child, depth + 1);
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

static int by_lo(const void* a, const void* b) {
  const rp_fnrange_t *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int span_by_lo(const void* a, const void* b) {
  const rp_span_t *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static rp_cuindex_t* cu_index(rp_dwarf_t* d, Dwarf_Die* cudie) {
  size_t lo = 0, hi = d->cus.n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)d->cus.v[mid]->cu_addr < (uintptr_t)cudie->addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < d->cus.n && d->cus.v[lo]->cu_addr == cudie->addr) return d->cus.v[lo];
  rp_cuindex_t* cu = rp_xcalloc(1, sizeof *cu);
  cu->cu_addr = cudie->addr;
  index_functions(cu, cudie, 0);
  Dwarf_Addr base, lo_pc, hi_pc;
  for (ptrdiff_t at = 0; (at = dwarf_ranges(cudie, at, &base, &lo_pc, &hi_pc)) > 0;)
    if (lo_pc < hi_pc) RP_PUSH(cu->spans, ((rp_span_t){lo_pc, hi_pc}));
  if (cu->spans.n) qsort(cu->spans.v, cu->spans.n, sizeof *cu->spans.v, span_by_lo);
  if (cu->ranges.n) qsort(cu->ranges.v, cu->ranges.n, sizeof *cu->ranges.v, by_lo);
  RP_RESERVE(d->cus, d->cus.n + 1);
  memmove(&d->cus.v[lo + 1], &d->cus.v[lo], (d->cus.n - lo) * sizeof *d->cus.v);
  d->cus.v[lo] = cu;
  d->cus.n++;
  return cu;
}

/* libdw 0.188's dwfl_module_addrdie returns the unit below an address that no unit covers (crt1's
 * _start after main, or code of a unit .debug_aranges omits), and dwfl_module_getsrc then the last
 * row of its last sequence: a wrong line. So the unit's own ranges decide. */
static bool cu_covers(const rp_cuindex_t* cu, uint64_t addr) {
  return rp_range_holding(cu->spans.v, cu->spans.n, sizeof *cu->spans.v, addr, 1) != SIZE_MAX;
}

/* The function whose ranges contain addr: the nearest one starting below it, or one a few back
 * that encloses it. */
static const Dwarf_Die* cu_function_at(const rp_cuindex_t* cu, uint64_t addr) {
  size_t i = rp_range_holding(cu->ranges.v, cu->ranges.n, sizeof *cu->ranges.v, addr, 16);
  return i == SIZE_MAX ? NULL : &cu->ranges.v[i].die;
}

/* ---- scopes ------------------------------------------------------------------------------------ */

/* From the function down to the innermost block containing addr, then reversed. */
static bool scopes_from_index(rp_dwarf_t* d, rp_cuindex_t* cu, uint64_t addr) {
  const Dwarf_Die* fn = cu_function_at(cu, addr);
  if (!fn) return false;
  RP_PUSH(d->scopes, *fn);
  for (int depth = 0; depth < MAX_NESTING; depth++) {
    Dwarf_Die child;
    bool deeper = false;
    if (dwarf_child(&d->scopes.v[d->scopes.n - 1], &child) == 0) do {
        int tag = dwarf_tag(&child);
        if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
             tag == DW_TAG_catch_block) &&
            dwarf_haspc(&child, addr) == 1) {
          RP_PUSH(d->scopes, child);
          deeper = true;
          break;
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    if (!deeper) break;
  }
  for (size_t i = 0, j = d->scopes.n - 1; i < j; i++, j--) {
    Dwarf_Die swap = d->scopes.v[i];
    d->scopes.v[i] = d->scopes.v[j];
    d->scopes.v[j] = swap;
  }
  return true;
}

static void scopes_from_libdw(rp_dwarf_t* d, Dwarf_Die* cudie, uint64_t addr) {
  Dwarf_Die* scopes = NULL;
  int n = dwarf_getscopes(cudie, addr, &scopes);
  if (n > 0) {
    Dwarf_Die innermost = scopes[0];
    free(scopes);
    scopes = NULL;
    n = dwarf_getscopes_die(&innermost, &scopes);
  }
  for (int i = 0; i < n; i++)
    RP_PUSH(d->scopes, scopes[i]);
  free(scopes);
}

/* ---- names and call sites ---------------------------------------------------------------------- */

/* The name of a function DIE without a linkage name (GCC gives none to functions with internal
 * linkage), qualified by its namespaces and classes: computed once per declaration. */
static const char* qualified_name(rp_dwarf_t* d, rp_cuindex_t* cu, Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die named = *die;
  for (int hops = 0; !dwarf_hasattr(&named, DW_AT_name); hops++) {
    Dwarf_Attribute* ref = dwarf_attr(&named, DW_AT_abstract_origin, &attr);
    if (!ref) ref = dwarf_attr(&named, DW_AT_specification, &attr);
    if (hops == 8 || !ref || !dwarf_formref_die(ref, &named)) return NULL;
  }
  for (size_t i = 0; i < cu->names.n; i++)
    if (cu->names.v[i].die_addr == named.addr) return cu->names.v[i].name;
  Dwarf_Die* scopes = NULL;
  int n = dwarf_getscopes_die(&named, &scopes);
  rp_str_clear(&d->text);
  for (int i = n - 1; i > 0; i--) {
    int tag = dwarf_tag(&scopes[i]);
    const char* scope = dwarf_diename(&scopes[i]);
    if (tag == DW_TAG_namespace)
      rp_str_add(&d->text, scope ? scope : "(anonymous namespace)");
    else if ((tag == DW_TAG_class_type || tag == DW_TAG_structure_type || tag == DW_TAG_union_type) && scope)
      rp_str_add(&d->text, scope);
    else
      continue;
    rp_str_add(&d->text, "::");
  }
  free(scopes);
  rp_str_add(&d->text, dwarf_diename(&named));
  RP_PUSH(cu->names, ((rp_qualname_t){named.addr, rp_xstrdup(d->text.s)}));
  return cu->names.v[cu->names.n - 1].name;
}

/* A function's linkage name (mangled: qualified, with parameters once demangled, like the ELF
 * symbols), following the abstract origin and the declaration; else its qualified name. */
static const char* function_name(rp_dwarf_t* d, rp_cuindex_t* cu, Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (!name) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  return name ? name : qualified_name(d, cu, die);
}

/* Where an inlined subroutine was called from: the next outer frame's file and line. */
static void call_site(Dwarf_Die* inlined, Dwarf_Files* files, const char** file, uint32_t* line) {
  Dwarf_Attribute attr;
  Dwarf_Word value;
  *file = NULL;
  *line = 0;
  if (files && dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) == 0)
    *file = dwarf_filesrc(files, value, NULL, NULL);
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0)
    *line = value > UINT32_MAX ? 0 : (uint32_t)value;
}

unsigned rp_dwarf_frames(rp_dwarf_t* d, uint64_t pc, bool physical_name, const rp_rawframe_t** frames) {
  d->frames.n = 0;
  d->scopes.n = 0;
  *frames = NULL;
  if (!d->dw) return 0;
  uint64_t addr = pc - d->bias;
  Dwarf_Addr bias;
  Dwarf_Die cudie, *found = dwfl_module_addrdie(d->mod, pc, &bias);
  rp_cuindex_t* cu = found ? cu_index(d, found) : NULL;
  if (cu && cu_covers(cu, addr))
    cudie = *found;
  else if (rp_units_find(d->units, addr, &cudie))
    cu = cu_index(d, &cudie);
  else
    return 0;
  if (!scopes_from_index(d, cu, addr)) scopes_from_libdw(d, &cudie, addr);

  /* The innermost frame's line is the line table's (the unit's own: dwfl_module_getsrc would ask
   * .debug_aranges again); each inlined frame gives its caller's. */
  const char* file = NULL;
  int lineno = 0;
  Dwarf_Line* row = dwarf_getsrc_die(&cudie, addr);
  if (row && dwarf_lineno(row, &lineno) == 0) file = dwarf_linesrc(row, NULL, NULL);
  uint32_t line = file && lineno > 0 ? (uint32_t)lineno : 0;
  Dwarf_Files* files = NULL;
  size_t nfiles;
  if (dwarf_getsrcfiles(&cudie, &files, &nfiles) != 0) files = NULL;

  bool physical = false;
  for (size_t i = 0; i < d->scopes.n && !physical; i++) {
    Dwarf_Die* scope = &d->scopes.v[i];
    int tag = dwarf_tag(scope);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
    physical = tag == DW_TAG_subprogram;
    const char* name = !physical || physical_name ? function_name(d, cu, scope) : NULL;
    RP_PUSH(d->frames, ((rp_rawframe_t){name, file, line, !physical}));
    if (!physical) call_site(scope, files, &file, &line);
  }
  /* No function at all, from the caller or the debug info: padding between functions, whose row
   * is the previous function's last, or nothing known. */
  if (!physical && !d->frames.n && (physical_name || !file)) return 0;
  if (!physical) RP_PUSH(d->frames, ((rp_rawframe_t){NULL, file, line, false}));
  *frames = d->frames.v;
  return (unsigned)d->frames.n;
}
