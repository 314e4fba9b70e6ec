/* ranges.h - the lookup shared by arrays of [lo, hi) ranges sorted by lo whose elements begin with
 * `uint64_t lo, hi` (a unit's spans and functions, the units of a module). */
#ifndef PTMEM_REPORT_RANGES_H
#define PTMEM_REPORT_RANGES_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The index of the range holding addr: the last one starting at or below it, or one of the `back`
 * before that which encloses it (ranges may nest: a unit or function spanning another's code must
 * not hide the code after it); SIZE_MAX if none. `stride` is the element size. */
static inline size_t rp_range_holding(const void* ranges, size_t n, size_t stride, uint64_t addr, size_t back) {
  const char* base = ranges;
  uint64_t bound;
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    memcpy(&bound, base + mid * stride, sizeof bound); /* lo */
    if (bound <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t i = lo, k = 0; i > 0 && k < back; i--, k++) {
    memcpy(&bound, base + (i - 1) * stride + sizeof(uint64_t), sizeof bound); /* hi */
    if (addr < bound) return i - 1;
  }
  return SIZE_MAX;
}

#endif
