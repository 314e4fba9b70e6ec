/* util.h - small helpers of ptmem-report: checked allocation (the tool is a normal program: running
 * out of memory ends it with a message), growable arrays, a string builder, byte-size formatting and
 * parsing, and the one way errors leave the tool (exit codes of docs/report.md). */
#ifndef PTMEM_REPORT_UTIL_H
#define PTMEM_REPORT_UTIL_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { RP_EXIT_CLEAN = 0, RP_EXIT_GATE = 1, RP_EXIT_USAGE = 2 };

void* rp_xmalloc(size_t n);
void* rp_xcalloc(size_t count, size_t n);
void* rp_xrealloc(void* p, size_t count, size_t n);
char* rp_xstrdup(const char* s);
char* rp_xstrndup(const char* s, size_t n);
char* rp_xprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "ptmem-report: <message>" on stderr and exits with RP_EXIT_USAGE (2). */
_Noreturn void rp_die(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void rp_warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable array of T: RP_VEC(T) v = {0}; RP_PUSH(v, x); v.v[i], v.n. */
#define RP_VEC(T) struct { T* v; size_t n, cap; }
#define RP_RESERVE(vec, want)                                                                      \
  do {                                                                                             \
    if ((want) > (vec).cap) {                                                                      \
      size_t rp_cap_ = (vec).cap ? (vec).cap * 2 : 16;                                             \
      while (rp_cap_ < (want)) rp_cap_ *= 2;                                                       \
      (vec).v = rp_xrealloc((vec).v, rp_cap_, sizeof *(vec).v);                                    \
      (vec).cap = rp_cap_;                                                                         \
    }                                                                                              \
  } while (0)
#define RP_PUSH(vec, x)                                                                            \
  do {                                                                                             \
    RP_RESERVE(vec, (vec).n + 1);                                                                  \
    (vec).v[(vec).n++] = (x);                                                                      \
  } while (0)

/* A string builder; s is always NUL-terminated after the first append. */
typedef struct rp_str_s {
  char* s;
  size_t n, cap;
} rp_str_t;
void rp_str_add(rp_str_t* b, const char* s);
void rp_str_addn(rp_str_t* b, const char* s, size_t n);
void rp_str_addf(rp_str_t* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_str_clear(rp_str_t* b);
void rp_str_free(rp_str_t* b);

/* The whole file into `out` (always NUL-terminated, even when empty); false with
 * "FILE: cannot open: ..." or "FILE: read error: ..." in err. */
bool rp_read_file(const char* path, rp_str_t* out, char* err, size_t errsize);

/* "1.50 MiB", "512 B": binary units, three significant digits. */
const char* rp_fmt_bytes(uint64_t bytes, char buf[32]);
/* "1.25 s", "15 ms", "300 us". */
const char* rp_fmt_duration(uint64_t ns, char buf[32]);
/* Parses "4096", "64K", "64KiB", "1.5M", "2G" (binary units, case-insensitive, optional B). */
bool rp_parse_size(const char* text, uint64_t* out);

/* FNV-1a, for hash tables keyed by strings or words. */
uint64_t rp_hash_bytes(const void* p, size_t n, uint64_t seed);
const char* rp_basename(const char* path);

#endif
