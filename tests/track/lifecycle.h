/* lifecycle.h - what lifecycle.c calls in lifecycle_nofde.c. */
#ifndef PTMEM_TESTS_LIFECYCLE_H
#define PTMEM_TESTS_LIFECYCLE_H
#include <stddef.h>

void lifecycle_leak_without_unwind_tables(size_t size);

#endif
