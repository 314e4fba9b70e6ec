/* unwind.c - the default stack walk: DWARF call-frame information, as libunwind's fast path
 * (x86-64 Gtrace.c) walks it, without libunwind's per-call set-up. Each return address maps to a
 * rule (cfi.c: the CFA is rsp or rbp plus an offset; the return address and perhaps the caller's
 * rbp are saved at fixed offsets from it), kept in a process-wide cache, so a walk costs a few loads
 * per frame. Every frame is unwound from the registers the previous one left, nothing is reused
 * from earlier walks: the result is what a full DWARF unwinder gives, by construction.
 *
 * Rules change only when code does: dlclose (the preload calls pt_track_unwind_flush after it)
 * may let another object load at the same address. The cache is direct-mapped; entries are a
 * (key, rule) pair written under a per-entry sequence check, so a reader never pairs a key with
 * another address's rule. The kernel's signal frame ends the walk (cfi.h). A frame this walk cannot
 * model (a CFA given by a DWARF expression, code without an FDE) makes the whole walk give up, and
 * the caller uses libunwind. */
#include <string.h>

#include "../pools/atomic.h"
#include "cfi.h"
#include "leaks.h"
#include "perthread.h"
#include "replay.h"
#include "track.h"
#include "walktree.h"

/* 16 K entries (256 KiB). 64 K cut cc1's rules computed from CFI from 74.6 k to 21.7 k, and its
 * lookups missed the cache more: rule_of and pt_cfi_rule together kept 3.6% of its samples. */
#define CACHE_BITS 14
#define CACHE_SLOTS (1u << CACHE_BITS)
#define FRAME_MAX PT_TRACK_FRAME_MAX /* a larger step between two CFAs: give up, do not follow */

enum { KIND_STANDARD = 1, KIND_LAST = 2, KIND_UNSUPPORTED = 3 };

typedef struct slot_s {
  _Atomic uint64_t key; /* return address | generation << 48; 0 while being written */
  _Atomic uint64_t rule; /* kind | cfa_rbp << 2 | cfa_offset << 4 (28 bits) | rbp << 32 | ra << 48 */
} slot_t;

static slot_t cache[CACHE_SLOTS];
_Atomic uint64_t pt_track_unwind_generation = 1;
static _Atomic int cache_excluded;

static uint64_t pack(const pt_cfi_rule_t* r) {
  return (uint64_t)(r->last ? KIND_LAST : KIND_STANDARD) | (uint64_t)r->cfa_rbp << 2 |
         ((uint64_t)(uint32_t)r->cfa_offset & 0x0fffffffu) << 4 | (uint64_t)(uint16_t)r->rbp_offset << 32 |
         (uint64_t)(uint16_t)r->ra_offset << 48;
}
static inline unsigned kind_of(uint64_t rule) { return rule & 3; }
static inline bool cfa_is_rbp(uint64_t rule) { return (rule >> 2) & 1; }
static inline intptr_t cfa_offset_of(uint64_t rule) { return (int32_t)(uint32_t)rule >> 4; } /* sign bit is bit 31 */
static inline intptr_t rbp_offset_of(uint64_t rule) { return (int16_t)(uint16_t)(rule >> 32); }
static inline intptr_t ra_offset_of(uint64_t rule) { return (int16_t)(uint16_t)(rule >> 48); }

/* Flushes, never wrapping: the walk trees live long, and a thread that made no walk while the 16-bit
 * generation went round must not trust its tree. Counted before the generation moves: a reader that
 * sees the new generation sees the new count. */
static _Atomic uint64_t flushes;

void pt_track_unwind_flush(void) {
  pt_fetch_add_acq_rel(&flushes, 1);
  uint64_t g = pt_load_relaxed(&pt_track_unwind_generation);
  pt_store_release(&pt_track_unwind_generation, (g + 1) & 0xffff ? (g + 1) & 0xffff : 1);
}

