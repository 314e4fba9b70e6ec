/* Unit tests of track/touched.c: the exit scan skips anonymous pages never touched, so it must say
 * "never" only for those: written pages, read ones (the zero page is mapped: present) and pages
 * given back with MADV_DONTNEED then written again are touched; untouched ones and pages given
 * back are not. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "touched.h"

enum { PAGES = 64 };

int main(void) {
  pt_touched_t t;
  pt_touched_open(&t);
  if (t.fd < 0) {
    fprintf(stderr, "no /proc/self/pagemap here: skipped\n");
    return 77;
  }
  long page = sysconf(_SC_PAGESIZE);
  CHECK_EQ(page, 4096);
  volatile char* area = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(area != MAP_FAILED);
  madvise((void*)area, PAGES * 4096, MADV_NOHUGEPAGE); /* a huge page would make every page present */
  area[3 * 4096] = 1;
  area[40 * 4096 + 100] = 2;
  (void)area[50 * 4096];
  area[60 * 4096] = 3;
  madvise((void*)(area + 60 * 4096), 4096, MADV_DONTNEED);
  area[61 * 4096] = 4;
  madvise((void*)(area + 61 * 4096), 4096, MADV_DONTNEED);
  area[61 * 4096] = 5;
  for (unsigned i = 0; i < PAGES; i++) {
    bool touched = i == 3 || i == 40 || i == 50 || i == 61;
    CHECK_EQ(pt_touched_never(&t, (uintptr_t)(area + i * 4096 + 17)), !touched);
  }
  CHECK(!pt_touched_never(&t, (uintptr_t)&t)); /* this stack frame */
  pt_touched_close(&t);
  CHECK(!pt_touched_never(&t, (uintptr_t)(area + 10 * 4096))); /* closed: unknown, never "never" */
  munmap((void*)area, PAGES * 4096);
  printf("touched: %d pages told apart\n", PAGES);
  return 0;
}
