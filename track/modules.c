/* modules.c - see modules.h. The build-id is read from the object's own PT_NOTE segment in memory
 * (no file I/O), so the report can tell a rebuilt binary from the one that ran. The table is
 * reserved address space and only grows; refreshes are serialised by a spin flag (new modules are
 * rare) and the fork child clears it. */
#define _GNU_SOURCE
#include "modules.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../pools/atomic.h"
#include "../pools/os.h"
#include "leaks.h"
#include "track.h"

#define MODULES_MAX 8192

static pt_module_t* table;
static _Atomic size_t count;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
static _Atomic int busy;
static uint64_t generation; /* bumped per refresh; entries seen in it are present */
static uint64_t* seen_in;   /* per entry: generation of the last refresh that saw it */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void read_build_id(const struct dl_phdr_info* info, char* out) {
  out[0] = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const uint8_t* p = (const uint8_t*)(info->dlpi_addr + ph->p_vaddr);
    const uint8_t* end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr)* n = (const ElfW(Nhdr)*)p;
      const uint8_t* name = p + sizeof *n;
      const uint8_t* desc = name + ((n->n_namesz + 3) & ~3u);
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 && n->n_descsz <= 20) {
        static const char hex[] = "0123456789abcdef";
        for (uint32_t k = 0; k < n->n_descsz; k++) {
          out[2 * k] = hex[desc[k] >> 4];
          out[2 * k + 1] = hex[desc[k] & 15];
        }
        out[2 * n->n_descsz] = 0;
        return;
      }
      p = desc + ((n->n_descsz + 3) & ~3u);
    }
  }
}

typedef struct walk_s {
  bool first, changed;
} walk_t;

static void visit_object(const struct dl_phdr_info* info) {
  const char* path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : NULL;
  size_t n = pt_load_relaxed(&count);
  for (size_t i = 0; i < n; i++) { /* known and still loaded? */
    if (table[i].unloaded_ns == 0 && table[i].base == info->dlpi_addr &&
        strcmp(table[i].loader_name, path ? path : "") == 0) {
      seen_in[i] = generation;
      return;
    }
  }
  if (n >= MODULES_MAX) return;
  pt_module_t* m = &table[n];
  memset(m, 0, sizeof *m);
  if (path) {
    strncpy(m->path, path, sizeof m->path - 1);
    strncpy(m->loader_name, path, sizeof m->loader_name - 1);
  }
  m->base = info->dlpi_addr;
  read_build_id(info, m->build_id);
  for (int i = 0; i < info->dlpi_phnum && m->nsegments < PT_MODULE_SEGMENTS; i++) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    m->segments[m->nsegments].vaddr = ph->p_vaddr;
    m->segments[m->nsegments].memsz = ph->p_memsz;
    m->segments[m->nsegments].flags = ph->p_flags;
    m->nsegments++;
  }
  m->loaded_ns = now_ns();
  seen_in[n] = generation;
  pt_store_release(&count, n + 1);
}

static int visit(struct dl_phdr_info* info, size_t size, void* arg) {
  (void)size;
  walk_t* walk = arg;
  if (walk->first) { /* the counters say whether anything changed since the last refresh */
    walk->first = false;
    if (info->dlpi_adds == seen_adds && info->dlpi_subs == seen_subs) return 1;
    if (info->dlpi_subs != seen_subs) pt_track_unwind_flush(); /* also unloads dlclose did not see */
    seen_adds = info->dlpi_adds;
    seen_subs = info->dlpi_subs;
    walk->changed = true;
  }
  visit_object(info);
  return 0;
}

/* A process forked while another thread held the loader's list lock (in a dlopen, a dlclose, a
 * dl_iterate_phdr of the program's) has it held for ever: dl_iterate_phdr there waited, and the
 * child hung writing its trace at exit. So a forked process with one thread reads the list itself,
 * as a debugger does: no other thread can change it meanwhile. The list is the link maps of the
 * program's namespace (dlmopen's others are left out); each object's program headers are found
 * from its ELF header, at the start of its mapping (_dl_find_object, which takes no lock), the
 * main program's too (the auxiliary vector's are ld.so's when ld.so was run as the command).
 * With more threads, dl_iterate_phdr it is. */
static bool forked; /* since the program image began */

#if defined(DLFO_EH_SEGMENT_TYPE)
static bool one_thread(void) {
  struct stat st;
  return stat("/proc/self/task", &st) == 0 && st.st_nlink == 3; /* ".", ".." and the thread */
}

static bool headers_of(const struct link_map* l, struct dl_phdr_info* info) {
  memset(info, 0, sizeof *info);
  info->dlpi_addr = l->l_addr;
  info->dlpi_name = l->l_name;
  struct dl_find_object found;
  if (!l->l_ld || _dl_find_object((void*)l->l_ld, &found) != 0 || found.dlfo_link_map != l) return false;
  const ElfW(Ehdr)* eh = found.dlfo_map_start;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phentsize != sizeof(ElfW(Phdr))) return false;
  uintptr_t first = (uintptr_t)eh + eh->e_phoff, end = first + (uintptr_t)eh->e_phnum * sizeof(ElfW(Phdr));
  if (end > (uintptr_t)found.dlfo_map_end) return false;
  info->dlpi_phdr = (const ElfW(Phdr)*)first;
  info->dlpi_phnum = eh->e_phnum;
  return true;
}

