/* symbolize_units.c - see symbolize_units.h. Reading every unit's ranges costs one pass over the
 * unit headers and root DIEs (not their children), once per module, and only for modules where
 * libdw missed an address. */
#include "symbolize_units.h"

#include <dwarf.h>
#include <stdlib.h>

#include "ranges.h"
#include "util.h"

typedef struct rp_unitrange_s {
  uint64_t lo, hi;  /* [lo, hi) */
  Dwarf_Off cu_off; /* of the unit's root DIE */
} rp_unitrange_t;
_Static_assert(offsetof(rp_unitrange_t, hi) == 8, "ranges.h reads lo, hi first");

struct rp_units_s {
  Dwarf* dw;
  bool built;
  RP_VEC(rp_unitrange_t) ranges; /* by lo */
};

rp_units_t* rp_units_create(Dwarf* dw) {
  rp_units_t* u = rp_xcalloc(1, sizeof *u);
  u->dw = dw;
  return u;
}

void rp_units_destroy(rp_units_t* u) {
  if (!u) return;
  free(u->ranges.v);
  free(u);
}

static int by_lo(const void* a, const void* b) {
  const rp_unitrange_t *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Compile units only: a partial unit (dwz) holds what the units importing it share, not code of its
 * own, a type unit holds no code, and split DWARF (skeleton units) is not supported. */
static void build(rp_units_t* u) {
  u->built = true;
  size_t header_size;
  for (Dwarf_Off off = 0, next; dwarf_nextcu(u->dw, off, &next, &header_size, NULL, NULL, NULL) == 0;
       off = next) {
    Dwarf_Die cudie;
    if (!dwarf_offdie(u->dw, off + header_size, &cudie) || dwarf_tag(&cudie) != DW_TAG_compile_unit) continue;
    Dwarf_Addr base, lo, hi;
    for (ptrdiff_t at = 0; (at = dwarf_ranges(&cudie, at, &base, &lo, &hi)) > 0;)
      if (lo < hi) RP_PUSH(u->ranges, ((rp_unitrange_t){lo, hi, dwarf_dieoffset(&cudie)}));
  }
  if (u->ranges.n) qsort(u->ranges.v, u->ranges.n, sizeof *u->ranges.v, by_lo);
}

bool rp_units_find(rp_units_t* u, uint64_t addr, Dwarf_Die* cudie) {
  if (!u->built) build(u);
  size_t i = rp_range_holding(u->ranges.v, u->ranges.n, sizeof *u->ranges.v, addr, 16);
  return i != SIZE_MAX && dwarf_offdie(u->dw, u->ranges.v[i].cu_off, cudie) != NULL;
}
