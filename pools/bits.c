/* bits.c - lock-free claiming of bits in 64-bit atomic words, shared by the arena (runs of slices)
 * and the pool engine (single blocks). A run search ANDs the free mask with shifted copies of itself,
 * doubling the covered length each step, so a run of n needs O(log n) operations. */
#include "internal.h"

static const uint64_t align_positions[7] = {
    ~0ull,                 /* 1: every position */
    0x5555555555555555ull, /* 2 */
    0x1111111111111111ull, /* 4 */
    0x0101010101010101ull, /* 8 */
    0x0001000100010001ull, /* 16 */
    0x0000000100000001ull, /* 32 */
    0x0000000000000001ull, /* 64 */
};

int pt__bits_find_run(uint64_t w, unsigned n, unsigned align) {
  if (n == 0 || n > 64) return -1;
  if (n == 64) return w == 0 ? 0 : -1;
  uint64_t starts = ~w; /* bit i set: bits i..i+len-1 are all free, for len == 1 so far */
  unsigned len = 1;
  while (len < n && starts) {
    unsigned step = (n - len < len) ? n - len : len;
    starts &= starts >> step; /* zeros shift in from the top: a run cannot leave the word */
    len += step;
  }
  starts &= align_positions[__builtin_ctz(align ? align : 1)];
  starts &= n < 64 ? (~0ull >> (n - 1)) : 1ull; /* keep only starts whose run fits in the word */
  if (!starts) return -1;
  return __builtin_ctzll(starts);
}

int pt__bits_take_lowest(_Atomic uint64_t* w) {
  uint64_t v = pt_load_relaxed(w);
  while (v) {
    uint64_t bit = v & (~v + 1);
    if (pt_cas_weak_acq_rel(w, &v, v & ~bit)) return __builtin_ctzll(bit);
  }
  return -1;
}