static uint64_t rule_of(uintptr_t ip) {
  slot_t* s = &cache[(ip ^ (ip >> CACHE_BITS)) & (CACHE_SLOTS - 1)];
  uint64_t want = ip | pt_load_acquire(&pt_track_unwind_generation) << 48;
  if (pt_load_acquire(&s->key) == want) {
    uint64_t rule = pt_load_acquire(&s->rule); /* orders the key's second reading after it */
    if (pt_load_relaxed(&s->key) == want) return rule;
  }
  if (!pt_load_relaxed(&cache_excluded)) { /* code addresses only, but no root for the leak scan */
    pt_store_relaxed(&cache_excluded, 1);
    pt_track_leaks_exclude(cache, sizeof cache);
  }
  pt_cfi_rule_t r;
  uint64_t rule = pt_cfi_rule(ip - 1, &r) ? pack(&r) : KIND_UNSUPPORTED; /* ip - 1: the call itself */
  pt_store_relaxed(&s->key, 0);
  pt_store_release(&s->rule, rule); /* a reader that sees this rule then sees the key cleared */
  pt_store_release(&s->key, want);
  return rule;
}

/* This thread's previous walk, frame by frame: the state each frame was entered with and where its
 * rule reads. A frame entered with the ip and sp (and, if its CFA is rbp-based, the rbp) it had in
 * the previous walk has the same rule, so the same CFA and slots: taken from the record, they
 * save the rule lookup, and the next read's address is known before the current one returns.
 * Each new walk is written to the other record of a pair, the previous one read alongside it by
 * sp: the new stack may be shallower or deeper than the old at any frame and meet it again further
 * out. The first version kept one record, updated in place, that met the old walk again only where
 * the new stack was shallower: cppcheck's stacks mostly differ by being deeper, and 55% of its
 * frames were computed; now 12%.
 * Frames the record does not have take their rule from a small cache of the thread's own, in
 * front of the shared one (256 KiB, which misses L1 and often L2 for a program with much code);
 * direct-mapped and keyed like the shared cache (ip and generation), so it needs no flush. 512
 * entries (8 KiB a thread): cppcheck ran 1.01x as long as with 1024, 1.02x with 256. */
#define RECORD_MAX 64
#define LOCAL_BITS 9
#define LOCAL_SLOTS (1u << LOCAL_BITS)
enum { OUTERMOST = 1, CFA_RBP = 2 };
typedef struct frame_s {
  uintptr_t ip, sp, rbp_hidden, cfa; /* rbp_hidden: pt_track_hidden(rbp) */
  const uintptr_t* ra_slot;  /* NULL in the outermost frame */
  const uintptr_t* rbp_slot; /* NULL: the caller's rbp is this frame's */
  uintptr_t flags;
} frame_t;
typedef struct record_s {
  frame_t frames[RECORD_MAX];
  unsigned n;
  uint64_t generation; /* of the rules it was walked with; 0: none */
} record_t;
typedef struct local_rule_s {
  uint64_t key, rule;
} local_rule_t;
typedef struct local_s {
  record_t records[2];
  unsigned last; /* records[last] is the previous walk */
  local_rule_t rules[LOCAL_SLOTS];
} local_t;

/* This thread's walks: its remembered ones, for replay (replay.h), and its records and rules, in a
 * block of its own (perthread.h); and the one to remember next. */
typedef struct walks_s {
  pt_track_replays_t replays; /* first: pt_track_tls_replays points at the block */
  local_t local;
  pt_track_walktree_t* tree; /* of a wide thread, once its replays missed TREE_AFTER_MISSES times */
  unsigned misses;           /* of its replays while it has no tree */
  bool tree_given_up;
} walks_t;
/* A thread whose replays miss less never needs the tree, nor pays for its block. */
#define TREE_AFTER_MISSES 256
static pt_perthread_pool_t walks_pool = {.size = (sizeof(walks_t) + 4095) & ~(size_t)4095};
__thread pt_track_replays_t* pt_track_tls_replays __attribute__((tls_model("initial-exec")));
__thread bool pt_track_replay_armed __attribute__((tls_model("initial-exec")));
static __thread pt_track_replay_t* replay_last __attribute__((tls_model("initial-exec")));

static _Atomic unsigned wide_threads; /* threads whose replays use every group (replay.h) */

