/* os.h - the operating system behind one small interface: reserve address space, give pages back,
 * release. Every call preserves errno, because free() must (glibc manual, "Replacing malloc"). */
#ifndef PTMEM_POOLS_OS_H
#define PTMEM_POOLS_OS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reserve `size` bytes aligned to `align` (a power of two >= the OS page), readable and writable,
 * committed lazily by the kernel on first touch. Returns NULL when the OS refuses. */
void* pt__os_reserve(size_t size, size_t align);
/* The same for memory the caller is about to use (a huge block): the kernel may refuse it as
 * more than it would ever commit, as it refuses glibc's. */
void* pt__os_map(size_t size, size_t align);
/* Return [p, p+size) to the OS. Failure (e.g. the VMA limit) leaves the range mapped, never aborts. */
void pt__os_release(void* p, size_t size);
/* Drop the physical pages of [p, p+size) so RSS falls; the range stays mapped and reads as zero. */
void pt__os_decommit(void* p, size_t size);
/* Commit [p, p+size) now (MADV_POPULATE_WRITE, Linux 5.14): for memory about to be written page
 * after page. A page fault costs some 11 us in this project's VMs and populating 1.1 us a page.
 * Nothing happens where the kernel lacks it (asked once). */
void pt__os_populate(void* p, size_t size);
/* Grow or shrink a mapping, moving it if needed to a new address aligned to `align`; NULL if the OS
 * refuses (the old mapping is then untouched). */
void* pt__os_remap(void* p, size_t old_size, size_t new_size, size_t align);
/* Milliseconds from a coarse monotonic clock (vDSO, no syscall): enough for purge delays. */
uint64_t pt__os_now_ms(void);
/* Resident set size of this process in bytes, from /proc/self/statm; 0 if unreadable. */
size_t pt__os_rss(void);
/* open() and readlink() of /proc/thread-self/NAME (the process, seen from the calling thread). */
int pt__os_open_proc(const char* name, int flags);
ssize_t pt__os_readlink_proc(const char* name, char* out, size_t size);
/* Write a message to stderr with write(2): no stdio, no malloc, usable inside the allocator. */
void pt__os_write_stderr(const char* msg);
/* Number formatting without stdio (snprintf may allocate): writes a NUL-terminated string into out
 * (at least 24 bytes) and returns its length. */
size_t pt__fmt_u64(char* out, uint64_t v);
size_t pt__fmt_i64(char* out, int64_t v);
size_t pt__fmt_hex(char* out, uint64_t v); /* "0x..." */

#endif
