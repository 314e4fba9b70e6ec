/* timeline.h - live heap bytes and RSS over the run, for the report's plot. Sampled on the event
 * path (a time-stamp-counter read every 64 events of a thread), at most once a millisecond, each
 * sample holding the highest live total since the previous one, so a peak lasting a few
 * milliseconds shows at its true height. When the buffer fills, neighbouring samples are merged
 * (keeping the higher) and the interval doubles: memory and trace size stay bounded. A trace ends
 * with one more sample, taken when it is written (pt_track_timeline_closing): a run too short for
 * the event path to sample still has its RSS, and a long one its state at the end. */
#ifndef PTMEM_TRACK_TIMELINE_H
#define PTMEM_TRACK_TIMELINE_H
#include <stddef.h>
#include <stdint.h>

#include "../pools/atomic.h"

typedef struct pt_timeline_sample_s {
  uint64_t t_ns;       /* CLOCK_MONOTONIC */
  int64_t heap_bytes;  /* highest live total in the interval ending at t_ns */
  uint64_t rss_bytes;  /* resident set size at the last reading (read at most every 10 ms) */
} pt_timeline_sample_t;

/* The buffer's capacity: pt_track_timeline_read never returns more. */
#define PT_TIMELINE_SAMPLES_MAX 16384

/* Called by sites.h with the live total after each event: inline, a compare and a count, and
 * every 64 events of a thread a clock read (pt_track_timeline_tick). */
extern _Atomic int64_t pt_track_timeline_high; /* highest live total since the last sample */
extern __thread uint32_t pt_track_timeline_events __attribute__((tls_model("initial-exec")));
void pt_track_timeline_tick(int64_t live_total);
static inline void pt_track_timeline_count(int64_t live_total) { /* an event that did not grow the heap */
  if (pt_unlikely(!(++pt_track_timeline_events & 63))) pt_track_timeline_tick(live_total);
}
static inline void pt_track_timeline_event(int64_t live_total) {
  if (live_total > pt_load_relaxed(&pt_track_timeline_high)) pt_store_relaxed(&pt_track_timeline_high, live_total);
  pt_track_timeline_count(live_total);
}
/* Copies up to `max` samples, oldest first; returns how many. */
size_t pt_track_timeline_read(pt_timeline_sample_t* out, size_t max);
/* The sample that closes a trace written at `now_ns` (CLOCK_MONOTONIC) with `live_total` bytes
 * live: the highest live total since the last buffered sample, as every sample holds, and the RSS
 * read now. It is not buffered, so folding and the sampler's lock are untouched and the next
 * buffered sample still covers its interval. No allocation: usable wherever a trace is written. */
pt_timeline_sample_t pt_track_timeline_closing(uint64_t now_ns, int64_t live_total);
void pt_track_timeline_fork_child(void);
/* Set (by the sampler, when the snapshot period passed, or by anyone) when a snapshot of the trace
 * should be written; the embedder writes it outside its allocator's locks and clears it. */
extern _Atomic int pt_track_snapshot_due;
/* What the last snapshot cost, with `stacks` stacks: the sampler spaces snapshots by it. */
void pt_track_timeline_snapshot_took(uint64_t ns, uint32_t stacks);

#endif
