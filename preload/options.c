/* options.c - the only place ptmem reads the environment. */
#define _GNU_SOURCE
#include "options.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "os.h"

extern char** environ;

ptmem_options_t ptmem_options = {
#define PTMEM_OPTION_DEFAULT(NAME, field, def, lo, hi, what) .field = def,
    PTMEM_OPTIONS(PTMEM_OPTION_DEFAULT)
#undef PTMEM_OPTION_DEFAULT
#define PTMEM_STRING_DEFAULT(NAME, field, def, what) .field = def,
    PTMEM_STRING_OPTIONS(PTMEM_STRING_DEFAULT)
#undef PTMEM_STRING_DEFAULT
};

static bool parse_int(const char* s, int64_t* out) {
  if (!*s) return false;
  int64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return true;
}

static void report_invalid(const char* name, const char* value, int64_t lo, int64_t hi, int64_t def) {
  char a[24], b[24], c[24];
  pt__fmt_i64(a, lo);
  pt__fmt_i64(b, hi);
  pt__fmt_i64(c, def);
  pt__os_write_stderr("ptmem: PTMEM_");
  pt__os_write_stderr(name);
  pt__os_write_stderr("=");
  pt__os_write_stderr(value);
  pt__os_write_stderr(" is invalid: expected an integer from ");
  pt__os_write_stderr(a);
  pt__os_write_stderr(" to ");
  pt__os_write_stderr(b);
  pt__os_write_stderr("; using the default ");
  pt__os_write_stderr(c);
  pt__os_write_stderr("\n");
}

static void report_invalid_string(const char* name, size_t len, size_t max, const char* def) {
  char a[24], b[24];
  pt__fmt_i64(a, (int64_t)len);
  pt__fmt_i64(b, (int64_t)max);
  pt__os_write_stderr("ptmem: PTMEM_");
  pt__os_write_stderr(name);
  pt__os_write_stderr(" is invalid: ");
  pt__os_write_stderr(a);
  pt__os_write_stderr(" characters, expected 1 to ");
  pt__os_write_stderr(b);
  pt__os_write_stderr("; using the default ");
  pt__os_write_stderr(def);
  pt__os_write_stderr("\n");
}

static void apply(const char* entry) {
  if (strncmp(entry, "PTMEM_", 6) != 0) return;
  const char* key = entry + 6;
  const char* eq = strchr(key, '=');
  if (!eq) return;
  size_t klen = (size_t)(eq - key);
  const char* value = eq + 1;
#define PTMEM_OPTION_PARSE(NAME, field, def, lo, hi, what)                                            \
  if (klen == sizeof(#NAME) - 1 && memcmp(key, #NAME, klen) == 0) {                                  \
    int64_t v;                                                                                       \
    if (parse_int(value, &v) && v >= (lo) && v <= (hi)) ptmem_options.field = v;                     \
    else report_invalid(#NAME, value, lo, hi, def);                                                  \
    return;                                                                                          \
  }
  PTMEM_OPTIONS(PTMEM_OPTION_PARSE)
#undef PTMEM_OPTION_PARSE
#define PTMEM_STRING_PARSE(NAME, field, def, what)                                                    \
  if (klen == sizeof(#NAME) - 1 && memcmp(key, #NAME, klen) == 0) {                                  \
    size_t vlen = strlen(value);                                                                     \
    if (vlen > 0 && vlen < sizeof ptmem_options.field) memcpy(ptmem_options.field, value, vlen + 1); \
    else report_invalid_string(#NAME, vlen, sizeof ptmem_options.field - 1, def);                    \
    return;                                                                                          \
  }
  PTMEM_STRING_OPTIONS(PTMEM_STRING_PARSE)
#undef PTMEM_STRING_PARSE
}

/* Early in process start-up the C library may not have set `environ` yet: read the kernel's copy. */
static void load_from_proc(void) {
  static char buf[64 * 1024];
  int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  buf[len] = 0;
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1) apply(buf + i);
}

void ptmem_options_load(void) {
  if (environ) {
    for (char** e = environ; *e; e++) apply(*e);
  } else {
    load_from_proc();
  }
  if (ptmem_options.log) {
    char v[24];
#define PTMEM_OPTION_LOG(NAME, field, def, lo, hi, what)                                              \
  pt__fmt_i64(v, ptmem_options.field);                                                                \
  pt__os_write_stderr("ptmem: PTMEM_" #NAME "=");                                                    \
  pt__os_write_stderr(v);                                                                            \
  pt__os_write_stderr("  (" what ")\n");
    PTMEM_OPTIONS(PTMEM_OPTION_LOG)
#undef PTMEM_OPTION_LOG
#define PTMEM_STRING_LOG(NAME, field, def, what)                                                      \
  pt__os_write_stderr("ptmem: PTMEM_" #NAME "=");                                                    \
  pt__os_write_stderr(ptmem_options.field);                                                          \
  pt__os_write_stderr("  (" what ")\n");
    PTMEM_STRING_OPTIONS(PTMEM_STRING_LOG)
#undef PTMEM_STRING_LOG
  }
}
