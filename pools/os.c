/* os.c - Linux implementation of os.h: mmap/munmap/madvise/mremap. Aligned reservations over-map
 * by the alignment and trim both ends, so no VMA is ever split in the middle (each split counts
 * against vm.max_map_count). Decommit uses MADV_DONTNEED, not MADV_FREE, so RSS falls visibly and
 * at once (mimalloc prim.c makes the same choice): for a memory profiler RSS is part of the product. */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* Names the mapping "[anon:ptmem]" in /proc/self/maps (Linux 5.17+; ignored elsewhere): people see
 * what is ptmem's, and the leak scan knows it is not a root. */
static _Atomic int naming_unsupported; /* EINVAL once: a kernel without CONFIG_ANON_VMA_NAME */

static void name_mapping(void* p, size_t size) {
  if (atomic_load_explicit(&naming_unsupported, memory_order_relaxed)) return; /* ~20 calls a process */
  if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, (unsigned long)size, (unsigned long)"ptmem") != 0 &&
      errno == EINVAL)
    atomic_store_explicit(&naming_unsupported, 1, memory_order_relaxed);
}

static void* reserve(size_t size, size_t align, int extra_flags);

static void* map_named(size_t size, size_t align, int extra_flags) {
  int saved = errno;
  void* p = reserve(size, align, extra_flags);
  if (p) name_mapping(p, size);
  errno = saved;
  return p;
}

void* pt__os_reserve(size_t size, size_t align) { return map_named(size, align, MAP_NORESERVE); }

/* Without MAP_NORESERVE the kernel's overcommit policy judges the mapping as it judges glibc's
 * mmap'd chunks: with MAP_NORESERVE malloc(1 TiB) on a 24 GiB machine succeeded (vm.overcommit 0),
 * and a program that falls back when a big buffer is refused was killed later, touching it. */
void* pt__os_map(size_t size, size_t align) { return map_named(size, align, 0); }

static void* reserve(size_t size, size_t align, int extra_flags) {
  int saved = errno;
  const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS | extra_flags;
  if (align <= 4096) {
    void* p = mmap(NULL, size, prot, flags, -1, 0);
    errno = saved;
    return p == MAP_FAILED ? NULL : p;
  }
  /* Optimistic: mappings are often placed next to the previous one, which we keep aligned. */
  void* p = mmap(NULL, size, prot, flags, -1, 0);
  if (p == MAP_FAILED) {
    errno = saved;
    return NULL;
  }
  if (((uintptr_t)p & (align - 1)) == 0) {
    errno = saved;
    return p;
  }
  munmap(p, size);
  size_t over = size + align;
  if (over < size) {
    errno = saved;
    return NULL;
  }
  uint8_t* raw = mmap(NULL, over, prot, flags, -1, 0);
  if (raw == MAP_FAILED) {
    errno = saved;
    return NULL;
  }
  uint8_t* aligned = (uint8_t*)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  size_t head = (size_t)(aligned - raw), tail = over - head - size;
  if (head) munmap(raw, head);
  if (tail) munmap(aligned + size, tail);
  errno = saved;
  return aligned;
}

void pt__os_release(void* p, size_t size) {
  int saved = errno;
  munmap(p, size);
  errno = saved;
}

