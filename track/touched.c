/* touched.c - see touched.h. */
#define _GNU_SOURCE
#include "touched.h"

#include <fcntl.h>
#include <unistd.h>

#include "../pools/os.h"

#define PAGE_SHIFT 12
#define PRESENT (1ull << 63)
#define SWAPPED (1ull << 62)

void pt_touched_open(pt_touched_t* t) {
  t->fd = pt__os_open_proc("pagemap", O_RDONLY | O_CLOEXEC);
  t->first = 0;
  t->n = 0;
}

void pt_touched_close(pt_touched_t* t) {
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
}

bool pt_touched_never(pt_touched_t* t, uintptr_t addr) {
  if (t->fd < 0) return false;
  uintptr_t page = addr >> PAGE_SHIFT;
  if (page < t->first || page >= t->first + t->n) {
    ssize_t got = pread(t->fd, t->entries, sizeof t->entries, (off_t)(page * sizeof t->entries[0]));
    if (got < (ssize_t)sizeof t->entries[0]) {
      t->n = 0;
      return false;
    }
    t->first = page;
    t->n = (size_t)got / sizeof t->entries[0];
  }
  return !(t->entries[page - t->first] & (PRESENT | SWAPPED));
}