static walks_t* walks_of_thread(void) {
  walks_t* w = (walks_t*)pt_track_tls_replays;
  if (pt_likely(w != NULL)) return w;
  w = pt_perthread_take(&walks_pool);
  if (!w) return NULL;
  bool wide = pt_fetch_add_relaxed(&wide_threads, 1) < PT_TRACK_REPLAY_WIDE_THREADS;
  if (!wide) pt_fetch_sub_relaxed(&wide_threads, 1);
  w->replays.groups_mask = (wide ? PT_TRACK_REPLAY_GROUPS : PT_TRACK_REPLAY_FEW_GROUPS) - 1;
  pt_track_tls_replays = &w->replays;
  return w;
}

static bool is_wide(const walks_t* w) { return w && w->replays.groups_mask == PT_TRACK_REPLAY_GROUPS - 1; }

void pt_track_unwind_thread_exit(void) {
  walks_t* w = (walks_t*)pt_track_tls_replays;
  pt_track_tls_replays = NULL;
  replay_last = NULL;
  if (is_wide(w)) pt_fetch_sub_relaxed(&wide_threads, 1);
  if (w) pt_track_walktree_free(w->tree);
  pt_perthread_give(&walks_pool, w);
}

void pt_track_unwind_fork_child(void) {
  pt_perthread_fork_child(&walks_pool);
  pt_track_walktree_fork_child();
  pt_store_relaxed(&wide_threads, is_wide((const walks_t*)pt_track_tls_replays) ? 1 : 0); /* the only thread */
}

static inline uint64_t local_rule_of(local_t* l, uintptr_t ip, uint64_t generation) {
  if (!l) return rule_of(ip);
  local_rule_t* e = &l->rules[(ip ^ (ip >> LOCAL_BITS)) & (LOCAL_SLOTS - 1)];
  uint64_t key = ip | generation << 48;
  if (pt_likely(e->key == key)) return e->rule;
  uint64_t rule = rule_of(ip);
  e->key = key;
  e->rule = rule;
  return rule;
}

typedef pt_track_replay_t replay_t;
#define REPLAY_READS PT_TRACK_REPLAY_READS
static inline void note_read(replay_t* rec, const uintptr_t* slot, uintptr_t value) {
  if (rec->nreads < REPLAY_READS) {
    rec->reads[rec->nreads].addr = slot;
    rec->reads[rec->nreads].value_hidden = pt_track_hidden(value);
  }
  rec->nreads++;
}

/* Where the walk's rbp was read, for the replay record: noted only once a CFA uses it. The starting
 * rbp was read too, from the slot the embedder's frame saved it in, just below the start's sp. */
typedef struct rbp_origin_s {
  bool pending;
  const uintptr_t* slot;
} rbp_origin_t;

static inline void rbp_read(rbp_origin_t* o, const uintptr_t* slot) {
  o->pending = true;
  o->slot = slot;
}

static inline void rbp_used(rbp_origin_t* o, replay_t* rec, uintptr_t rbp) {
  if (!rec) return;
  if (o->pending) note_read(rec, o->slot, rbp);
  o->pending = false;
}

/* The walk from a frame entered with (ip, sp, rbp), rbp being the word at sp - 16, with this thread's
 * records and rules `l` (NULL: the shared rules only); its reads go to `rec` if not NULL. */
