/* util.c - see util.h. */
#define _GNU_SOURCE /* vasprintf */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void out_of_memory(size_t n) {
  fprintf(stderr, "ptmem-report: out of memory (asked for %zu bytes)\n", n);
  exit(RP_EXIT_USAGE);
}

void* rp_xmalloc(size_t n) {
  void* p = malloc(n ? n : 1);
  if (!p) out_of_memory(n);
  return p;
}

void* rp_xcalloc(size_t count, size_t n) {
  void* p = calloc(count ? count : 1, n ? n : 1);
  if (!p) out_of_memory(count * n);
  return p;
}

void* rp_xrealloc(void* p, size_t count, size_t n) {
  if (n && count > SIZE_MAX / n) out_of_memory(SIZE_MAX);
  size_t bytes = count * n;
  void* q = realloc(p, bytes ? bytes : 1);
  if (!q) out_of_memory(bytes);
  return q;
}

char* rp_xstrdup(const char* s) { return rp_xstrndup(s, strlen(s)); }

char* rp_xstrndup(const char* s, size_t n) {
  char* d = rp_xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char* rp_xprintf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char* s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) out_of_memory(strlen(fmt));
  va_end(ap);
  return s;
}

void rp_die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ptmem-report: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(RP_EXIT_USAGE);
}

void rp_warn(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ptmem-report: warning: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void rp_str_addn(rp_str_t* b, const char* s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->n + n + 1) cap *= 2;
    b->s = rp_xrealloc(b->s, cap, 1);
    b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}

void rp_str_add(rp_str_t* b, const char* s) { rp_str_addn(b, s, strlen(s)); }

void rp_str_addf(rp_str_t* b, const char* fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    rp_str_addn(b, small, (size_t)n);
    return;
  }
  char* big = rp_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  rp_str_addn(b, big, (size_t)n);
  free(big);
}

void rp_str_clear(rp_str_t* b) {
  b->n = 0;
  if (b->s) b->s[0] = 0;
}

void rp_str_free(rp_str_t* b) {
  free(b->s);
  *b = (rp_str_t){0};
}

bool rp_read_file(const char* path, rp_str_t* out, char* err, size_t errsize) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) rp_str_addn(out, buf, got);
  int failed = ferror(f);
  int saved = errno;
  fclose(f);
  if (failed) {
    snprintf(err, errsize, "%s: read error: %s", path, strerror(saved));
    return false;
  }
  rp_str_add(out, "");
  return true;
}

const char* rp_fmt_bytes(uint64_t bytes, char buf[32]) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) {
    snprintf(buf, 32, "%" PRIu64 " B", bytes);
    return buf;
  }
  double v = (double)bytes;
  unsigned u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  /* The format is chosen by the value as it will be rounded: 1048575 bytes is "1.00 MiB", not
   * "1024 KiB", and 10235 bytes "10.0 KiB", not "10.00 KiB". */
  if (v >= 1023.5 && u < 5) {
    v /= 1024;
    u++;
  }
  snprintf(buf, 32, v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

const char* rp_fmt_duration(uint64_t ns, char buf[32]) {
  if (ns >= 1000000000u)
    snprintf(buf, 32, "%.2f s", (double)ns / 1e9);
  else if (ns >= 1000000u)
    snprintf(buf, 32, "%.1f ms", (double)ns / 1e6);
  else if (ns >= 1000u)
    snprintf(buf, 32, "%.0f us", (double)ns / 1e3);
  else
    snprintf(buf, 32, "%u ns", (unsigned)ns);
  return buf;
}

bool rp_parse_size(const char* text, uint64_t* out) {
  if (!text || !*text || !(isdigit((unsigned char)*text) || *text == '.')) return false;
  errno = 0;
  char* end;
  double v = strtod(text, &end);
  if (errno || end == text || v < 0 || !isfinite(v)) return false;
  double mult = 1;
  switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
  }
  if (mult > 1 && toupper((unsigned char)*end) == 'I') end++;
  if (toupper((unsigned char)*end) == 'B') end++;
  if (*end) return false;
  double bytes = v * mult;
  if (bytes >= 18446744073709551615.0) return false;
  *out = (uint64_t)bytes;
  return true;
}

uint64_t rp_hash_bytes(const void* p, size_t n, uint64_t seed) {
  const unsigned char* b = p;
  uint64_t h = 1469598103934665603ull ^ seed;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

const char* rp_basename(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}
