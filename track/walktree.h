/* walktree.h - every walk a thread has made, as a tree of their reads, behind the few it keeps for
 * replay (replay.h).
 *
 * A replay knows a walk only if it is one of the last few from its start. Programs with many stacks
 * reach one allocating function through far more paths than that: cc1 (10.4 k stacks) walked 1.12 M
 * times for 2.33 M allocations, and 1.10 M of those walks found a stack an earlier walk from the
 * same start (ip, sp) had found. The reads of a walk decide each next read's address, so the walks
 * from one start form a tree: they read the same words until one differs, and go their own ways
 * from there. A path is kept as segments: a root holds one walk's reads from the start, and a walk
 * that left a kept path at some read is kept as a branch holding its reads from there on, found by
 * (the segment it left, the read's position, the value it read there) in a hash table. A lookup
 * compares reads in order as a replay does, and at a difference looks for the branch: a whole
 * stack costs a few loads per frame and one probe per branch taken, no rule lookups and no intern.
 *
 * Reads are kept as offsets from the start's sp (the start's rbp too: it is the word at sp - 16),
 * so a path is 12 bytes a read. The tree lives in a block of its own (perthread.h), used only under
 * the thread's guard: a signal handler's allocation never finds it mid-change. It begins again
 * when the rules or the stack configuration change. It is worth keeping only while it fits the
 * cache: a full tree (8 MiB of segments) keeps no more, and its thread goes back to walking. */
#ifndef PTMEM_TRACK_WALKTREE_H
#define PTMEM_TRACK_WALKTREE_H
#include <stdbool.h>
#include <stdint.h>

#include "replay.h"

typedef struct pt_track_walktree_s pt_track_walktree_t;

pt_track_walktree_t* pt_track_walktree_new(void); /* NULL: no address space */
void pt_track_walktree_free(pt_track_walktree_t* t);
bool pt_track_walktree_full(const pt_track_walktree_t* t); /* it keeps no more walks */
void pt_track_walktree_fork_child(void); /* the block pool's lock may be held by a thread not there */

/* True, with the id, if the walk from (ip, sp) under (tag, generation) is in the tree (generation:
 * of the rules, a count that never comes back); its reads then go to `path` (if not NULL), ready
 * for a replay. Else the tree notes where the walk left it,
 * for the insert that follows. */
bool pt_track_walktree_find(pt_track_walktree_t* t, uintptr_t ip, uintptr_t sp, uint64_t tag, uint64_t generation,
                            uint32_t* id, pt_track_replay_t* path);
/* Keeps `walk` (its ip, sp and reads; `id` what it gave) if it is the walk the last failed find
 * was about. */
void pt_track_walktree_insert(pt_track_walktree_t* t, const pt_track_replay_t* walk, uint32_t id);

#endif
