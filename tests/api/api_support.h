/* api_support.h - what the sections of the API conformance program share: the allocator entry
 * points resolved at run time, block patterns and checks, and the state set by the driver. */
#ifndef PTMEM_TESTS_API_SUPPORT_H
#define PTMEM_TESTS_API_SUPPORT_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static inline size_t hide(size_t n) {
  __asm__ volatile("" : "+r"(n));
  return n;
}
static inline void escape(void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

/* POSIX's dlsym idiom: copy the object pointer into the function pointer's storage. */
#define LOOKUP(var, name)                                                                            \
  do {                                                                                               \
    void* sym_ = dlsym(RTLD_DEFAULT, name);                                                          \
    memcpy(&(var), &sym_, sizeof sym_);                                                              \
  } while (0)

/* Everything beyond C11/POSIX is resolved at run time so the program links on any libc. */
typedef struct {
  void* (*memalign)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  size_t (*usable)(void*);
  struct mallinfo (*mallinfo)(void);
  struct mallinfo2 (*mallinfo2)(void);
  int (*malloc_trim)(size_t);
  void (*malloc_stats)(void);
  int (*malloc_info)(int, FILE*);
  int (*mallopt)(int, int);
  void (*cfree)(void*);
  void (*free_sized)(void*, size_t);
  void (*free_aligned_sized)(void*, size_t, size_t);
  void* (*libc_malloc)(size_t);
  void (*libc_free)(void*);
  void* (*libc_calloc)(size_t, size_t);
  void* (*libc_realloc)(void*, size_t);
  void* (*libc_memalign)(size_t, size_t);
  void* (*libc_valloc)(size_t);
  void* (*libc_pvalloc)(size_t);
  int (*posix_memalign_)(void**, size_t, size_t);
} api_t;
extern api_t api;
extern bool under_ptmem;
extern size_t page_size;
extern uint64_t rng_state;
extern size_t too_big[64]; /* impossible sizes, filled by make_too_big() */
extern size_t n_too_big;

#define CHECK_PATTERN(p, n, seed) CHECK_UEQ(mismatch((p), (n), (seed)), (n))

#define CHECK_ALL_BYTES(p, n, byte) CHECK_UEQ(not_byte((p), (n), (byte)), (n))

/* A failed allocation: NULL and errno == ENOMEM. Callers set errno = 0 first. */
#define CHECK_ENOMEM(expr)                                                                           \
  do {                                                                                               \
    errno = 0;                                                                                       \
    void* r_ = (expr);                                                                               \
    CHECK_PTR_EQ(r_, NULL);                                                                          \
    CHECK_EQ(errno, ENOMEM);                                                                         \
  } while (0)

void fill(void* p, size_t n, uint64_t seed);
size_t mismatch(const void* p, size_t n, uint64_t seed);
size_t not_byte(const void* p, size_t n, unsigned char byte);
size_t round_up(size_t n, size_t a);
size_t next_pow2(size_t n);
size_t max_sz(size_t a, size_t b);
uint64_t rnd(void);
void resolve_api(void);
void require_core_api(void);
size_t usable(void* p);
void check_block(void* p, size_t n, size_t align);
void make_too_big(void);

/* Shared by sections of both files (defined in api_sections_core.c). */
void usable_pair(size_t n);
void free_keeps_errno(void* p, void (*f)(void*));

/* The sections (api_sections_core.c, api_sections_more.c). */
void section_exports(void);
void section_malloc_zero(void);
void section_realloc(void);
void section_overflow(void);
void section_posix_memalign(void);
void section_free(void);
void section_usable_size(void);
void section_class_boundaries(void);
void section_alignment(void);
void section_valloc_pvalloc(void);
void section_calloc(void);
void section_random_blocks(void);
void section_mallinfo(void);
void section_trim_info_stats(void);
void section_foreign(void);
void section_aliases(void);

#endif
