/* sampling.c - see track.h, "sampling.c". Each thread counts down the bytes to its next sample, drawn
 * from an exponential distribution with mean R, so every byte has the same chance of being the one
 * sampled and big allocations are almost always recorded. */
#include <math.h>

#include "track.h"

uint64_t pt_track_sampling_rate;
static __thread int64_t tls_left __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_rng __attribute__((tls_model("initial-exec")));

void pt_track_set_sampling(uint64_t bytes) { pt_track_sampling_rate = bytes; }
uint64_t pt_track_sampling(void) { return pt_track_sampling_rate; }

#define pt_unlikely_(x) __builtin_expect(!!(x), 0)

static double uniform01(void) {
  if (!tls_rng) tls_rng = (uint64_t)(uintptr_t)&tls_rng * 0x9E3779B97F4A7C15ull | 1; /* per thread */
  tls_rng ^= tls_rng << 13;
  tls_rng ^= tls_rng >> 7;
  tls_rng ^= tls_rng << 17;
  return ((double)(tls_rng >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

bool pt_track_sample_drawn(size_t size) {
  if (pt_unlikely_(!tls_rng)) tls_left = (int64_t)(-log(uniform01()) * (double)pt_track_sampling_rate) + 1; /* a thread's
    first countdown is drawn like the others: starting at 0 would always sample its first, often tiny,
    allocation with a huge weight */
  tls_left -= (int64_t)size;
  if (tls_left > 0) return false;
  tls_left = (int64_t)(-log(uniform01()) * (double)pt_track_sampling_rate) + 1;
  return true;
}

uint64_t pt_track_weight_drawn(size_t size) {
  double p = -expm1(-(double)size / (double)pt_track_sampling_rate); /* 1 - exp(-size/pt_track_sampling_rate), precise for small sizes */
  double w = p > 0 ? 1.0 / p : (double)pt_track_sampling_rate;
  return w < 1.5 ? 1 : (uint64_t)(w + 0.5);
}
