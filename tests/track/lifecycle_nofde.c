/* lifecycle_nofde.c - an allocating function without unwind tables (compiled so: CMakeLists.txt),
 * where the tracker's call-frame walk gives up and another unwinder takes the stack. */
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

__attribute__((noinline)) void lifecycle_leak_without_unwind_tables(size_t size) {
  void* volatile p = malloc(size);
  memset(p, 0x5a, size);
  p = NULL;
}
