/* symbolize_find.c - see symbolize_find.h.
 * libdw's dwfl_standard_find_debuginfo looks up the build-id, then the .gnu_debuglink, then asks
 * debuginfod, and for that it dlopens libdebuginfod with libcurl and gnutls on the first lookup of
 * every run, server or not: 12% of a small report's time. This is the same search without the
 * last step. The debuglink search follows libdw's rules for its debuginfo_path: an empty entry is
 * the file's own directory, a relative one a subdirectory of it, an absolute one a tree that
 * mirrors the file's directory (/usr/lib/debug/usr/bin/x.debug for /usr/bin/x). A candidate
 * counts only if its build-id is the module's: the build-id, not the CRC, says a file belongs. */
#include "symbolize_find.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* The file behind `fd` has the module's build-id (or the module has none to compare). */
static bool same_build(Dwfl_Module* mod, int fd) {
  const unsigned char* want;
  GElf_Addr vaddr;
  int want_len = dwfl_module_build_id(mod, &want, &vaddr);
  if (want_len <= 0) return true;
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (!elf) return false;
  const void* got;
  ssize_t got_len = dwelf_elf_gnu_build_id(elf, &got);
  bool same = got_len == want_len && memcmp(got, want, (size_t)want_len) == 0;
  elf_end(elf);
  return same;
}

static int try_candidate(Dwfl_Module* mod, char* path, const char* file_name, char** found) {
  /* the stripped file's own debuglink may name itself: it has no debug info to offer */
  if (file_name && strcmp(path, file_name) == 0) {
    free(path);
    return -1;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && same_build(mod, fd)) {
    *found = path;
    return fd;
  }
  if (fd >= 0) close(fd);
  free(path);
  return -1;
}

int rp_find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                      const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                      char** debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
                                        debuginfo_file_name);
  if (fd >= 0 || !debuglink_file || !*debuglink_file) return fd;
  if (debuglink_file[0] == '/') return try_candidate(mod, rp_xstrdup(debuglink_file), file_name, debuginfo_file_name);
  const char* slash = file_name ? strrchr(file_name, '/') : NULL;
  char* dir = slash ? rp_xstrndup(file_name, (size_t)(slash - file_name)) : rp_xstrdup(".");
  const char* search = *userdata ? *userdata : ""; /* the search path: rp_find_debuginfo_set_path */
  if (*search == '-') search++;                    /* "no CRC check": the build-id decides anyway */
  for (const char* p = search;;) {
    size_t n = strcspn(p, ":");
    char* candidate;
    if (n == 0)
      candidate = rp_xprintf("%s/%s", dir, debuglink_file);
    else if (*p == '/')
      candidate = dir[0] == '/' ? rp_xprintf("%.*s%s/%s", (int)n, p, dir, debuglink_file) : NULL;
    else
      candidate = rp_xprintf("%s/%.*s/%s", dir, (int)n, p, debuglink_file);
    if (candidate && (fd = try_candidate(mod, candidate, file_name, debuginfo_file_name)) >= 0) break;
    if (!p[n]) break;
    p += n + 1;
  }
  free(dir);
  return fd;
}

void rp_find_debuginfo_set_path(Dwfl_Module* mod, const char* debuginfo_path) {
  void** userdata;
  if (dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL)) *userdata = (void*)debuginfo_path;
}
