/* preload.h - shared by the files of libptmem.so. */
#ifndef PTMEM_PRELOAD_H
#define PTMEM_PRELOAD_H
#include <stddef.h>

#define PT_EXPORT __attribute__((visibility("default")))

/* The C library's own functions, for pointers ptmem did not allocate (resolved by the constructor;
 * NULL before it ran, and then foreign pointers are left alone rather than guessed at). */
typedef struct libc_malloc_s {
  void (*free)(void*);
  size_t (*usable_size)(void*);
} libc_malloc_t;
extern libc_malloc_t ptmem_libc;

void ptmem_foreign_free(void* p);
void* ptmem_foreign_realloc(void* p, size_t n);
size_t ptmem_page_size(void);

#endif
