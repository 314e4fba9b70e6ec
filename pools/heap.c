/* heap.c - per-thread heaps: creation, the direct table, thread exit, abandoned pages and fork.
 *
 * A thread's heap is found through an initial-exec TLS pointer (no __tls_get_addr, which could
 * allocate). Threads that have none point at pt__heap_empty, whose direct table leads to a page
 * with no free block, so the malloc fast path needs no "initialised?" branch (mimalloc's empty heap).
 *
 * Heaps are carved from META spans, linked into a registry and never freed: a remote freer may poke
 * heap->remote_hint of a heap whose thread died. A thread ending (pthread key destructor) collects
 * its pages: empty ones return to the arena, the others are marked ABANDONED and pushed onto a
 * per-class list (push one / take all: ABA-free) where other threads adopt them. Its heap becomes
 * UNUSED and a new thread claims it with one CAS.
 *
 * fork(): the child has one thread. Heaps of the parent's other threads are orphans. The child
 * handler does not trust their lists (a thread may have been mid-update when fork() hit); it walks
 * the arena's descriptors instead, abandons every slab page not owned by the surviving heap and
 * rebuilds the abandoned lists from scratch. No lock exists, so none can be held across fork(). */
#include "internal.h"

#include <pthread.h>
#include <string.h>

__thread pt_tls_t pt__tls __attribute__((tls_model("initial-exec"))) = {.heap = &pt__heap_empty};
pt_desc_t pt__page_empty;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic" /* GNU range initialiser: 65 identical entries */
pt_heap_t pt__heap_empty = {.direct = {[0 ... PT_DIRECT_SLOTS - 1] = &pt__page_empty}};
#pragma GCC diagnostic pop

static _Atomic(pt_heap_t*) heaps_all;
static _Atomic(pt_desc_t*) abandoned[PT_SLAB_CLASSES];
static pthread_key_t heap_key;
static _Atomic int heap_key_state; /* 0 none, 1 creating, 2 ready, 3 failed */

static void heap_reset(pt_heap_t* h) {
  for (int i = 0; i < PT_DIRECT_SLOTS; i++) h->direct[i] = &pt__page_empty;
  memset(h->queue, 0, sizeof h->queue);
  memset(&h->full, 0, sizeof h->full);
  memset(h->medium_hint, 0, sizeof h->medium_hint);
  pt_store_relaxed(&h->remote_hint, 0);
  /* generic_calls is kept: short-lived threads recycling one heap must still reach maintenance. */
}

static void heap_key_destructor(void* arg);

/* The program embedding the pools (libptmem.so) may define this to read its options before the
 * first heap serves anyone; it runs once, on the first allocation of the process. */
void pt__embedder_init(void) __attribute__((weak));
static _Atomic int embedder_state; /* 0 not run, 1 running, 2 done */
static __thread bool tls_in_embedder_init __attribute__((tls_model("initial-exec")));

static void embedder_init_once(void) {
  int expected = 0;
  if (pt_cas_strong_acq_rel(&embedder_state, &expected, 1)) {
    tls_in_embedder_init = true;
    if (pt__embedder_init) pt__embedder_init();
    tls_in_embedder_init = false;
    pt_store_release(&embedder_state, 2);
    return;
  }
  while (!tls_in_embedder_init && pt_load_acquire(&embedder_state) == 1) {
  }
}

static void heap_key_ensure(void) {
  int st = pt_load_acquire(&heap_key_state);
  if (st >= 2) return;
  int expected = 0;
  if (pt_cas_strong_acq_rel(&heap_key_state, &expected, 1)) {
    /* pthread_key_create does not allocate in glibc. */
    pt_store_release(&heap_key_state, pthread_key_create(&heap_key, heap_key_destructor) == 0 ? 2 : 3);
    return;
  }
  while (pt_load_acquire(&heap_key_state) == 1) {
  }
}

/* The next heap of the newest heap slice not yet handed out (NULL: none left). A 64 KiB slice holds
 * some 45 heaps; each is reset when handed out, so a process with one thread touches one heap's
 * pages. Resetting and linking the whole slice when it was claimed took 16 page faults in every
 * process (some 11 us each on this project's VMs). */
static _Atomic(pt_heap_t*) carve_next;
_Static_assert(2 * sizeof(pt_heap_t) <= PT_SLICE_SIZE, "a heap slice holds at least two heaps");

static void heap_publish(pt_heap_t* h) {
  heap_reset(h);
  pt_store_relaxed(&h->state, PT_HEAP_ACTIVE);
  pt_heap_t* head = pt_load_relaxed(&heaps_all);
  do {
    h->next_all = head;
  } while (!pt_cas_weak_acq_rel(&heaps_all, &head, h));
}

