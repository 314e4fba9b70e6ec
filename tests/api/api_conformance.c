/* api_conformance.c - the malloc family's contract as programs rely on it, checked on whatever
 * allocator the process runs with: ptmem under LD_PRELOAD (test api_conformance), or glibc itself
 * (test api_conformance_glibc), which proves every shared check can pass on the reference.
 * ptmem-only checks (every symbol exported by libptmem.so, honest mallinfo2 numbers, free_sized,
 * foreign pointers, pvalloc(0)) run only when ptmem is loaded.
 *
 * Usage: api_conformance [--expect=ptmem|--expect=glibc] [--no-fork] [section...]
 * Each section runs in its own forked child so that a crash in one is reported by name and does
 * not hide the others; --no-fork runs them in-process (for a debugger). Naming sections runs only
 * those. Exit 0 = all passed, 1 = a section failed.
 *
 * Sizes and pointers go through hide()/escape() and the file is built with -fno-builtin, so the
 * compiler can neither fold "malloc(SIZE_MAX) == NULL" nor elide a malloc/free pair: every call
 * really reaches the allocator. */
#include "api_support.h"

/* ---- driver ---------------------------------------------------------------------------------------------- */

typedef struct {
  const char* name;
  void (*fn)(void);
} section_t;

static const section_t sections[] = {
    {"exports", section_exports},
    {"malloc_zero", section_malloc_zero},
    {"realloc", section_realloc},
    {"overflow", section_overflow},
    {"posix_memalign", section_posix_memalign},
    {"free", section_free},
    {"usable_size", section_usable_size},
    {"class_boundaries", section_class_boundaries},
    {"alignment", section_alignment},
    {"valloc_pvalloc", section_valloc_pvalloc},
    {"calloc", section_calloc},
    {"random_blocks", section_random_blocks},
    {"mallinfo", section_mallinfo},
    {"trim_info_stats", section_trim_info_stats},
    {"foreign", section_foreign},
    {"aliases", section_aliases},
};

/* 0 passed, 77 skipped, anything else failed. */
static int run_section(const section_t* s, bool use_fork) {
  if (!use_fork) {
    s->fn();
    return 0;
  }
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    s->fn();
    exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  fprintf(stderr, "section %s killed by signal %d\n", s->name, WTERMSIG(status));
  return 128 + WTERMSIG(status);
}

int main(int argc, char** argv) {
  const char* expect = NULL;
  bool use_fork = true;
  const char* only[64];
  int nonly = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--expect=", 9) == 0)
      expect = argv[i] + 9;
    else if (strcmp(argv[i], "--no-fork") == 0)
      use_fork = false;
    else if (nonly < 64)
      only[nonly++] = argv[i];
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  resolve_api();
  require_core_api();
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  under_ptmem = dlsym(RTLD_DEFAULT, "pt_pool_create") != NULL;
  printf("allocator: %s\n", under_ptmem ? "ptmem (libptmem.so preloaded)" : "system (glibc)");
  /* A preload that silently failed to load must not turn the ptmem test into a glibc test. */
  if (expect) CHECK_EQ(strcmp(expect, under_ptmem ? "ptmem" : "glibc"), 0);

  int failed = 0, ran = 0;
  for (size_t i = 0; i < ARRAY_LEN(sections); i++) {
    bool wanted = nonly == 0;
    for (int k = 0; k < nonly; k++) wanted |= strcmp(only[k], sections[i].name) == 0;
    if (!wanted) continue;
    ran++;
    int rc = run_section(&sections[i], use_fork);
    if (rc == 0)
      printf("PASS %s\n", sections[i].name);
    else if (rc == 77)
      printf("SKIP %s\n", sections[i].name);
    else {
      printf("FAIL %s (status %d)\n", sections[i].name, rc);
      failed++;
    }
  }
  CHECK(ran > 0);
  printf("%d section(s) failed\n", failed);
  return failed ? 1 : 0;
}

