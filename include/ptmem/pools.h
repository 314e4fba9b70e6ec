/* ptmem/pools.h - ptmem's allocation backends for direct use, without LD_PRELOAD.
 *
 * Typed pools: fixed-size blocks of one exact size, thread-safe and lock-free (any thread may
 * allocate and free), everything released at once by pt_pool_destroy.
 *
 * Region arenas: bump allocation with scopes. pt_arena_mark() remembers the current position,
 * pt_arena_reset(mark) frees everything allocated since, pt_arena_destroy() frees everything. An
 * arena is used by one thread at a time (like a stack); share it only under your own lock.
 *
 * Link with -lptmem_pools (static library) or use libptmem.so, which exports the same functions.
 * Errors: functions returning a pointer return NULL and set errno (EINVAL for a bad argument,
 * ENOMEM when the OS refuses memory). Passing free() a block of a pool is allowed; passing it arena
 * memory is refused with a message on stderr. */
#ifndef PTMEM_POOLS_H
#define PTMEM_POOLS_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PT_API __attribute__((visibility("default")))
#else
#define PT_API
#endif

typedef struct pt_pool_s pt_pool_t;
typedef struct pt_arena_s pt_arena_t;
typedef size_t pt_arena_mark_t;

/* A pool of blocks of `block_size` bytes (1 .. 2 MiB) aligned to `align` (0 = 16; a power of two up
 * to 64 KiB). `name` (may be NULL, truncated to 47 bytes) identifies the pool in reports. */
PT_API pt_pool_t* pt_pool_create(size_t block_size, size_t align, const char* name);
PT_API void* pt_pool_alloc(pt_pool_t* pool);
/* Gives a block back; p must come from this pool (NULL is ignored). */
PT_API void pt_pool_free(pt_pool_t* pool, void* p);
/* Releases every block and chunk of the pool at once. No thread may use the pool concurrently. */
PT_API void pt_pool_destroy(pt_pool_t* pool);
PT_API size_t pt_pool_block_size(const pt_pool_t* pool); /* after rounding to the alignment */
PT_API size_t pt_pool_live(const pt_pool_t* pool);       /* blocks allocated and not freed */
PT_API const char* pt_pool_name(const pt_pool_t* pool);

/* An arena whose chunks are `chunk_size` bytes (0 = 256 KiB; rounded up to 64 KiB). Bigger
 * allocations get a chunk of their own. */
PT_API pt_arena_t* pt_arena_create(size_t chunk_size);
/* `size` bytes aligned to `align` (0 = 16; a power of two). size 0 gives a unique pointer. */
PT_API void* pt_arena_alloc(pt_arena_t* arena, size_t size, size_t align);
PT_API pt_arena_mark_t pt_arena_mark(const pt_arena_t* arena);
/* Frees everything allocated after `mark` was taken; chunks beyond it go back to the allocator.
 * Returns 0, or EINVAL if the mark is ahead of the current position (the arena is unchanged). */
PT_API int pt_arena_reset(pt_arena_t* arena, pt_arena_mark_t mark);
PT_API void pt_arena_destroy(pt_arena_t* arena);
PT_API size_t pt_arena_used(const pt_arena_t* arena); /* bytes handed out since creation/reset */

#ifdef __cplusplus
}
#endif
#endif
