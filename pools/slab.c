/* slab.c - small blocks (16 B .. 32 KiB, 40 classes) in pages owned by one thread's heap.
 *
 * Algorithm: free-list sharding (Leijen, Zorn, de Moura, "Mimalloc: Free List Sharding in Action",
 * MSR-TR-2019-18). Each page has three lists: `free` (malloc pops), `local_free` (the owner's frees)
 * and `thread_free` (other threads' frees: a CAS push; the owner takes the whole list with one
 * atomic exchange, so there is no ABA). Allocation and local free touch only the owner's data.
 *
 * Full pages leave the class queue for the heap's full list and get PT_PAGE_FULL in xowner. A
 * remote freer pushes, then re-reads xowner; if FULL is set it raises the owner heap's remote_hint,
 * which the owner checks on its slow path. The owner sets FULL and then re-reads thread_free; both
 * sides are seq_cst (a Dekker pair), so a free racing with the page going full is never lost.
 *
 * Invariant: page.used counts blocks handed out minus blocks returned to free/local_free; blocks
 * still on thread_free count as used. So used == 0 proves no block of the page is in anyone's hands. */
#include "internal.h"

#include <string.h>

#include "os.h"

#define EXTEND_BYTES 4096 /* lazy free-list growth: touch little memory per step (mimalloc) */

static inline void* page_pop(pt_desc_t* pg) {
  pt_block_t* b = pg->page.free;
  pg->page.free = b->next;
  pg->page.used++;
  return b;
}

/* thread_free packs the list head and its length: (head << 16) | count. Page addresses fit in 47
 * bits and a page holds at most 4096 blocks, so both fit; knowing the count from the exchange means
 * the owner never walks a list whose blocks sit in another core's cache (rpmalloc's trick). */
#define TF_COUNT_BITS 16
#define TF_COUNT_MASK ((uintptr_t)0xFFFF)

static void page_collect_remote(pt_desc_t* pg) {
  if (!pt_load_relaxed(&pg->thread_free)) return;
  uintptr_t tf = pt_exchange_acq_rel(&pg->thread_free, 0);
  if (!tf) return;
  pt_block_t* list = (pt_block_t*)(tf >> TF_COUNT_BITS);
  uint32_t count = (uint32_t)(tf & TF_COUNT_MASK);
  if (count > pg->page.used) {
    pt__invalid_free(list, "double free detected in a cross-thread free list");
    count = pg->page.used;
  }
  pg->page.used -= count;
  if (!pg->page.free) {
    pg->page.free = list;
  } else if (!pg->page.local_free) {
    pg->page.local_free = list;
  } else { /* both busy: append to local_free, whose blocks this thread freed recently (cache hot) */
    pt_block_t* tail = pg->page.local_free;
    for (uint32_t n = 0; tail->next && n < pg->page.capacity; n++) tail = tail->next;
    tail->next = list;
  }
}

void pt__page_collect(pt_desc_t* pg) {
  page_collect_remote(pg);
  if (!pg->page.free && pg->page.local_free) {
    pg->page.free = pg->page.local_free;
    pg->page.local_free = NULL;
  }
}

/* A fresh page is written front to back as its free list grows, a 4 KiB page at a time, each a
 * page fault: some 11 us on this project's VMs, against 1.1 us a page populated with one call
 * (pt__os_populate). So the extension that enters a POPULATE_BYTES chunk of a fresh page populates
 * the chunk (and the chunks the extension spans), and its blocks' meta words likewise. Whole pages
 * at once would commit up to 64 KiB per class that a small program never uses. */
#define POPULATE_BYTES ((uintptr_t)16384)
static void populate_extension(uintptr_t from, uintptr_t to, uintptr_t limit, bool first) {
  uintptr_t start = first || !(from & (POPULATE_BYTES - 1)) ? from & ~(uintptr_t)4095
                                                            : (from + POPULATE_BYTES - 1) & ~(POPULATE_BYTES - 1);
  uintptr_t end = (to + POPULATE_BYTES - 1) & ~(POPULATE_BYTES - 1);
  if (end > limit) end = limit;
  if (start < end) pt__os_populate((void*)start, end - start);
}

static bool page_extend(pt_desc_t* pg) {
  uint32_t avail = pg->page.reserved - pg->page.capacity;
  if (avail == 0) return false;
  uint32_t n = pg->bsize <= EXTEND_BYTES / 4 ? EXTEND_BYTES / pg->bsize : 4;
  if (n > avail) n = avail;
  uint8_t* first = pg->start + (size_t)pg->page.capacity * pg->bsize;
  /* Up to a page a block the free list's links touch every page anyway; a bigger block may be
   * written in part only, and its pages are left to fault. */
  if (pg->page.fresh && pg->bsize <= 4096) {
    uintptr_t end = (uintptr_t)pg->start + (size_t)pt__class_page_slices(pg->cls) * PT_SLICE_SIZE;
    bool at_start = pg->page.capacity == 0;
    populate_extension((uintptr_t)first, (uintptr_t)first + (size_t)n * pg->bsize, end, at_start);
    if (pg->meta)
      populate_extension((uintptr_t)(pg->meta + pg->page.capacity), (uintptr_t)(pg->meta + pg->page.capacity + n),
                         end, at_start);
  }
  uint8_t* p = first;
  for (uint32_t i = 1; i < n; i++, p += pg->bsize) ((pt_block_t*)p)->next = (pt_block_t*)(p + pg->bsize);
  ((pt_block_t*)p)->next = pg->page.free;
  pg->page.free = (pt_block_t*)first;
  pg->page.capacity += n;
  return true;
}