static inline unsigned unwind_from(uintptr_t ip, uintptr_t sp, uintptr_t rbp, uintptr_t* out, unsigned max,
                                   bool* same_as_last, local_t* l, replay_t* rec) {
  uint64_t generation = pt_load_acquire(&pt_track_unwind_generation);
  const record_t* old = l ? &l->records[l->last] : NULL;
  record_t* r = l ? &l->records[!l->last] : NULL;
  unsigned known = old && old->generation == generation ? old->n : 0;
  bool same = known > 0;
  rbp_origin_t origin = {.pending = true, .slot = (const uintptr_t*)(sp - 16)};
  unsigned n = 0, j = 0; /* j: the old walk's frame at or above this sp */
  while (n < max) {
    while (j < known && old->frames[j].sp < sp) j++;
    const frame_t* f = j < known ? &old->frames[j] : NULL;
    frame_t fresh;
    if (f && f->sp == sp && f->ip == ip && (!(f->flags & CFA_RBP) || f->rbp_hidden == pt_track_hidden(rbp))) {
      same = same && j == n;
      j++;
    } else {
      same = false;
      uint64_t rule = local_rule_of(l, ip, generation);
      fresh = (frame_t){ip, sp, pt_track_hidden(rbp), 0, NULL, NULL, OUTERMOST};
      if (kind_of(rule) != KIND_LAST) {
        uintptr_t cfa = (cfa_is_rbp(rule) ? rbp : sp) + (uintptr_t)cfa_offset_of(rule);
        if (kind_of(rule) != KIND_STANDARD || cfa <= sp || cfa - sp > FRAME_MAX || (cfa & 7)) {
          /* libunwind takes this stack. The previous walk is no longer the previous stack: kept,
           * a later walk matching it would be "the same as last" and take libunwind's stack's
           * id (a signal handler's malloc between two of one site's). */
          if (l) l->records[l->last].generation = 0;
          return 0;
        }
        fresh.cfa = cfa;
        fresh.flags = cfa_is_rbp(rule) ? CFA_RBP : 0;
        fresh.ra_slot = (const uintptr_t*)(cfa + (uintptr_t)ra_offset_of(rule));
        if (rbp_offset_of(rule)) fresh.rbp_slot = (const uintptr_t*)(cfa + (uintptr_t)rbp_offset_of(rule));
      }
      f = &fresh;
    }
    if (r && n < RECORD_MAX) r->frames[n] = *f;
    if (f->flags & CFA_RBP) rbp_used(&origin, rec, rbp);
    out[n++] = ip;
    if (f->flags & OUTERMOST) break;
    if (f->rbp_slot) {
      rbp = *f->rbp_slot;
      rbp_read(&origin, f->rbp_slot);
    }
    ip = *f->ra_slot;
    if (rec) note_read(rec, f->ra_slot, ip);
    sp = f->cfa;
    if (!ip) break;
  }
  if (same_as_last) *same_as_last = same && n == known;
  if (r) {
    r->n = n < RECORD_MAX ? n : RECORD_MAX;
    r->generation = generation;
    l->last = !l->last;
  }
  return n;
}

__attribute__((noinline)) unsigned pt_track_unwind(uintptr_t* out, unsigned max, bool* same_as_last) {
  const uintptr_t* fp = __builtin_frame_address(0); /* this file keeps frame pointers */
  walks_t* w = walks_of_thread();
  if (!w) return 0; /* no memory for the record: libunwind takes the stack */
  /* the caller's registers once we return */
  return unwind_from((uintptr_t)__builtin_return_address(0), (uintptr_t)fp + 16, fp[0], out, max, same_as_last,
                     &w->local, NULL);
}

/* A way of the group for the walk from (ip, sp), unpublished until remembered: an unused one, else
 * each in turn. */
static replay_t* claim_way(walks_t* walks, uintptr_t ip, uintptr_t sp) {
  unsigned g = pt_track_replay_group(&walks->replays, ip, sp), way = 0;
  pt_track_replay_start_t* starts = walks->replays.start[g];
  while (way < PT_TRACK_REPLAY_WAYS && starts[way].ip) way++;
  if (way == PT_TRACK_REPLAY_WAYS) way = walks->replays.victim[g]++ % PT_TRACK_REPLAY_WAYS;
  starts[way].ip = 0; /* a way being rewritten replays nothing until remembered */
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* a signal handler's malloc replays without the guard */
  replay_t* rec = &walks->replays.group[g][way]; /* the header only: the reads are 768 bytes */
  rec->ip = ip;
  rec->sp = sp;
  rec->generation = pt_load_acquire(&pt_track_unwind_generation);
  rec->tag = 0;
  rec->nreads = 0;
  return rec;
}

