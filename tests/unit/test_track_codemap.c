/* Unit tests of track/codemap.c: the trace writer's sorted lookup names the same module as a pass
 * over the module table would (the first in table order), and says "code" exactly for addresses in
 * an executable segment, at every segment's edges, inside, between and outside all of them; so does
 * a map without memory for its spans (its passes); and a map of fewer modules knows only those. */
#define _GNU_SOURCE
#include <elf.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "codemap.h"
#include "modules.h"

static int module_by_pass(uintptr_t addr, bool* code) {
  int found = -1;
  *code = false;
  for (size_t i = 0; i < pt_track_modules_count(); i++) {
    const pt_module_t* m = pt_track_module(i);
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t lo = m->base + m->segments[s].vaddr;
      if (addr < lo || addr >= lo + m->segments[s].memsz) continue;
      if (found < 0) found = (int)i;
      if (m->segments[s].flags & PF_X) *code = true;
    }
  }
  return found;
}

static unsigned checked, inside;
/* A map as pt_codemap_build leaves it when the OS refuses its spans' memory. */
static pt_codemap_t without_memory;

static void check_address(const pt_codemap_t* map, uintptr_t addr) {
  bool code;
  int want = module_by_pass(addr, &code);
  CHECK_EQ(pt_codemap_module(map, addr), want);
  CHECK_EQ(pt_codemap_code(map, addr), code);
  CHECK_EQ(pt_codemap_module(&without_memory, addr), want);
  CHECK_EQ(pt_codemap_code(&without_memory, addr), code);
  CHECK_EQ(pt_track_module_code_contains(addr), code);
  checked++;
  if (want >= 0) inside++;
}

int main(void) {
  pt_track_modules_refresh();
  size_t modules = pt_track_modules_count();
  CHECK_GE(modules, 3); /* this program, libc, the loader at least */
  pt_codemap_t map;
  CHECK(pt_codemap_build(&map, modules));
  CHECK(!map.overlapping);
  without_memory = (pt_codemap_t){.modules = modules, .overlapping = true};
  for (size_t i = 0; i < modules; i++) {
    const pt_module_t* m = pt_track_module(i);
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t lo = m->base + m->segments[s].vaddr, hi = lo + m->segments[s].memsz;
      uintptr_t probes[] = {lo - 1, lo, lo + 1, lo + (hi - lo) / 2, hi - 1, hi, hi + 4096};
      for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) check_address(&map, probes[p]);
    }
  }
  uintptr_t others[] = {0, 1, 4096, UINTPTR_MAX, (uintptr_t)&map, (uintptr_t)&checked};
  for (size_t p = 0; p < sizeof others / sizeof others[0]; p++) check_address(&map, others[p]);

  /* and the answers name the right objects */
  /* a function of libc's that no sanitizer intercepts: its address is libc's own */
  int libc = pt_codemap_module(&map, (uintptr_t)&gnu_get_libc_version);
  CHECK_GE(libc, 0);
  CHECK(strstr(pt_track_module((size_t)libc)->path, "libc.so") != NULL);
  CHECK(pt_codemap_code(&map, (uintptr_t)&gnu_get_libc_version));
  int self = pt_codemap_module(&map, (uintptr_t)&main);
  CHECK_GE(self, 0);
  CHECK(strstr(pt_track_module((size_t)self)->path, "unit_track_codemap") != NULL);
  CHECK(!pt_codemap_code(&map, (uintptr_t)&checked)); /* data, not code */
  CHECK_GE(inside, modules * 3);
  pt_codemap_free(&map);
  /* Modules loaded after the trace listed its modules are none of the map's: no frame may name
   * one the trace lacks. */
  CHECK(pt_codemap_build(&map, (size_t)self));
  CHECK_EQ(pt_codemap_module(&map, (uintptr_t)&main), -1);
  CHECK(!pt_codemap_code(&map, (uintptr_t)&main));
  without_memory.modules = (size_t)self;
  CHECK_EQ(pt_codemap_module(&without_memory, (uintptr_t)&main), -1);
  CHECK(!pt_codemap_code(&without_memory, (uintptr_t)&main));
  pt_codemap_free(&map);
  printf("codemap: %u addresses in %zu modules agree with the table\n", checked, modules);
  return 0;
}