void pt__os_decommit(void* p, size_t size) {
  int saved = errno;
  madvise(p, size, MADV_DONTNEED);
  errno = saved;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static _Atomic int populate_unsupported;
static char populate_probe[4096] __attribute__((aligned(4096)));

void pt__os_populate(void* p, size_t size) {
  if (!size || atomic_load_explicit(&populate_unsupported, memory_order_relaxed)) return;
  uintptr_t start = (uintptr_t)p & ~(uintptr_t)4095, end = ((uintptr_t)p + size + 4095) & ~(uintptr_t)4095;
  int saved = errno;
  /* EINVAL also answers a range that is not all private writable memory: only a page of our own
   * refused too says the kernel lacks the call. */
  if (madvise((void*)start, end - start, MADV_POPULATE_WRITE) != 0 && errno == EINVAL &&
      madvise(populate_probe, sizeof populate_probe, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
    atomic_store_explicit(&populate_unsupported, 1, memory_order_relaxed);
  errno = saved;
}

void* pt__os_remap(void* p, size_t old_size, size_t new_size, size_t align) {
  int saved = errno;
  void* q = mremap(p, old_size, new_size, 0); /* in place first: no copy, no new VMA */
  if (q != MAP_FAILED) {
    errno = saved;
    return q;
  }
  /* Move the pages (no copy) to a fresh aligned mapping. */
  void* dest = pt__os_map(new_size, align);
  if (!dest) {
    errno = saved;
    return NULL;
  }
  q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
  if (q == MAP_FAILED) {
    munmap(dest, new_size);
    errno = saved;
    return NULL;
  }
  errno = saved;
  return q;
}

uint64_t pt__os_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* /proc/thread-self, not /proc/self: once the main thread has called pthread_exit, /proc/self is
 * that zombie thread, and its maps, exe, cmdline and statm read as empty (the leak scan found no
 * roots at all). /proc/self where thread-self is missing (Linux before 3.17). */
static void proc_path(char* out, size_t size, const char* dir, const char* name) {
  size_t d = strlen(dir), n = strlen(name);
  if (d + n + 1 > size) n = size - 1 - d;
  memcpy(out, dir, d);
  memcpy(out + d, name, n);
  out[d + n] = 0;
}

int pt__os_open_proc(const char* name, int flags) {
  char path[96];
  proc_path(path, sizeof path, "/proc/thread-self/", name);
  int fd = open(path, flags);
  if (fd >= 0 || errno != ENOENT) return fd;
  proc_path(path, sizeof path, "/proc/self/", name);
  return open(path, flags);
}

ssize_t pt__os_readlink_proc(const char* name, char* out, size_t size) {
  char path[96];
  proc_path(path, sizeof path, "/proc/thread-self/", name);
  ssize_t n = readlink(path, out, size);
  if (n >= 0 || errno != ENOENT) return n;
  proc_path(path, sizeof path, "/proc/self/", name);
  return readlink(path, out, size);
}

/* Resident pages from a statm file; 0 if unreadable or empty. */
static size_t statm_resident_pages(int fd) {
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* s = buf;
  while (*s && *s != ' ') s++; /* skip total program size; the second field is resident pages */
  size_t pages = 0;
  while (*s == ' ') s++;
  while (*s >= '0' && *s <= '9') pages = pages * 10 + (size_t)(*s++ - '0');
  return pages;
}

/* /proc/self/statm, not thread-self's, although the timeline reads it up to 100 times a second
 * from whichever thread allocates: every thread opening its own /proc/PID/task/TID entries made
 * the kernel's reaping of a child (release_task -> proc_invalidate_siblings_dcache -> d_walk)
 * spin for up to 20 s in a process whose other thread kept allocating (tests/stress fork_loop,
 * tracked: a child in four runs "HUNG"). thread-self only where /proc/self reads as empty: after
 * the main thread called pthread_exit (see pt__os_open_proc). */
size_t pt__os_rss(void) {
  int saved = errno;
  size_t pages = statm_resident_pages(open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
  if (!pages) pages = statm_resident_pages(pt__os_open_proc("statm", O_RDONLY | O_CLOEXEC));
  errno = saved;
  return pages * (size_t)sysconf(_SC_PAGESIZE);
}

void pt__os_write_stderr(const char* msg) {
  int saved = errno;
  size_t len = strlen(msg);
  while (len > 0) {
    ssize_t w = write(2, msg, len);
    if (w <= 0) break;
    msg += w;
    len -= (size_t)w;
  }
  errno = saved;
}

size_t pt__fmt_u64(char* out, uint64_t v) {
  char tmp[24];
  size_t i = 0, n = 0;
  do {
    tmp[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i) out[n++] = tmp[--i];
  out[n] = 0;
  return n;
}

size_t pt__fmt_i64(char* out, int64_t v) {
  if (v >= 0) return pt__fmt_u64(out, (uint64_t)v);
  out[0] = '-';
  return 1 + pt__fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

size_t pt__fmt_hex(char* out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  char tmp[20];
  size_t i = 0, n = 2;
  do {
    tmp[i++] = digits[v & 15];
    v >>= 4;
  } while (v);
  out[0] = '0';
  out[1] = 'x';
  while (i) out[n++] = tmp[--i];
  out[n] = 0;
  return n;
}