/* The embedder's frames (malloc's, the tracker's) are a third of a short stack, and each cost the
 * walk a record check like any other frame. They all keep frame pointers, so the saved-rbp chain
 * steps over them at two loads each to the first frame whose return address is foreign. A chain
 * that looks wrong (not growing upwards, too far, misaligned) gives 0: libunwind takes the stack. */
unsigned pt_track_unwind_foreign(uintptr_t* out, unsigned max, const void* frame, uintptr_t own_lo, uintptr_t own_hi,
                                 bool* same_as_last) {
  const uintptr_t* fp = pt_track_first_foreign_frame(frame, own_lo, own_hi);
  replay_last = NULL;
  walks_t* walks = walks_of_thread();
  if (!fp || !walks) {
    if (walks) walks->local.records[walks->local.last].generation = 0; /* as when a walk gives up */
    return 0;
  }
  uintptr_t ip = fp[1], sp = (uintptr_t)fp + 16, rbp = fp[0];
  if (!pt_track_replay_armed) return unwind_from(ip, sp, rbp, out, max, same_as_last, &walks->local, NULL);
  pt_track_replay_armed = false;
  replay_t* rec = claim_way(walks, ip, sp);
  unsigned n = unwind_from(ip, sp, rbp, out, max, same_as_last, &walks->local, rec);
  if (n && rec->nreads <= REPLAY_READS) replay_last = rec;
  return n;
}

bool pt_track_unwind_tree_find(const void* frame, uintptr_t own_lo, uintptr_t own_hi, uint64_t tag, uint32_t* id) {
  walks_t* walks = (walks_t*)pt_track_tls_replays;
  if (!walks || !tag) return false;
  if (!walks->tree) {
    if (!is_wide(walks) || walks->tree_given_up || ++walks->misses < TREE_AFTER_MISSES) return false;
    walks->misses = 0; /* if there is no address space now, another TREE_AFTER_MISSES before trying again */
    if (!(walks->tree = pt_track_walktree_new())) return false;
  }
  const uintptr_t* fp = pt_track_first_foreign_frame(frame, own_lo, own_hi);
  if (!fp) return false;
  uintptr_t ip = fp[1], sp = (uintptr_t)fp + 16;
  replay_t* rec = NULL;
  if (pt_track_replay_armed) { /* found, it replays from a way as if just walked */
    pt_track_replay_armed = false;
    rec = claim_way(walks, ip, sp); /* stamped with the generation first: see flushes */
  }
  replay_last = NULL;
  if (!pt_track_walktree_find(walks->tree, ip, sp, tag, pt_load_acquire(&flushes), id, rec)) {
    pt_track_replay_armed = rec != NULL; /* the walk that follows takes the way */
    return false;
  }
  if (rec) replay_last = rec;
  return true;
}

unsigned pt_track_unwind_foreign_stateless(uintptr_t* out, unsigned max, const void* frame, uintptr_t own_lo,
                                           uintptr_t own_hi) {
  const uintptr_t* fp = pt_track_first_foreign_frame(frame, own_lo, own_hi);
  return fp ? unwind_from(fp[1], (uintptr_t)fp + 16, fp[0], out, max, NULL, NULL, NULL) : 0;
}

void pt_track_unwind_remember(uint64_t tag, uint32_t id) {
  replay_t* walk = replay_last; /* read once: a walk in a signal handler would clear it */
  if (!walk) return;
  replay_last = NULL;
  pt_track_replays_t* replays = pt_track_tls_replays; /* the walk's start: same group and way */
  pt_track_replay_start_t* start = &replays->start[0][0] + (walk - &replays->group[0][0]);
  walk->id = id;
  walk->tag = tag;
  walks_t* walks = (walks_t*)replays;
  if (tag && walks->tree) {
    pt_track_walktree_insert(walks->tree, walk, id);
    if (pt_track_walktree_full(walks->tree)) { /* a larger tree would miss the cache: walks are cheaper */
      pt_track_walktree_free(walks->tree);
      walks->tree = NULL;
      walks->tree_given_up = true;
    }
  }
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the walk is whole before a handler can find it */
  if (tag) *start = (pt_track_replay_start_t){walk->ip, walk->sp};
}