/* Make `free` non-empty if the page has any block to give. */
static bool page_refill(pt_desc_t* pg) {
  if (pg->page.free) return true;
  pt__page_collect(pg);
  if (pg->page.free) return true;
  return page_extend(pg);
}

void pt__page_release(pt_desc_t* pg) {
  pg->page.free = pg->page.local_free = NULL;
  pg->page.next = pg->page.prev = NULL;
  pg->page.used = pg->page.capacity = 0;
  pg->page.in_full = 0;
  pt__span_free(pg);
}

static pt_desc_t* page_new(pt_heap_t* h, unsigned cls) {
  bool is_zero;
  uint32_t slices = pt__class_page_slices(cls);
  pt_desc_t* pg = pt__span_claim(slices, 1, &is_zero);
  if (!pg) return NULL;
  pg->cls = cls;
  pg->bsize = (uint32_t)pt__class_size(cls);
  pg->page.free = pg->page.local_free = NULL;
  pg->page.next = pg->page.prev = NULL;
  pg->page.used = pg->page.capacity = 0;
  size_t bytes = (size_t)slices * PT_SLICE_SIZE;
  size_t per_block = pg->bsize + (pt__settings.block_meta ? 8 : 0);
  pg->page.reserved = (uint32_t)(bytes / per_block);
  pg->page.in_full = 0;
  pg->page.fresh = is_zero;
  pg->recip = pt__recip(pg->bsize);
  pg->meta = NULL;
  if (pt__settings.block_meta) { /* meta words at the page tail, after the last block */
    pg->meta = (uint64_t*)(pg->start + (size_t)pg->page.reserved * pg->bsize);
    if (!is_zero) memset(pg->meta, 0, pt__meta_bytes(pg->page.reserved));
  }
  pg->page.meta = pg->meta;
  pg->page.recip = pg->recip;
  pt_store_relaxed(&pg->thread_free, 0);
  pt_store_release(&pg->xowner, (uintptr_t)h);
  return pg;
}

static void full_list_remove(pt_heap_t* h, pt_desc_t* pg) {
  if (pg->page.prev) pg->page.prev->page.next = pg->page.next;
  else h->full.first = pg->page.next;
  if (pg->page.next) pg->page.next->page.prev = pg->page.prev;
  else h->full.last = pg->page.prev;
  pg->page.next = pg->page.prev = NULL;
  pg->page.in_full = 0;
}

/* Back into the class queue, at the end: the page ahead keeps serving, and by the time the queue
 * reaches this one it has gathered more than the single block that made it non-full (mimalloc). */
static void page_unfull(pt_heap_t* h, pt_desc_t* pg) {
  full_list_remove(h, pg);
  pt_store_relaxed(&pg->xowner, (uintptr_t)h);
  pt__heap_queue_push_back(h, pg);
}

/* Park a page with nothing left to give. False if a remote free slipped in: the page stays queued. */
static bool page_to_full(pt_heap_t* h, pt_desc_t* pg) {
  pt__heap_queue_remove(h, pg);
  pg->page.in_full = 1;
  pg->page.prev = NULL;
  pg->page.next = h->full.first;
  if (h->full.first) h->full.first->page.prev = pg;
  else h->full.last = pg;
  h->full.first = pg;
  pt_store_seqcst(&pg->xowner, (uintptr_t)h | PT_PAGE_FULL);
  if (pt_load_seqcst(&pg->thread_free) != 0) {
    page_unfull(h, pg);
    return false;
  }
  return true;
}

static void heap_collect_full(pt_heap_t* h) {
  /* A plain load first: an exchange on every slow call would cost more than all the rest. */
  if (!pt_load_relaxed(&h->remote_hint) || !pt_exchange_acq_rel(&h->remote_hint, 0)) return;
  for (pt_desc_t* pg = h->full.first; pg;) {
    pt_desc_t* next = pg->page.next;
    if (pt_load_relaxed(&pg->thread_free)) page_unfull(h, pg);
    pg = next;
  }
}

static _Atomic int adopting[PT_SLAB_CLASSES]; /* threads inside heap_adopt, per class */

/* The list while another thread has it in hand: empty. Taking it is short (a page or two is looked
 * at, the rest pushed back), so a thread that finds it empty while someone else is adopting waits a
 * little for the rest to come back. Without the wait, two threads starting together and
 * allocating the same sizes (a thread pool's workers) each claimed fresh pages while the other
 * held the list: claimed memory grew to 1.7x the live bytes in the thread-churn test. Bounded, so
 * never a deadlock: a signal handler interrupting its own thread's adoption gives up and goes on. */
