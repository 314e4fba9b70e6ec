/* mallinfo.c - glibc's introspection calls answered from ptmem's own statistics (stats.c walks the
 * spans; nothing is counted on the fast paths). mallopt acts on no glibc parameter: ptmem's tunables
 * are the PTMEM_* environment options. It answers 1 all the same, as glibc 2.36 does for a parameter
 * it ignores (an unknown one): programs that check it (M_ARENA_MAX, M_MMAP_THRESHOLD) go on. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "entry.h"
#include "preload.h"

static int clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

PT_EXPORT struct mallinfo2 mallinfo2(void) {
  pt_stats_t s;
  pt__stats_collect(&s);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = s.mapped - s.huge;            /* bytes in spans (non-mmapped space, in glibc's words) */
  mi.hblks = 0;
  mi.hblkhd = s.huge;                      /* bytes in directly mapped huge blocks */
  mi.uordblks = s.in_use;                  /* bytes in blocks handed out */
  mi.fordblks = s.mapped > s.in_use ? s.mapped - s.in_use : 0;
  mi.keepcost = s.free_dirty;              /* free bytes still resident, purgeable by malloc_trim */
  return mi;
}

PT_EXPORT struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = clamp_int(m2.arena);
  mi.hblkhd = clamp_int(m2.hblkhd);
  mi.uordblks = clamp_int(m2.uordblks);
  mi.fordblks = clamp_int(m2.fordblks);
  mi.keepcost = clamp_int(m2.keepcost);
  return mi;
}

PT_EXPORT int malloc_trim(size_t pad) {
  (void)pad;
  pt_stats_t before, after;
  pt__stats_collect(&before);
  if (!pt__enter()) return 0; /* a signal handler inside malloc: the thread's own calls will trim */
  pt__maintenance(true);
  pt__leave();
  pt__stats_collect(&after);
  return after.free_dirty < before.free_dirty || after.mapped < before.mapped;
}

PT_EXPORT int mallopt(int param, int value) {
  (void)param;
  (void)value;
  return 1;
}

PT_EXPORT void malloc_stats(void) {
  pt_stats_t s;
  pt__stats_collect(&s);
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "ptmem:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
                   "free resident    = %10zu\nhuge mmap bytes  = %10zu\nthread heaps     = %10zu\n"
                   "resident set     = %10zu\n",
                   s.mapped, s.in_use, s.free_dirty, s.huge, s.heaps, s.rss);
  if (n > 0) pt__os_write_stderr(buf);
}

PT_EXPORT int malloc_info(int options, FILE* fp) {
  if (options != 0) return EINVAL; /* glibc's way: the code returned, errno left alone */
  pt_stats_t s;
  pt__stats_collect(&s);
  fprintf(fp,
          "<malloc version=\"ptmem-1\">\n"
          "<heaps count=\"%zu\"/>\n"
          "<system type=\"current\" size=\"%zu\"/>\n"
          "<total type=\"inuse\" size=\"%zu\"/>\n"
          "<total type=\"free-resident\" size=\"%zu\"/>\n"
          "<total type=\"mmap\" size=\"%zu\"/>\n"
          "<total type=\"rss\" size=\"%zu\"/>\n"
          "</malloc>\n",
          s.heaps, s.mapped, s.in_use, s.free_dirty, s.huge, s.rss);
  return 0;
}
