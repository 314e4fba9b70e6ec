/* scope.c - public region arenas (pt_arena_*): bump allocation in chunks with mark/reset scopes.
 * Chunks up to 4 MiB are arena spans, bigger ones huge mappings; both are tagged PT_KIND_ARENA so
 * free() of arena memory is refused instead of corrupting anything. The arena struct lives in the
 * header of its first chunk, which is kept until destroy, so create costs one span claim.
 * A mark is the arena's running byte position (sum of the positions of chunks before the current
 * one plus the offset in it), so marks order like a stack and reset can validate them. */
#include "internal.h"
#include "ptmem/pools.h"

#include <errno.h>
#include <string.h>

typedef struct arena_chunk_s {
  struct arena_chunk_s* prev;
  pt_desc_t* desc;
  size_t size;          /* bytes of the chunk */
  size_t used;          /* bytes from chunk start, header included */
  size_t base_position; /* arena position at this chunk's first byte after the header */
} arena_chunk_t;

struct pt_arena_s {
  arena_chunk_t* cur;
  size_t chunk_size;
};

#define CHUNK_HDR ((sizeof(arena_chunk_t) + 15) & ~(size_t)15)
#define FIRST_HDR (CHUNK_HDR + ((sizeof(struct pt_arena_s) + 15) & ~(size_t)15))

static arena_chunk_t* chunk_map(size_t size) {
  size = (size + PT_SLICE_SIZE - 1) & ~(PT_SLICE_SIZE - 1);
  if (size == 0) return NULL;
  pt_desc_t* d;
  if (size <= PT_SPAN_MAX_SIZE) {
    bool is_zero;
    d = pt__span_claim((uint32_t)(size / PT_SLICE_SIZE), 1, &is_zero);
  } else {
    void* p = pt__huge_alloc(size, 0, false);
    d = p ? pt__pagemap_lookup(p) : NULL;
  }
  if (!d) return NULL;
  pt_store_release(&d->xowner, (uintptr_t)PT_KIND_ARENA);
  arena_chunk_t* c = (arena_chunk_t*)d->start;
  c->desc = d;
  c->size = size;
  return c;
}

static void chunk_unmap(arena_chunk_t* c) {
  pt_desc_t* d = c->desc;
  if (c->size <= PT_SPAN_MAX_SIZE) {
    pt__span_free(d);
  } else {
    pt_store_release(&d->xowner, (uintptr_t)PT_KIND_HUGE);
    pt__huge_free(d);
  }
}

pt_arena_t* pt_arena_create(size_t chunk_size) {
  if (chunk_size == 0) chunk_size = 256 * PT_KiB;
  if (chunk_size > PTRDIFF_MAX / 2) {
    errno = EINVAL;
    return NULL;
  }
  arena_chunk_t* c = chunk_map(chunk_size);
  if (!c) {
    errno = ENOMEM;
    return NULL;
  }
  pt_arena_t* a = (pt_arena_t*)((uint8_t*)c + CHUNK_HDR);
  c->prev = NULL;
  c->used = FIRST_HDR;
  c->base_position = 0;
  a->cur = c;
  a->chunk_size = c->size;
  return a;
}

static size_t position_of(const arena_chunk_t* c, size_t used) {
  size_t hdr = c->prev ? CHUNK_HDR : FIRST_HDR;
  return c->base_position + (used - hdr);
}

void* pt_arena_alloc(pt_arena_t* a, size_t size, size_t align) {
  if (align == 0) align = PT_ALIGN_MIN;
  if ((align & (align - 1)) || size > PTRDIFF_MAX || align > PTRDIFF_MAX / 2) {
    errno = EINVAL;
    return NULL;
  }
  if (size == 0) size = 1;
  arena_chunk_t* c = a->cur;
  uintptr_t base = (uintptr_t)c;
  uintptr_t at = (base + c->used + align - 1) & ~(uintptr_t)(align - 1);
  if (at + size <= base + c->size && at + size > at) {
    c->used = (size_t)(at + size - base);
    return (void*)at;
  }
  size_t need = CHUNK_HDR + size + align;
  if (need < size) {
    errno = ENOMEM;
    return NULL;
  }
  arena_chunk_t* n = chunk_map(need > a->chunk_size ? need : a->chunk_size);
  if (!n) {
    errno = ENOMEM;
    return NULL;
  }
  n->prev = c;
  n->base_position = position_of(c, c->used);
  n->used = CHUNK_HDR;
  a->cur = n;
  base = (uintptr_t)n;
  at = (base + n->used + align - 1) & ~(uintptr_t)(align - 1);
  n->used = (size_t)(at + size - base);
  return (void*)at;
}

pt_arena_mark_t pt_arena_mark(const pt_arena_t* a) { return position_of(a->cur, a->cur->used); }
size_t pt_arena_used(const pt_arena_t* a) { return pt_arena_mark(a); }

int pt_arena_reset(pt_arena_t* a, pt_arena_mark_t mark) {
  if (mark > pt_arena_mark(a)) return EINVAL;
  while (a->cur->prev && a->cur->base_position > mark) {
    arena_chunk_t* c = a->cur;
    a->cur = c->prev;
    chunk_unmap(c);
  }
  arena_chunk_t* c = a->cur;
  size_t hdr = c->prev ? CHUNK_HDR : FIRST_HDR;
  c->used = hdr + (mark - c->base_position);
  return 0;
}

void pt_arena_destroy(pt_arena_t* a) {
  if (!a) return;
  arena_chunk_t* c = a->cur;
  while (c) {
    arena_chunk_t* prev = c->prev;
    chunk_unmap(c);
    c = prev;
  }
}
