/* stack.h - pt_track_stack_id_from's fast path, inline: a replay of this thread's walk from the
 * same place (replay.h) answers most allocations without a call; stack.c walks the rest. */
#ifndef PTMEM_TRACK_STACK_H
#define PTMEM_TRACK_STACK_H
#include "replay.h"
#include "track.h"

extern pt_track_config_t pt_track_stack_config;
extern uint64_t pt_track_stack_config_generation; /* an id is valid under the configuration it was taken in */
uint32_t pt_track_stack_id_walked(const void* frame); /* the replay missed */
/* The id without any per-thread state (no replay, no walk record, no cache): for a thread that is
 * ending, which could not give such state back. */
uint32_t pt_track_stack_id_stateless(const void* frame);

/* True, with the id, if this thread's remembered walk from here replays (else the next walk is
 * recorded): pt_track_stack_id_from without the walk, for an embedder that guards the walk. */
static inline __attribute__((always_inline)) bool pt_track_stack_replay(const void* frame, uint32_t* id) {
  return pt_likely(!pt_track_stack_config.frame_pointers) &&
         pt_track_unwind_replay(frame, pt_track_stack_config.skip_lo, pt_track_stack_config.skip_hi,
                                pt_track_stack_config_generation, id);
}

static inline uint32_t pt_track_stack_id_from(const void* frame) {
  uint32_t id;
  return pt_track_stack_replay(frame, &id) ? id : pt_track_stack_id_walked(frame);
}

#endif