static pt_heap_t* heap_carve(void) {
  for (;;) {
    pt_heap_t* h = pt_load_acquire(&carve_next);
    if (h) {
      uintptr_t slice_end = ((uintptr_t)h & ~(uintptr_t)(PT_SLICE_SIZE - 1)) + PT_SLICE_SIZE;
      pt_heap_t* next = (uintptr_t)(h + 2) <= slice_end ? h + 1 : NULL;
      if (!pt_cas_weak_acq_rel(&carve_next, &h, next)) continue;
      heap_publish(h);
      return h;
    }
    bool is_zero;
    pt_desc_t* d = pt__span_claim(1, 1, &is_zero);
    if (!d) return NULL;
    pt_store_release(&d->xowner, (uintptr_t)PT_KIND_META);
    pt_heap_t* first = (pt_heap_t*)d->start;
    pt_heap_t* none = NULL; /* another thread's new slice may have come first: the rest of ours stays unused */
    pt_cas_strong_acq_rel(&carve_next, &none, first + 1);
    heap_publish(first);
    return first;
  }
}

/* Set once this thread's heap destructor ran: glibc runs key destructors at most
 * PTHREAD_DESTRUCTOR_ITERATIONS times, so a heap claimed after that might never be given back. */
static __thread bool tls_thread_done __attribute__((tls_model("initial-exec")));

static pt_heap_t* heap_claim(void) {
  pt_heap_t* h = NULL;
  for (pt_heap_t* c = pt_load_acquire(&heaps_all); c; c = c->next_all) {
    uint32_t expected = PT_HEAP_UNUSED;
    if (pt_load_relaxed(&c->state) == PT_HEAP_UNUSED &&
        pt_cas_strong_acq_rel(&c->state, &expected, PT_HEAP_ACTIVE)) {
      h = c;
      break;
    }
  }
  if (!h) h = heap_carve();
  return h;
}

pt_heap_t* pt__heap_acquire(void) {
  if (pt_unlikely(pt_load_acquire(&embedder_state) != 2)) embedder_init_once();
  heap_key_ensure();
  pt__maintenance(false); /* thread start is a slow event: a good moment for periodic work */
  pt_heap_t* h = heap_claim();
  if (!h) return NULL;
  pt__tls_heap = h;
  /* May call calloc for keys >= 32: that recursion is served by h, already installed, and is the
   * thread's own call, not a signal handler's (entry.h): the heap is whole here. */
  if (pt_load_acquire(&heap_key_state) == 2) {
    uintptr_t busy = pt__tls.busy;
    pt__tls.busy = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pthread_setspecific(heap_key, h);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pt__tls.busy = busy;
  }
  return h;
}

void pt__heap_direct_update(pt_heap_t* h, unsigned cls) {
  size_t size = pt__class_size(cls);
  if (size > PT_DIRECT_MAX) return;
  size_t prev = cls == 0 ? 0 : pt__class_size(cls - 1) + 1;
  pt_desc_t* pg = h->queue[cls].first ? h->queue[cls].first : &pt__page_empty;
  for (size_t w = (prev + 15) >> 4; w <= (size + 15) >> 4; w++) h->direct[w] = pg;
}

void pt__heap_queue_push_front(pt_heap_t* h, pt_desc_t* pg) {
  pt_page_queue_t* q = &h->queue[pg->cls];
  pg->page.prev = NULL;
  pg->page.next = q->first;
  if (q->first) q->first->page.prev = pg;
  else q->last = pg;
  q->first = pg;
  pt__heap_direct_update(h, pg->cls);
}

void pt__heap_queue_push_back(pt_heap_t* h, pt_desc_t* pg) {
  pt_page_queue_t* q = &h->queue[pg->cls];
  if (!q->first) {
    pt__heap_queue_push_front(h, pg);
    return;
  }
  pg->page.next = NULL;
  pg->page.prev = q->last;
  q->last->page.next = pg;
  q->last = pg;
}

void pt__heap_queue_remove(pt_heap_t* h, pt_desc_t* pg) {
  pt_page_queue_t* q = &h->queue[pg->cls];
  bool was_first = q->first == pg;
  if (pg->page.prev) pg->page.prev->page.next = pg->page.next;
  else q->first = pg->page.next;
  if (pg->page.next) pg->page.next->page.prev = pg->page.prev;
  else q->last = pg->page.prev;
  pg->page.next = pg->page.prev = NULL;
  if (was_first) pt__heap_direct_update(h, pg->cls);
}

void pt__abandoned_push(pt_desc_t* pg) {
  pt_desc_t* head = pt_load_relaxed(&abandoned[pg->cls]);
  do {
    pg->page.next = head;
  } while (!pt_cas_weak_acq_rel(&abandoned[pg->cls], &head, pg));
}

