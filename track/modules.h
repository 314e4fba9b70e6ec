/* modules.h - the table of loaded objects (path, load address, build-id, segments), kept across
 * dlclose so that stacks from an unloaded library still symbolize in the report. */
#ifndef PTMEM_TRACK_MODULES_H
#define PTMEM_TRACK_MODULES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_MODULE_SEGMENTS 8
typedef struct pt_module_s {
  char path[512];
  char loader_name[512]; /* dlpi_name as the loader gives it ("" for the program): the match key */
  char build_id[41]; /* hex, empty if the object has none */
  uintptr_t base;    /* load bias (dlpi_addr) */
  uint32_t nsegments;
  struct {
    uintptr_t vaddr, memsz; /* unrelocated p_vaddr */
    uint32_t flags;         /* PF_R | PF_W | PF_X */
  } segments[PT_MODULE_SEGMENTS];
  uint64_t loaded_ns, unloaded_ns; /* CLOCK_MONOTONIC; unloaded_ns 0 while loaded */
} pt_module_t;

/* Look at the loaded objects again if any was added or removed since the last look. Cheap when
 * nothing changed: dl_iterate_phdr stops at its first callback. */
void pt_track_modules_refresh(void);
size_t pt_track_modules_count(void);
const pt_module_t* pt_track_module(size_t i);
/* Text (executable segments) range of the object containing `addr`; false if none does. */
bool pt_track_module_text_of(const void* addr, uintptr_t* lo, uintptr_t* hi);
void pt_track_modules_fork_child(void);
/* The program's path: /proc/self/exe, else (no /proc: a chroot, a new mount namespace) the path it
 * was started by (AT_EXECFN, as given to execve: perhaps relative). "" if neither is known. */
void pt_track_exe_path(char* out, size_t size);
/* True if addr is in an executable segment of some module (loaded now or before). */
bool pt_track_module_code_contains(uintptr_t addr);

#endif
