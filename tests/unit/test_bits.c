/* Unit tests of bits.c: run search and single-bit claims, checked against a brute-force reference. */
#include "check.h"
#include "internal.h"

static int reference_run(uint64_t w, unsigned n, unsigned align) {
  for (unsigned pos = 0; pos + n <= 64; pos += align) {
    uint64_t mask = pt__bits_mask(pos, n);
    if ((w & mask) == 0) return (int)pos;
  }
  return -1;
}

int main(void) {
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 200000; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    uint64_t w = seed & (seed >> (i % 5)); /* vary the density of used bits */
    if (i % 7 == 0) w = 0;
    unsigned n = 1 + (unsigned)(i % 64), align = 1u << (i % 7);
    CHECK_EQ(pt__bits_find_run(w, n, align), reference_run(w, n, align));
  }
  CHECK_EQ(pt__bits_find_run(0, 64, 1), 0);
  CHECK_EQ(pt__bits_find_run(1, 64, 1), -1);
  CHECK_EQ(pt__bits_find_run(~0ull, 1, 1), -1);
  CHECK_EQ(pt__bits_find_run(0x8000000000000000ull, 63, 1), 0);
  CHECK_EQ(pt__bits_find_run(0x1ull, 63, 1), 1);

  _Atomic uint64_t word = 0xF0;
  CHECK_EQ(pt__bits_take_lowest(&word), 4);
  CHECK_EQ(pt__bits_take_lowest(&word), 5);
  CHECK_UEQ(pt_load_relaxed(&word), 0xC0);
  pt_store_relaxed(&word, 0);
  CHECK_EQ(pt__bits_take_lowest(&word), -1);
  puts("bits: ok");
  return 0;
}