static bool walk_link_maps(void) {
  struct dl_find_object own;
  if (!forked || !one_thread() || _dl_find_object((void*)(uintptr_t)&walk_link_maps, &own) != 0 ||
      !own.dlfo_link_map)
    return false;
  const struct link_map* l = own.dlfo_link_map;
  for (unsigned steps = 0; l->l_prev && steps < MODULES_MAX; steps++) l = l->l_prev;
  for (unsigned steps = 0; l && steps < MODULES_MAX; l = l->l_next, steps++) {
    struct dl_phdr_info info;
    if (headers_of(l, &info)) visit_object(&info);
  }
  seen_adds = seen_subs = ~0ull; /* dl_iterate_phdr's next refresh is a full one */
  return true;
}
#else
static bool walk_link_maps(void) { return false; }
#endif

void pt_track_exe_path(char* out, size_t size) {
  ssize_t len = pt__os_readlink_proc("exe", out, size - 1);
  if (len > 0) {
    out[len] = 0;
    return;
  }
  const char* started_as = (const char*)getauxval(AT_EXECFN);
  size_t n = started_as ? strnlen(started_as, size - 1) : 0;
  memcpy(out, started_as ? started_as : "", n);
  out[n] = 0;
}

/* The main program has an empty dlpi_name: give it its real path. */
static void name_main_program(void) {
  size_t n = pt_load_relaxed(&count);
  for (size_t i = 0; i < n; i++)
    if (!table[i].path[0]) pt_track_exe_path(table[i].path, sizeof table[i].path);
}

void pt_track_modules_refresh(void) {
  int expected = 0;
  if (!pt_cas_strong_acq_rel(&busy, &expected, 1)) return; /* another thread is looking */
  if (!table) {
    table = pt__os_reserve(MODULES_MAX * sizeof *table, 4096);
    seen_in = pt__os_reserve(MODULES_MAX * sizeof *seen_in, 4096);
    pt_track_leaks_exclude(table, MODULES_MAX * sizeof *table);
    pt_track_leaks_exclude(seen_in, MODULES_MAX * sizeof *seen_in);
  }
  if (table && seen_in) {
    generation++;
    walk_t walk = {true, false};
    if (walk_link_maps()) walk.changed = true;
    else dl_iterate_phdr(visit, &walk);
    if (walk.changed) { /* a full walk: entries it did not see were unloaded */
      name_main_program();
      size_t n = pt_load_relaxed(&count);
      uint64_t t = now_ns();
      bool unloaded = false;
      for (size_t i = 0; i < n; i++)
        if (table[i].unloaded_ns == 0 && seen_in[i] != generation) {
          table[i].unloaded_ns = t;
          unloaded = true;
        }
      if (unloaded) pt_track_unwind_flush(); /* the list walk has no counters to tell */
    }
  }
  pt_store_release(&busy, 0);
}

size_t pt_track_modules_count(void) { return pt_load_acquire(&count); }
const pt_module_t* pt_track_module(size_t i) { return &table[i]; }

bool pt_track_module_code_contains(uintptr_t addr) {
  size_t n = pt_track_modules_count();
  for (size_t i = 0; i < n; i++) {
    const pt_module_t* m = &table[i];
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t start = m->base + m->segments[s].vaddr;
      if ((m->segments[s].flags & PF_X) && addr >= start && addr < start + m->segments[s].memsz) return true;
    }
  }
  return false;
}

bool pt_track_module_text_of(const void* addr, uintptr_t* lo, uintptr_t* hi) {
  pt_track_modules_refresh();
  size_t n = pt_track_modules_count();
  for (size_t i = 0; i < n; i++) {
    const pt_module_t* m = &table[i];
    uintptr_t a = (uintptr_t)addr;
    for (uint32_t s = 0; s < m->nsegments; s++) {
      uintptr_t start = m->base + m->segments[s].vaddr, end = start + m->segments[s].memsz;
      if (a >= start && a < end) {
        *lo = UINTPTR_MAX;
        *hi = 0;
        for (uint32_t k = 0; k < m->nsegments; k++) {
          if (!(m->segments[k].flags & PF_X)) continue;
          uintptr_t s0 = m->base + m->segments[k].vaddr;
          if (s0 < *lo) *lo = s0;
          if (s0 + m->segments[k].memsz > *hi) *hi = s0 + m->segments[k].memsz;
        }
        return *lo < *hi;
      }
    }
  }
  return false;
}

void pt_track_modules_fork_child(void) {
  pt_store_relaxed(&busy, 0);
  forked = true;
}
