/* sampling.c - see track.h, "sampling.c". Each thread counts down the bytes to its next sample, drawn
 * from an exponential distribution with mean R, so every byte has the same chance of being the one
 * sampled and big allocations are almost always recorded. */
#include <dlfcn.h>
#include <string.h>

#include "../pools/os.h"
#include "track.h"

uint64_t pt_track_sampling_rate;
static __thread int64_t tls_left __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_rng __attribute__((tls_model("initial-exec")));

/* libm's log and expm1, loaded only when sampling is asked for: linked, libm was loaded into every
 * process under the preload, some 0.2 ms of each start (a third of what the preload adds to
 * `env /bin/true` untracked). */
static double (*log_of)(double);
static double (*expm1_of)(double);

static bool load_libm(void) {
  if (log_of && expm1_of) return true;
  void* lib = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  void* l = lib ? dlsym(lib, "log") : NULL;
  void* e = lib ? dlsym(lib, "expm1") : NULL;
  if (!l || !e) return false;
  memcpy(&log_of, &l, sizeof l); /* object to function pointer: as dlsym's manual page does */
  memcpy(&expm1_of, &e, sizeof e);
  return true;
}

void pt_track_set_sampling(uint64_t bytes) {
  if (bytes && !load_libm()) {
    pt__os_write_stderr("ptmem: cannot load libm.so.6 for PTMEM_SAMPLE; every allocation is tracked\n");
    bytes = 0;
  }
  pt_track_sampling_rate = bytes;
}
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
  if (pt_unlikely_(!tls_rng)) tls_left = (int64_t)(-log_of(uniform01()) * (double)pt_track_sampling_rate) + 1; /* a thread's
    first countdown is drawn like the others: starting at 0 would always sample its first, often tiny,
    allocation with a huge weight */
  tls_left -= (int64_t)size;
  if (tls_left > 0) return false;
  tls_left = (int64_t)(-log_of(uniform01()) * (double)pt_track_sampling_rate) + 1;
  return true;
}

uint64_t pt_track_weight_drawn(size_t size) {
  double p = -expm1_of(-(double)size / (double)pt_track_sampling_rate); /* 1 - exp(-size/pt_track_sampling_rate), precise for small sizes */
  double w = p > 0 ? 1.0 / p : (double)pt_track_sampling_rate;
  return w < 1.5 ? 1 : (uint64_t)(w + 0.5);
}
