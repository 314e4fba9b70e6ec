/* init.c - life cycle of libptmem.so. malloc runs long before any constructor (ld.so, libc and the
 * program's other libraries allocate first), so the allocator initialises itself lazily on the first
 * allocation (pt__embedder_init, called by the pools library) and the constructor only does what
 * needs a fully started process: resolving the C library's malloc for foreign pointers (dlsym may
 * allocate, which is fine once ptmem works) and registering the fork handler. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "options.h"
#include "preload.h"
#include "track.h"
#include "tracking.h"

libc_malloc_t ptmem_libc;
static size_t page_size = 4096;

size_t ptmem_page_size(void) { return page_size; }

/* Called once by the pools library, on the process's first allocation. Must not allocate. */
void pt__embedder_init(void) {
  ptmem_options_load();
  pt__settings.purge_delay_ms = (uint32_t)ptmem_options.purge_delay_ms;
  pt__settings.huge_cache_mb = (uint32_t)ptmem_options.huge_cache_mb;
  long ps = sysconf(_SC_PAGESIZE);
  if (ps > 0) page_size = (size_t)ps;
  if (ptmem_options.track) ptmem_tracking_start();
}

static void fork_child(void) {
  pt__fork_child();
  ptmem_tracking_fork_child();
}

__attribute__((constructor)) static void ptmem_preload_start(void) {
  void* volatile first = malloc(1); /* options are read on the first allocation: make sure it */
  free(first);                       /* has happened (volatile: gcc drops a free(malloc()) pair) */
  /* POSIX's dlsym idiom: copy the object pointer into the function pointer's storage. */
  void* sym = dlsym(RTLD_NEXT, "free");
  memcpy(&ptmem_libc.free, &sym, sizeof sym);
  sym = dlsym(RTLD_NEXT, "malloc_usable_size");
  memcpy(&ptmem_libc.usable_size, &sym, sizeof sym);
  pthread_atfork(NULL, NULL, fork_child);
  ptmem_tracking_load_unwinder();
  ptmem_sigaction_resolve();
  ptmem_tracking_install_signal((int)ptmem_options.snapshot_signal);
  ptmem_tracking_install_crash_handlers((int)ptmem_options.snapshot_signal);
  ptmem_exit_resolve();
  ptmem_exec_resolve();
}

/* PTMEM_STATS=1: one summary when the program exits, from the same statistics as malloc_stats. */
__attribute__((noinline)) static void print_stats(void) {
  pt_stats_t s;
  pt__stats_collect(&s);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char buf[1024];
  int n = snprintf(buf, sizeof buf,
                   "ptmem: pid %d exiting: %zu bytes in use, %zu mapped, %zu free but resident, %zu in huge "
                   "blocks, %zu thread heaps; peak RSS %ld KiB\n"
                   "ptmem: mapped = %zu in slab pages + %zu in abandoned pages + %zu in medium chunks + %zu in "
                   "large spans + %zu huge + metadata\n",
                   (int)getpid(), s.in_use, s.mapped, s.free_dirty, s.huge, s.heaps, ru.ru_maxrss, s.slab_pages,
                   s.abandoned_pages, s.medium_chunks, s.large_spans, s.huge);
  if (n > 0) pt__os_write_stderr(buf);
}

/* The leak scan reads the stack above ptmem_tracking_finish as live: a frame of this function's
 * (its locals, its padding) would hold stale words of earlier calls at this depth, roots that keep
 * lost blocks. So the statistics come first, in a frame of their own, and the finish is a tail call. */
__attribute__((destructor)) static void ptmem_preload_end(void) {
  if (ptmem_options.stats) print_stats();
  ptmem_tracking_finish();
}

/* dlclose: another object may load where the closed one was, so the stack walk's rules for that
 * code go (libc's own internal unloads are seen later, by the module refresh). */
PT_EXPORT int dlclose(void* handle) {
  static int (*real_dlclose)(void*);
  if (!real_dlclose) {
    void* sym = dlsym(RTLD_NEXT, "dlclose");
    memcpy(&real_dlclose, &sym, sizeof sym);
  }
  int result = real_dlclose ? real_dlclose(handle) : -1;
  pt_track_unwind_flush();
  return result;
}

void ptmem_foreign_free(void* p) {
  if (ptmem_libc.free) ptmem_libc.free(p);
}
