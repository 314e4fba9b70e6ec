/* walktree.c - see walktree.h. One block per thread: the header, a table of up to 2^19 slots, and
 * the segments, bump-allocated. A slot names a segment by its place in the block (0: free). The
 * table starts at 2^12 slots and doubles when half full, so a tree that is small stays in cache,
 * and starting again clears only 16 KiB (a dlclose per plugin in a loop starts every tree again). */
#include "walktree.h"

#include <string.h>

#include "../pools/os.h"
#include "perthread.h"

#define SLOT_BITS 19 /* at most: SEGMENT_BYTES hold at most 2^18 segments */
#define SLOTS (1u << SLOT_BITS)
#define FIRST_SLOT_BITS 12
#define HEADER_BYTES 4096
/* A larger tree costs more per hit than the walk it saves, once its segments miss the cache:
 * cppcheck's (101 k stacks) grew to 34 MB and ran 1.08-1.16x as long as without a tree. cc1's
 * (10.4 k stacks) takes 2.6 MB. */
#define SEGMENT_BYTES ((size_t)8 << 20)
#define POPULATE_BYTES ((size_t)256 << 10)
#define ROOT_HINT_BITS 9
/* A slot: the segment's place (1 + its offset in 8-byte units: 2^20 at most) and 11 more bits of
 * the key's hash, so a probe passes over another key's slot without reading its segment, a cache
 * miss each time (cc1: a quarter of the lookup's time was such reads and the slots'). */
#define INDEX_BITS 21
#define INDEX_MASK ((1u << INDEX_BITS) - 1)
_Static_assert(SEGMENT_BYTES / 8 < (1u << INDEX_BITS), "a segment's place fits its bits");

typedef struct seg_s {
  uint32_t parent; /* the segment this branch left; 0: a root */
  uint16_t first;  /* the path position of this segment's first read */
  uint16_t n;      /* reads */
  uint32_t id;     /* what the embedder made of the whole path */
  uint32_t unused;
  uintptr_t key;   /* a root's start ip; a branch's pt_track_hidden of the word it read at first - 1 */
  uintptr_t sp;    /* a root's start sp */
  unsigned char reads[]; /* n of READ_BYTES: an int32_t offset from the start's sp, then the hidden
                          * word, unaligned: one stream from the header on, not two arrays */
} seg_t;
#define READ_BYTES 12

struct pt_track_walktree_s {
  uint64_t tag, generation; /* every path was walked under these */
  uint32_t root_hint[1u << ROOT_HINT_BITS]; /* by root hash: the root last found there, tried first */
  uint32_t segments;
  unsigned slot_bits; /* in use: the table grows with the tree, so a small one stays in cache */
  bool full;        /* of SEGMENT_BYTES: it keeps no more */
  size_t used;      /* bytes of segments */
  size_t populated; /* bytes of segments committed ahead (a page fault costs some 11 us here) */
  /* where the last find failed: the walk that follows is kept as a root or as a branch of this */
  bool miss_valid;
  uint32_t miss_parent; /* 0: no root */
  unsigned miss_pos;
  uintptr_t miss_ip, miss_sp, miss_value;
};
_Static_assert(sizeof(struct pt_track_walktree_s) <= HEADER_BYTES, "header fits its page");

static pt_perthread_pool_t pool = {.size = HEADER_BYTES + SLOTS * sizeof(uint32_t) + SEGMENT_BYTES};

static inline uint32_t* slots_of(pt_track_walktree_t* t) { return (uint32_t*)((char*)t + HEADER_BYTES); }
static inline char* segments_of(pt_track_walktree_t* t) { return (char*)(slots_of(t) + SLOTS); }
static inline seg_t* seg_at(pt_track_walktree_t* t, uint32_t index) {
  return (seg_t*)(segments_of(t) + (size_t)(index - 1) * 8);
}
static inline intptr_t offset_at(const seg_t* s, unsigned i) {
  int32_t offset;
  memcpy(&offset, s->reads + i * READ_BYTES, sizeof offset);
  return offset;
}
static inline uintptr_t value_at(const seg_t* s, unsigned i) {
  uintptr_t value;
  memcpy(&value, s->reads + i * READ_BYTES + sizeof(int32_t), sizeof value);
  return value;
}

