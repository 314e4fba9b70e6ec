/* replay.h - replaying this thread's remembered walks (unwind.c records them): inline, because a
 * replay is the whole stack capture of most allocations and costs a few loads per frame, less than
 * the calls around it.
 *
 * A walk is a function of the registers it starts with (ip, sp, rbp), the rules (fixed for a cache
 * generation) and the stack words it reads that decide something: every return address, and a
 * saved rbp only if a later frame's CFA is computed from it (code without frame pointers keeps
 * data in rbp, saved by its callees, and that changes from call to call). The starting rbp is such
 * a word too: the embedder's frame saved it, at sp - 16. The same start and the
 * same deciding words give the same frames. So each thread keeps its last walks as their start and
 * deciding reads, and a walk that starts the same is replayed: each recorded address is read
 * again, in order, and compared. Every address is one the fresh walk would read, computed from
 * words already found equal, so the replay reads nothing a fresh walk would not; it saves the rule
 * lookups and the bookkeeping.
 *
 * The walks are kept in groups by their start, four to a group: one allocating function reached
 * through different callers starts at the same ip every time (python3's object allocator: with one
 * walk kept per start ip, two allocations in three missed and walked; with four, one in thirteen).
 * A program with many stacks needs many walks kept: cppcheck (101 k stacks, 5.3 M allocations)
 * walked 2.28 M times with 32 walks kept, 1.21 M with 1024 (0.93x the wall time), 0.95 M with
 * 4096 (no faster). The first PT_TRACK_REPLAY_WIDE_THREADS threads at a time keep 1024, the others
 * 32 (8 groups): a server's hundred workers would otherwise commit 80 MiB of walks. Groups are
 * chosen by start ip and sp, and a group's starts share a cache line, so a lookup reads one walk's
 * lines, not four. 1024 walks of 824 bytes, 824 KiB per thread, touched only as far as a thread's
 * stacks vary. Keeping the 32 walks in front and the rest in a
 * second set looked at only when they miss gave half the gain, and cost mixed-1t more. */
#ifndef PTMEM_TRACK_REPLAY_H
#define PTMEM_TRACK_REPLAY_H
#include <stdbool.h>
#include <stdint.h>

#include "../pools/atomic.h"

#define PT_TRACK_REPLAY_READS 48
#define PT_TRACK_REPLAY_GROUPS 256
#define PT_TRACK_REPLAY_WAYS 4 /* per group */
#define PT_TRACK_REPLAY_FEW_GROUPS 8    /* of a thread past the first ... */
#define PT_TRACK_REPLAY_WIDE_THREADS 16 /* ... that many at a time */
#define PT_TRACK_FRAME_MAX    ((uintptr_t)256 << 20) /* a larger step between two frames: give up */

typedef struct pt_track_replay_s {
  uintptr_t ip, sp;
  uint64_t generation;          /* of the rules */
  uint64_t tag;                 /* the embedder's, for a complete walk it remembered; 0: not usable */
  uint32_t id;                  /* what the embedder made of the frames */
  uint32_t nreads;              /* more than PT_TRACK_REPLAY_READS: too long to keep */
  struct {
    const uintptr_t* addr;
    uintptr_t value_hidden; /* pt_track_hidden(*addr) */
  } reads[PT_TRACK_REPLAY_READS];
} pt_track_replay_t;

/* This thread's walks (unwind.c keeps them out of thread-local storage: perthread.h says why);
 * NULL until its first walk. */
typedef struct pt_track_replay_start_s {
  uintptr_t ip, sp; /* of a remembered walk; ip 0: none */
} pt_track_replay_start_t;
typedef struct pt_track_replays_s {
  uintptr_t groups_mask; /* groups in use - 1 (a power of two, at most PT_TRACK_REPLAY_GROUPS) */
  _Alignas(64) pt_track_replay_start_t start[PT_TRACK_REPLAY_GROUPS][PT_TRACK_REPLAY_WAYS];
  pt_track_replay_t group[PT_TRACK_REPLAY_GROUPS][PT_TRACK_REPLAY_WAYS];
  uint8_t victim[PT_TRACK_REPLAY_GROUPS]; /* the way to replace next when a group is full */
} pt_track_replays_t;
extern __thread pt_track_replays_t* pt_track_tls_replays __attribute__((tls_model("initial-exec")));
extern __thread bool pt_track_replay_armed __attribute__((tls_model("initial-exec"))); /* record the next walk */
extern _Atomic uint64_t pt_track_unwind_generation; /* of the rule cache: dlclose bumps it */

