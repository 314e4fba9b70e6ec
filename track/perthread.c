/* perthread.c - see perthread.h. */
#include "perthread.h"

#include <sys/mman.h>

#include "../pools/atomic.h"
#include "../pools/os.h"
#include "leaks.h"

void* pt_perthread_take(pt_perthread_pool_t* pool) {
  pt_spin_lock(&pool->lock);
  void* block = pool->free;
  if (block) pool->free = *(void**)block;
  pt_spin_unlock(&pool->lock);
  if (block) {
    *(void**)block = NULL; /* the rest came back zeroed */
    return block;
  }
  block = pt__os_reserve(pool->size, 4096);
  if (block) pt_track_leaks_exclude(block, pool->size);
  return block;
}

void pt_perthread_give(pt_perthread_pool_t* pool, void* block) {
  if (!block) return;
  madvise(block, pool->size, MADV_DONTNEED); /* zeroes it, and returns what the thread touched */
  pt_spin_lock(&pool->lock);
  *(void**)block = pool->free;
  pool->free = block;
  pt_spin_unlock(&pool->lock);
}

void pt_perthread_fork_child(pt_perthread_pool_t* pool) { pt_store_relaxed(&pool->lock, 0); }