static inline uint64_t hash(uint64_t x) { return x * 0x9e3779b97f4a7c15u; }
static inline uint64_t root_hash(uintptr_t ip, uintptr_t sp) { return hash(ip ^ (sp << 20 | sp >> 44)); }
static inline uint64_t branch_hash(uint32_t parent, unsigned pos, uintptr_t value) {
  return hash(value ^ ((uint64_t)parent << 8 | pos) * 0xff51afd7ed558ccdu);
}
static inline uint32_t slot_of(const pt_track_walktree_t* t, uint64_t h) { return (uint32_t)(h >> (64 - t->slot_bits)); }
static inline uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 8) & ~(~0u << (32 - INDEX_BITS)); } /* below the slot bits */

/* The segment in the first slot from h on that `match` accepts; 0 at a free one. */
#define PROBE(t, h, s, match)                                                                \
  do {                                                                                       \
    const uint32_t* slots_ = slots_of(t);                                                    \
    uint32_t mask_ = (1u << (t)->slot_bits) - 1, tag_ = tag_of(h);                           \
    for (uint32_t i_ = slot_of((t), (h));; i_ = (i_ + 1) & mask_) {                           \
      uint32_t v_ = slots_[i_];                                                              \
      if (!v_) { (s) = 0; break; }                                                           \
      if (v_ >> INDEX_BITS != tag_) continue;                                                \
      const seg_t* c_ = seg_at((t), v_ & INDEX_MASK);                                        \
      if (match(c_)) { (s) = v_ & INDEX_MASK; break; }                                       \
    }                                                                                        \
  } while (0)

static void restart(pt_track_walktree_t* t) {
  memset(t->root_hint, 0, sizeof t->root_hint);
  t->used = 0;
  t->segments = 0;
  t->slot_bits = FIRST_SLOT_BITS;
  t->miss_valid = false;
  memset(slots_of(t), 0, sizeof(uint32_t) << t->slot_bits);
}

pt_track_walktree_t* pt_track_walktree_new(void) {
  pt_track_walktree_t* t = pt_perthread_take(&pool);
  if (t) t->slot_bits = FIRST_SLOT_BITS;
  return t;
}

void pt_track_walktree_free(pt_track_walktree_t* t) { pt_perthread_give(&pool, t); }

/* The whole path ending in `leaf`, as a replay's reads: each segment gives its own reads up to the
 * place where its branch left it, and the branch the word it read there. */
static void path_of(pt_track_walktree_t* t, const seg_t* leaf, uintptr_t sp, pt_track_replay_t* out) {
  out->nreads = leaf->first + leaf->n;
  const seg_t* s = leaf;
  unsigned count = s->n;
  for (;;) {
    for (unsigned i = 0; i < count; i++) {
      out->reads[s->first + i].addr = (const uintptr_t*)(sp + (uintptr_t)offset_at(s, i));
      out->reads[s->first + i].value_hidden = value_at(s, i);
    }
    if (!s->parent) return;
    const seg_t* p = seg_at(t, s->parent);
    unsigned pos = s->first - 1u;
    out->reads[pos].addr = (const uintptr_t*)(sp + (uintptr_t)offset_at(p, pos - p->first));
    out->reads[pos].value_hidden = s->key;
    count = pos - p->first;
    s = p;
  }
}

bool pt_track_walktree_find(pt_track_walktree_t* t, uintptr_t ip, uintptr_t sp, uint64_t tag, uint64_t generation,
                            uint32_t* id, pt_track_replay_t* path) {
  if (t->tag != tag || t->generation != generation) {
    restart(t);
    t->tag = tag;
    t->generation = generation;
  }
  t->miss_valid = true;
  t->miss_ip = ip;
  t->miss_sp = sp;
  t->miss_parent = 0;
  uint64_t h = root_hash(ip, sp);
  uint32_t index, *root_hint = &t->root_hint[h >> (64 - ROOT_HINT_BITS)];
#define IS_ROOT(c) (!(c)->parent && (c)->key == ip && (c)->sp == sp)
  if (*root_hint && IS_ROOT(seg_at(t, *root_hint))) {
    index = *root_hint;
  } else {
    PROBE(t, h, index, IS_ROOT);
    if (!index) return false;
    *root_hint = index;
  }
  for (;;) {
    seg_t* s = seg_at(t, index);
    unsigned i = 0, n = s->n;
    uintptr_t word = 0;
    for (; i < n; i++) {
      word = pt_track_hidden(*(const uintptr_t*)(sp + (uintptr_t)offset_at(s, i)));
      if (word != value_at(s, i)) break;
    }
    if (i == n) {
      t->miss_valid = false;
      *id = s->id;
      if (path) path_of(t, s, sp, path);
      return true;
    }
    unsigned pos = s->first + i;
    uint32_t branch;
#define IS_BRANCH(c) ((c)->parent == index && (c)->first == pos + 1 && (c)->key == word)
    PROBE(t, branch_hash(index, pos, word), branch, IS_BRANCH);
    if (!branch) {
      t->miss_parent = index;
      t->miss_pos = pos;
      t->miss_value = word;
      return false;
    }
    index = branch;
  }
}