/* Words read from the stack are kept complemented. Code without frame pointers keeps data in rbp,
 * a heap pointer as often as not, and this thread-local memory is scanned for roots at exit: kept
 * as read, a lost list's head saved in a walk record made the list reachable (tests/demo). */
static inline uintptr_t pt_track_hidden(uintptr_t word) {
  return ~word;
}

static inline unsigned pt_track_replay_group(const pt_track_replays_t* replays, uintptr_t ip, uintptr_t sp) {
  return (unsigned)((ip ^ ip >> 9 ^ sp >> 4) & replays->groups_mask);
}

/* The next frame out, or NULL if the chain looks wrong (not growing upwards, too far, misaligned). */
static inline const uintptr_t* pt_track_caller_frame(const uintptr_t* fp) {
  uintptr_t next = fp[0];
  /* one unsigned compare: at or below this frame wraps around to a huge step */
  return next - (uintptr_t)fp - 1 < PT_TRACK_FRAME_MAX && !(next & 7) ? (const uintptr_t*)next : NULL;
}

/* From the embedder's frame `frame` out to the first one whose return address is foreign. */
static inline const uintptr_t* pt_track_first_foreign_frame(const void* frame, uintptr_t own_lo,
                                                            uintptr_t own_hi) {
  const uintptr_t* fp = frame;
  while (fp && fp[1] - own_lo < own_hi - own_lo)
    fp = pt_track_caller_frame(fp);
  return fp;
}

/* True, with that id, if the walk pt_track_unwind_foreign would make from `frame` (with the same
 * range) is one remembered under `tag`: it starts in the same registers and every stack word it
 * reads is the same. Reads those words only. Else the next pt_track_unwind_foreign is recorded. */
static inline __attribute__((always_inline)) bool pt_track_unwind_replay(const void* frame, uintptr_t own_lo,
                                                                        uintptr_t own_hi, uint64_t tag,
                                                                        uint32_t* id) {
  const uintptr_t* fp = pt_track_first_foreign_frame(frame, own_lo, own_hi);
  if (pt_unlikely(!fp || !tag)) return false;
  const pt_track_replays_t* replays = pt_track_tls_replays;
  if (pt_unlikely(!replays)) goto miss;
  uintptr_t ip = fp[1], sp = (uintptr_t)fp + 16;
  unsigned g = pt_track_replay_group(replays, ip, sp);
  const pt_track_replay_start_t* starts = replays->start[g];
  for (unsigned w = 0; w < PT_TRACK_REPLAY_WAYS; w++) {
    if ((starts[w].ip ^ ip) | (starts[w].sp ^ sp)) continue;
    const pt_track_replay_t* e = &replays->group[g][w];
    if (e->tag != tag || e->generation != pt_load_acquire(&pt_track_unwind_generation))
      continue;
    uint32_t i = 0, n = e->nreads;
    while (i < n && pt_track_hidden(*e->reads[i].addr) == e->reads[i].value_hidden) i++;
    if (i == n) {
      uint32_t found = e->id;
      /* A signal handler's malloc that walked meanwhile may have rewritten this way (its reads then
       * compared equal against its own frames): it unpublished the start first, and published its
       * own, another start, if at all. */
      __atomic_signal_fence(__ATOMIC_SEQ_CST);
      if ((starts[w].ip ^ ip) | (starts[w].sp ^ sp)) break;
      *id = found;
      return true;
    }
  }
miss:
  pt_track_replay_armed = true; /* the walk that follows is recorded for next time */
  return false;
}

#endif
