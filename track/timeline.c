/* timeline.c - see timeline.h. */
#include "timeline.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "../pools/atomic.h"
#include "../pools/os.h"
#include "leaks.h"
#include "track.h"

#define SAMPLES_MAX PT_TIMELINE_SAMPLES_MAX
#define RSS_PERIOD_NS 10000000u /* /proc/self/statm costs three syscalls: not more often */

static pt_timeline_sample_t* samples;
static size_t nsamples;
static uint64_t interval_ns = 1000000; /* doubles each time the buffer is folded */
static _Atomic uint64_t next_sample_ns;
_Atomic int64_t pt_track_timeline_high;
static uint64_t last_rss_ns, last_rss;
static _Atomic int busy;
__thread uint32_t pt_track_timeline_events __attribute__((tls_model("initial-exec")));
_Atomic int pt_track_snapshot_due;
/* Snapshots for crash tolerance: the first after 1 s, then at doubling intervals up to a minute,
 * so a short run pays nothing and a long one loses at most a minute to a SIGKILL. A snapshot is
 * the whole trace, its cost grows with the stacks: cppcheck's 100 k cost 70 ms, 5% of its 1.5 s
 * run. So a snapshot also waits until the run has lasted 50 times what it is expected to take
 * (the last snapshot's cost per stack, times the stacks now): snapshots cost at most 2%. */
static uint64_t next_snapshot_ns, snapshot_interval_ns = 1000000000u;
static uint64_t first_sample_ns;
static _Atomic uint64_t snapshot_ns_per_stack = 700; /* until one is measured */
#define SNAPSHOT_INTERVAL_MAX_NS 60000000000ull
#define SNAPSHOT_BUDGET 50 /* run time per snapshot time */

void pt_track_timeline_snapshot_took(uint64_t ns, uint32_t stacks) {
  pt_store_relaxed(&snapshot_ns_per_stack, ns / (stacks ? stacks : 1));
}

/* True if a snapshot is due at `now`; else when to ask again. */
static bool snapshot_due(uint64_t now) {
  uint64_t expected = pt_load_relaxed(&snapshot_ns_per_stack) * pt_track_stack_count();
  uint64_t affordable_at = first_sample_ns + expected * SNAPSHOT_BUDGET;
  if (now < affordable_at) {
    next_snapshot_ns = affordable_at;
    return false;
  }
  if (snapshot_interval_ns < SNAPSHOT_INTERVAL_MAX_NS) snapshot_interval_ns *= 2;
  next_snapshot_ns = now + snapshot_interval_ns;
  return true;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fold(void) { /* halve the resolution: merge neighbours, keeping the higher heap */
  size_t j = 0;
  for (size_t i = 0; i + 1 < nsamples; i += 2, j++) {
    pt_timeline_sample_t a = samples[i], b = samples[i + 1];
    samples[j] = b;
    if (a.heap_bytes > b.heap_bytes) samples[j].heap_bytes = a.heap_bytes;
  }
  if (nsamples & 1) samples[j++] = samples[nsamples - 1];
  nsamples = j;
  interval_ns *= 2;
}

/* The heap a sample shows: the higher of the interval's high-water mark and the total now. With
 * threads the shared total leaves out up to PT_TRACK_BATCH bytes a thread, so a thread freeing
 * blocks another allocated can take it a little below zero; the heap itself never is. */
static int64_t heap_seen(int64_t top, int64_t live) {
  int64_t high = top > live ? top : live;
  return high > 0 ? high : 0;
}

static void take_sample(uint64_t now, int64_t live) {
  int expected = 0;
  pt_track_locks_held++; /* first: a signal handler's allocation right after the CAS must see it */
  if (!pt_cas_strong_acq_rel(&busy, &expected, 1)) { /* someone else is sampling */
    pt_track_locks_release();
    return;
  }
  if (!samples) {
    samples = pt__os_reserve(SAMPLES_MAX * sizeof *samples, 4096);
    pt_track_leaks_exclude(samples, SAMPLES_MAX * sizeof *samples);
  }
  if (samples) {
    if (nsamples == SAMPLES_MAX) fold();
    if (now - last_rss_ns >= RSS_PERIOD_NS) {
      last_rss = pt__os_rss();
      last_rss_ns = now;
    }
    if (!next_snapshot_ns) {
      first_sample_ns = now;
      next_snapshot_ns = now + snapshot_interval_ns;
    }
    if (now >= next_snapshot_ns && snapshot_due(now)) pt_store_relaxed(&pt_track_snapshot_due, 1);
    int64_t top = pt_exchange_acq_rel(&pt_track_timeline_high, live);
    samples[nsamples++] = (pt_timeline_sample_t){now, heap_seen(top, live), last_rss};
    pt_store_relaxed(&next_sample_ns, now + interval_ns);
  }
  pt_store_release(&busy, 0);
  pt_track_locks_release();
}

void pt_track_timeline_tick(int64_t live) {
  uint64_t now = now_ns();
  if (now >= pt_load_relaxed(&next_sample_ns)) take_sample(now, live);
}

size_t pt_track_timeline_read(pt_timeline_sample_t* out, size_t max) {
  pt_track_locks_held++;
  pt_spin_lock(&busy);
  size_t n = nsamples < max ? nsamples : max;
  if (n) memcpy(out, samples + (nsamples - n), n * sizeof *out);
  pt_spin_unlock(&busy);
  pt_track_locks_release();
  return n;
}

pt_timeline_sample_t pt_track_timeline_closing(uint64_t now, int64_t live) {
  int64_t top = pt_load_relaxed(&pt_track_timeline_high);
  return (pt_timeline_sample_t){now, heap_seen(top, live), pt__os_rss()};
}

void pt_track_timeline_fork_child(void) {
  pt_store_relaxed(&busy, 0);
  nsamples = 0; /* the child's own timeline and snapshots start here */
  pt_store_relaxed(&pt_track_timeline_high, 0); /* the parent's high-water mark is not the child's */
  next_snapshot_ns = 0;
  first_sample_ns = 0;
  snapshot_interval_ns = 1000000000u;
}