static size_t size_of(unsigned reads) {
  return (sizeof(seg_t) + reads * READ_BYTES + 7) & ~(size_t)7;
}

static void publish(pt_track_walktree_t* t, const seg_t* s, uint32_t index) {
  uint32_t* slots = slots_of(t);
  uint32_t mask = (1u << t->slot_bits) - 1;
  uint64_t h = s->parent ? branch_hash(s->parent, s->first - 1u, s->key) : root_hash(s->key, s->sp);
  uint32_t i = slot_of(t, h);
  while (slots[i]) i = (i + 1) & mask;
  slots[i] = tag_of(h) << INDEX_BITS | index;
}

/* A table twice the size, refilled from the segments in the order they were made. */
static void grow(pt_track_walktree_t* t) {
  t->slot_bits++;
  pt__os_populate(slots_of(t), sizeof(uint32_t) << t->slot_bits);
  memset(slots_of(t), 0, sizeof(uint32_t) << t->slot_bits);
  for (size_t at = 0; at < t->used;) {
    const seg_t* s = (const seg_t*)(segments_of(t) + at);
    publish(t, s, (uint32_t)(at / 8) + 1);
    at += size_of(s->n);
  }
}

void pt_track_walktree_insert(pt_track_walktree_t* t, const pt_track_replay_t* walk, uint32_t id) {
  if (!t->miss_valid || walk->ip != t->miss_ip || walk->sp != t->miss_sp) return;
  t->miss_valid = false;
  unsigned n = walk->nreads, first = 0;
  if (n > PT_TRACK_REPLAY_READS) return;
  uintptr_t key = walk->ip;
  if (t->miss_parent) { /* the walk must have read what the find did where it left the tree */
    const seg_t* p = seg_at(t, t->miss_parent);
    unsigned pos = t->miss_pos;
    if (pos >= n || walk->reads[pos].value_hidden != t->miss_value ||
        (uintptr_t)walk->reads[pos].addr != walk->sp + (uintptr_t)offset_at(p, pos - p->first))
      return;
    first = pos + 1;
    key = t->miss_value;
  }
  unsigned m = n - first;
  size_t size = size_of(m);
  if (t->used + size > SEGMENT_BYTES) {
    t->full = true;
    return;
  }
  if (t->used + size > t->populated) {
    pt__os_populate(segments_of(t) + t->populated, POPULATE_BYTES);
    t->populated += POPULATE_BYTES;
  }
  seg_t* s = (seg_t*)(segments_of(t) + t->used);
  for (unsigned i = 0; i < m; i++) {
    intptr_t offset = (intptr_t)walk->reads[first + i].addr - (intptr_t)walk->sp;
    if (offset != (int32_t)offset) return; /* not one stack: not kept */
    int32_t offset32 = (int32_t)offset;
    memcpy(s->reads + i * READ_BYTES, &offset32, sizeof offset32);
    memcpy(s->reads + i * READ_BYTES + sizeof offset32, &walk->reads[first + i].value_hidden, sizeof(uintptr_t));
  }
  s->parent = t->miss_parent;
  s->first = (uint16_t)first;
  s->n = (uint16_t)m;
  s->id = id;
  s->key = key;
  s->sp = walk->sp;
  uint32_t index = (uint32_t)(t->used / 8) + 1;
  t->used += size;
  t->segments++;
  if (t->segments > 1u << (t->slot_bits - 1)) grow(t);
  else publish(t, s, index);
}

bool pt_track_walktree_full(const pt_track_walktree_t* t) { return t->full; }

void pt_track_walktree_fork_child(void) { pt_perthread_fork_child(&pool); }