static pt_desc_t* abandoned_take_waiting(unsigned cls) {
  pt_desc_t* pg = pt__abandoned_take(cls);
  for (int spin = 0; !pg && spin < 2000 && pt_load_acquire(&adopting[cls]) > 1; spin++) {
    pt_cpu_pause();
    pg = pt__abandoned_take(cls);
  }
  return pg;
}

/* Adopters that were other threads do not exist in a fork child. */
void pt__slab_fork_child(void) {
  for (unsigned cls = 0; cls < PT_SLAB_CLASSES; cls++) pt_store_relaxed(&adopting[cls], 0);
}

/* Adopt abandoned pages of this class until one has a free block; drained pages go back to the
 * arena, the rest of the list is pushed back in one CAS. Taking only what we need matters with
 * concurrent threads: a thread that took every page would leave the others none, and they would
 * each start a fresh, nearly empty page. */
static void heap_adopt(pt_heap_t* h, unsigned cls) {
  pt_fetch_add_acq_rel(&adopting[cls], 1);
  pt_desc_t* pg = abandoned_take_waiting(cls);
  while (pg) {
    pt_desc_t* next = pg->page.next;
    pg->page.next = pg->page.prev = NULL;
    pg->page.in_full = 0;
    pt_store_release(&pg->xowner, (uintptr_t)h);
    pt__page_collect(pg);
    if (pg->page.used == 0) {
      pt__page_release(pg);
    } else {
      pt__heap_queue_push_front(h, pg);
      if (pg->page.free || pg->page.capacity < pg->page.reserved) {
        if (next) pt__abandoned_push_list(next);
        break;
      }
    }
    pg = next;
  }
  pt_fetch_sub_acq_rel(&adopting[cls], 1);
}

void* pt__slab_alloc_generic(pt_heap_t* h, size_t n, unsigned cls) {
  if (pt_unlikely(h == &pt__heap_empty)) {
    if (pt__heap_thread_is_done()) return pt__heap_dying_alloc(n, cls);
    h = pt__heap_acquire();
    if (!h) return NULL;
  }
  if (pt_unlikely(++h->generic_calls >= 256)) {
    h->generic_calls = 0;
    pt__maintenance(false);
  }
  heap_collect_full(h);
  pt_page_queue_t* q = &h->queue[cls];
  for (int round = 0; round < 2; round++) {
    for (pt_desc_t* pg = q->first; pg;) {
      pt_desc_t* next = pg->page.next;
      if (page_refill(pg)) {
        if (pg != q->first) {
          pt__heap_queue_remove(h, pg);
          pt__heap_queue_push_front(h, pg);
        }
        return page_pop(pg);
      }
      if (!page_to_full(h, pg) && page_refill(pg)) {
        pt__heap_queue_remove(h, pg);
        pt__heap_queue_push_front(h, pg);
        return page_pop(pg);
      }
      pg = next;
    }
    if (round == 0) heap_adopt(h, cls);
  }
  pt_desc_t* pg = page_new(h, cls);
  if (!pg) return NULL;
  pt__heap_queue_push_front(h, pg);
  page_extend(pg);
  return page_pop(pg);
}

/* A local free emptied the page. Keep it if it is the only page of its class (the next malloc of
 * that class would need one at once); otherwise return it to the arena for any class or thread. */
void pt__page_retire(pt_heap_t* h, pt_desc_t* pg) {
  pt_page_queue_t* q = &h->queue[pg->cls];
  if (q->first == pg && q->last == pg) return;
  pt__heap_queue_remove(h, pg);
  pt__page_release(pg);
}

static void remote_free(pt_desc_t* pg, pt_block_t* b) {
  uintptr_t old = pt_load_relaxed(&pg->thread_free), packed;
  do {
    b->next = (pt_block_t*)(old >> TF_COUNT_BITS);
    packed = ((uintptr_t)b << TF_COUNT_BITS) | ((old & TF_COUNT_MASK) + 1);
  } while (!pt_cas_weak_seqcst(&pg->thread_free, &old, packed));
  uintptr_t x = pt_load_seqcst(&pg->xowner);
  if ((x & PT_PAGE_FULL) && x >= PT_KIND_LIMIT) {
    pt_heap_t* owner = (pt_heap_t*)(x & ~PT_PAGE_FULL); /* heaps are never freed: safe to poke */
    if (!pt_load_relaxed(&owner->remote_hint)) pt_store_release(&owner->remote_hint, 1);
  }
}

void pt__slab_free_remote(pt_desc_t* pg, void* p) { remote_free(pg, p); }

void pt__slab_free_slow(pt_desc_t* pg, void* p, uintptr_t x) {
  pt_heap_t* h = pt__tls_heap;
  if ((x & ~PT_PAGE_FULL) == (uintptr_t)h) { /* our own full page */
    page_unfull(h, pg);
    pt_block_t* b = p;
    b->next = pg->page.local_free;
    pg->page.local_free = b;
    if (--pg->page.used == 0) pt__page_retire(h, pg);
    return;
  }
  remote_free(pg, p);
}
