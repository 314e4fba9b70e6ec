/* perthread.h - per-thread blocks of tracker state kept out of thread-local storage. glibc carves
 * every thread's static TLS out of its stack: with 34 KiB of ours, pthread_create failed (EINVAL)
 * for threads asking for 16 or 32 KiB stacks. A block is reserved address space taken on the
 * thread's first need (pages it never touches cost nothing), handed back zeroed when the thread
 * ends, and given to the next thread that needs one. */
#ifndef PTMEM_TRACK_PERTHREAD_H
#define PTMEM_TRACK_PERTHREAD_H
#include <stddef.h>

typedef struct pt_perthread_pool_s {
  size_t size;         /* of every block of this pool */
  _Atomic int lock;    /* held only to push or pop a free block: thread start and end are rare */
  void* free;          /* blocks given back, linked through their first word */
} pt_perthread_pool_t;

/* A zeroed block of pool->size bytes (NULL if the address space is exhausted). Never a root of
 * the leak scan: the users keep code addresses, stack addresses and complemented words there. */
void* pt_perthread_take(pt_perthread_pool_t* pool);
void pt_perthread_give(pt_perthread_pool_t* pool, void* block);
void pt_perthread_fork_child(pt_perthread_pool_t* pool); /* the lock's holder may not exist there */

#endif
