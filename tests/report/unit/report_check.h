/* report_check.h - what the report's unit tests add to check.h: string comparisons that print both
 * sides, and input files written into a fresh temporary directory. */
#ifndef PTMEM_TESTS_REPORT_CHECK_H
#define PTMEM_TESTS_REPORT_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CHECK_STR(a, b)                                                                                      \
  do {                                                                                                       \
    const char* check_a_ = (a);                                                                              \
    const char* check_b_ = (b);                                                                              \
    if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                                         \
      fprintf(stderr, "%s:%d: CHECK_STR(%s, %s) failed:\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, #a,  \
              #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                           \
      exit(1);                                                                                               \
    }                                                                                                        \
  } while (0)

/* CHECK that `haystack` contains `needle`. */
#define CHECK_CONTAINS(haystack, needle)                                                                     \
  do {                                                                                                       \
    const char* check_h_ = (haystack);                                                                       \
    const char* check_n_ = (needle);                                                                         \
    if (!check_h_ || !strstr(check_h_, check_n_)) {                                                          \
      fprintf(stderr, "%s:%d: CHECK_CONTAINS(%s, %s) failed:\n  text:   %s\n  wanted: %s\n", __FILE__,       \
              __LINE__, #haystack, #needle, check_h_ ? check_h_ : "(null)", check_n_);                       \
      exit(1);                                                                                               \
    }                                                                                                        \
  } while (0)

/* A fresh directory for the test's input files; test_remove_tmpdir() deletes it at the end. */
static inline const char* test_tmpdir(void) {
  static char dir[256];
  if (!dir[0]) {
    const char* base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ptmem-report-unit-XXXXXX", base && *base ? base : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
  }
  return dir;
}

/* Writes `len` bytes of `text` to a file named `name` in the test directory; returns its path,
 * which the caller frees. */
static inline char* test_write_file(const char* name, const char* text, size_t len) {
  size_t n = strlen(test_tmpdir()) + strlen(name) + 2;
  char* path = malloc(n);
  CHECK(path != NULL);
  snprintf(path, n, "%s/%s", test_tmpdir(), name);
  FILE* f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK_UEQ(fwrite(text, 1, len, f), len);
  CHECK_EQ(fclose(f), 0);
  return path;
}

static inline void test_remove_tmpdir(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir());
  CHECK_EQ(system(cmd), 0);
}

#endif