void pt__abandoned_push_list(pt_desc_t* first) {
  pt_desc_t* last = first;
  while (last->page.next) last = last->page.next;
  pt_desc_t* head = pt_load_relaxed(&abandoned[first->cls]);
  do {
    last->page.next = head;
  } while (!pt_cas_weak_acq_rel(&abandoned[first->cls], &head, first));
}

pt_desc_t* pt__abandoned_take(unsigned cls) {
  if (!pt_load_relaxed(&abandoned[cls])) return NULL;
  return pt_exchange_acq_rel(&abandoned[cls], NULL);
}

static void page_abandon_or_release(pt_desc_t* pg) {
  pg->page.prev = NULL;
  pg->page.in_full = 0;
  pt_store_release(&pg->xowner, (uintptr_t)PT_KIND_ABANDONED);
  pt__page_collect(pg);
  if (pg->page.used == 0) pt__page_release(pg);
  else pt__abandoned_push(pg);
}

/* Pages abandoned by dead threads may drain through remote frees while nobody adopts them: give
 * the empty ones back so their memory can be purged. */
void pt__abandoned_sweep(void) {
  for (unsigned cls = 0; cls < PT_SLAB_CLASSES; cls++) {
    for (pt_desc_t* pg = pt__abandoned_take(cls); pg;) {
      pt_desc_t* next = pg->page.next;
      pt__page_collect(pg);
      if (pg->page.used == 0) pt__page_release(pg);
      else pt__abandoned_push(pg);
      pg = next;
    }
  }
}

static void heap_abandon_pages(pt_heap_t* h) {
  for (unsigned cls = 0; cls < PT_SLAB_CLASSES; cls++) {
    for (pt_desc_t* pg = h->queue[cls].first; pg;) {
      pt_desc_t* next = pg->page.next;
      page_abandon_or_release(pg);
      pg = next;
    }
  }
  for (pt_desc_t* pg = h->full.first; pg;) {
    pt_desc_t* next = pg->page.next;
    page_abandon_or_release(pg);
    pg = next;
  }
}

static void heap_release(pt_heap_t* h) {
  heap_abandon_pages(h);
  heap_reset(h);
  pt_store_release(&h->state, PT_HEAP_UNUSED);
}

bool pt__heap_thread_is_done(void) { return tls_thread_done; }

/* A thread past its heap destructor: borrow a heap for one allocation and give it straight back
 * (its page is abandoned with the block in it). Slow, but only threads that are exiting get here. */
void* pt__heap_dying_alloc(size_t n, unsigned cls) {
  pt_heap_t* h = heap_claim();
  if (!h) return NULL;
  void* p = pt__slab_alloc_generic(h, n, cls);
  heap_release(h);
  return p;
}

void pt__heap_thread_done(void) {
  pt_heap_t* h = pt__tls_heap;
  tls_thread_done = true;
  pt__maintenance(false);
  if (h == &pt__heap_empty) return;
  /* From here on this thread's frees take the remote path and its mallocs claim a fresh heap. */
  pt__tls_heap = &pt__heap_empty;
  heap_release(h);
}

static void heap_key_destructor(void* arg) {
  (void)arg;
  pt__heap_thread_done();
}

void pt__heap_foreach(void (*fn)(pt_heap_t* h, void* arg), void* arg) {
  for (pt_heap_t* h = pt_load_acquire(&heaps_all); h; h = h->next_all)
    if (pt_load_relaxed(&h->state) == PT_HEAP_ACTIVE) fn(h, arg);
}

static void fork_rescue_page(pt_desc_t* d, void* arg) {
  pt_heap_t* survivor = arg;
  uintptr_t x = pt_load_relaxed(&d->xowner);
  bool orphan = x >= PT_KIND_LIMIT && (x & ~PT_PAGE_FULL) != (uintptr_t)survivor;
  if (!orphan && x != PT_KIND_ABANDONED) return;
  pt_store_relaxed(&d->xowner, (uintptr_t)PT_KIND_ABANDONED);
  d->page.prev = NULL;
  d->page.in_full = 0;
  pt__abandoned_push(d);
}

void pt__fork_child(void) {
  int creating = 1;
  pt_cas_strong_acq_rel(&heap_key_state, &creating, 0); /* its creator vanished with fork() */
  pt__maintenance_fork_child();
  pt__heap_fork_child();
}

void pt__heap_fork_child(void) {
  pt_heap_t* survivor = pt__tls_heap;
  for (unsigned cls = 0; cls < PT_SLAB_CLASSES; cls++) pt_store_relaxed(&abandoned[cls], NULL);
  pt__slab_fork_child();
  pt__arena_foreach_span(fork_rescue_page, survivor);
  for (pt_heap_t* h = pt_load_acquire(&heaps_all); h; h = h->next_all) {
    if (h == survivor) continue;
    heap_reset(h);
    pt_store_relaxed(&h->state, PT_HEAP_UNUSED);
  }
}
