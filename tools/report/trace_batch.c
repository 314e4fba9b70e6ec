/* trace_batch.c - see trace_batch.h.
 * jansson makes a json_t (a malloc) of every array entry: reading a python3 trace of 3.3 MB, nine
 * tenths of it node, stack and site columns, took about 330 instructions per byte. Here a batch line
 * is scanned once into reused columns of integers. The accepted shape is the writer's:
 *   {"type":"T"[,"first":N],"KEY":[...],...}
 * with no whitespace, each expected key exactly once and no other, integers of at most 18 digits
 * without fraction or exponent, addresses "0x" plus 1 to 16 hex digits. Everything is checked
 * before anything is added to the trace, with the same rules as trace_read.c, so a false return
 * leaves the trace as it was and the jansson path reads the line again, to accept it or to name
 * its problem. */
#include "trace_batch.h"

#include <stdlib.h>
#include <string.h>

typedef struct schema_s {
  const char* type;
  bool first;                                   /* has a "first" id */
  const char* keys[RP_BATCH_MAX_COLUMNS + 1];   /* NULL-terminated */
  bool hex[RP_BATCH_MAX_COLUMNS];               /* "0x..." strings, else integers */
} schema_t;

enum { NODES, STACKS, SITES, TIMELINE, SCHEMAS };
static const schema_t schemas[SCHEMAS] = {
    [NODES] = {"nodes", true, {"parent", "module", "offset"}, {false, false, true}},
    [STACKS] = {"stacks", true, {"node"}, {false}},
    [SITES] = {"sites", false, {"stack", "allocs", "frees", "alloc_bytes", "live_bytes", "live_count", "peak_bytes", "temporary"}, {false}},
    [TIMELINE] = {"timeline", false, {"t_ns", "heap_bytes", "rss_bytes"}, {false}},
};

typedef struct scan_s {
  const char *p, *end;
} scan_t;

static bool take(scan_t* s, char c) {
  if (s->p == s->end || *s->p != c) return false;
  s->p++;
  return true;
}

/* A JSON integer that fits in 18 digits: -?(0|[1-9][0-9]*), followed by something that is not a
 * digit, '.', 'e' or 'E' (a number with a fraction is not an integer). */
static bool integer(scan_t* s, int64_t* out) {
  bool negative = take(s, '-');
  const char* start = s->p;
  uint64_t v = 0;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') v = v * 10 + (uint64_t)(*s->p++ - '0');
  size_t digits = (size_t)(s->p - start);
  if (digits == 0 || digits > 18 || (digits > 1 && *start == '0')) return false;
  if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')) return false;
  *out = negative ? -(int64_t)v : (int64_t)v;
  return true;
}

static bool address(scan_t* s, uint64_t* out) {
  if (!take(s, '"') || !take(s, '0') || !(take(s, 'x') || take(s, 'X'))) return false;
  uint64_t v = 0;
  int digits = 0;
  for (; s->p < s->end && *s->p != '"'; s->p++, digits++) {
    char c = *s->p;
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
               : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
    if (d == 16 || digits == 16) return false;
    v = v << 4 | d;
  }
  if (digits == 0 || !take(s, '"')) return false;
  *out = v;
  return true;
}

static bool column(scan_t* s, bool hex, rp_batch_column_t* col) {
  col->n = 0;
  if (!take(s, '[')) return false;
  if (take(s, ']')) return true;
  do {
    uint64_t v = 0;
    int64_t i = 0;
    if (hex ? !address(s, &v) : !integer(s, &i)) return false;
    RP_PUSH(*col, hex ? v : (uint64_t)i);
  } while (take(s, ','));
  return take(s, ']');
}

/* The schema of the line's type, when the line starts {"type":"T" with a batch type T. */
static const schema_t* schema_of(scan_t* s) {
  static const char prefix[] = "{\"type\":\"";
  size_t n = sizeof prefix - 1;
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, prefix, n) != 0) return NULL;
  s->p += n;
  for (int i = 0; i < SCHEMAS; i++) {
    size_t len = strlen(schemas[i].type);
    if ((size_t)(s->end - s->p) > len && memcmp(s->p, schemas[i].type, len) == 0 && s->p[len] == '"') {
      s->p += len + 1;
      return &schemas[i];
    }
  }
  return NULL;
}

static bool parse(rp_batch_t* b, const schema_t* sc, scan_t* s) {
  bool seen[RP_BATCH_MAX_COLUMNS] = {false}, seen_first = false;
  size_t ncols = 0;
  while (sc->keys[ncols]) ncols++;
  while (take(s, ',')) {
    if (!take(s, '"')) return false;
    const char* key = s->p;
    while (s->p < s->end && *s->p != '"' && *s->p != '\\') s->p++;
    size_t klen = (size_t)(s->p - key);
    if (!take(s, '"') || !take(s, ':')) return false;
    if (sc->first && klen == 5 && memcmp(key, "first", 5) == 0) {
      if (seen_first || !integer(s, &b->first)) return false;
      seen_first = true;
      continue;
    }
    size_t k = 0;
    while (k < ncols && !(strlen(sc->keys[k]) == klen && memcmp(sc->keys[k], key, klen) == 0)) k++;
    if (k == ncols || seen[k] || !column(s, sc->hex[k], &b->col[k])) return false;
    seen[k] = true;
  }
  if (!take(s, '}') || s->p != s->end || seen_first != sc->first) return false;
  b->rows = b->col[0].n;
  for (size_t k = 0; k < ncols; k++)
    if (!seen[k] || b->col[k].n != b->rows) return false;
  return true;
}

/* ---- the checks of trace_read.c, then the rows ------------------------------------------------- */

static bool add_nodes(rp_batch_t* b, rp_trace_t* t) {
  if (b->first != (int64_t)t->nodes.n) return false;
  for (size_t i = 0; i < b->rows; i++) {
    int64_t parent = (int64_t)b->col[0].v[i], module = (int64_t)b->col[1].v[i];
    /* a parent is defined before its child, possibly earlier in this batch */
    if (parent < 0 || parent >= (int64_t)(t->nodes.n + i) || module < -1 || module >= (int64_t)t->modules.n) return false;
  }
  RP_RESERVE(t->nodes, t->nodes.n + b->rows);
  for (size_t i = 0; i < b->rows; i++)
    t->nodes.v[t->nodes.n++] = (rp_node_t){(uint32_t)b->col[0].v[i], (int32_t)(int64_t)b->col[1].v[i], b->col[2].v[i]};
  return true;
}

static bool add_stacks(rp_batch_t* b, rp_trace_t* t) {
  if (b->first != (int64_t)t->stacks.n) return false;
  for (size_t i = 0; i < b->rows; i++)
    if ((int64_t)b->col[0].v[i] < 0 || (int64_t)b->col[0].v[i] >= (int64_t)t->nodes.n) return false;
  RP_RESERVE(t->stacks, t->stacks.n + b->rows);
  for (size_t i = 0; i < b->rows; i++) t->stacks.v[t->stacks.n++] = (uint32_t)b->col[0].v[i];
  return true;
}

static uint64_t clamped(uint64_t v) { return (int64_t)v < 0 ? 0 : v; }

static bool add_sites(rp_batch_t* b, rp_trace_t* t) {
  for (size_t i = 0; i < b->rows; i++) {
    int64_t stack = (int64_t)b->col[0].v[i];
    if (stack != 1 && (stack < 2 || stack >= (int64_t)t->stacks.n)) return false;
    /* live_bytes, live_count, peak_bytes may be negative (the writer sums per-thread rows): clamped */
    for (int k = 1; k < 8; k++)
      if ((k < 4 || k > 6) && (int64_t)b->col[k].v[i] < 0) return false;
  }
  RP_RESERVE(t->sites, t->sites.n + b->rows);
  for (size_t i = 0; i < b->rows; i++)
    t->sites.v[t->sites.n++] = (rp_site_t){(uint32_t)b->col[0].v[i], b->col[1].v[i], b->col[2].v[i], b->col[3].v[i],
                                           clamped(b->col[4].v[i]), clamped(b->col[5].v[i]), clamped(b->col[6].v[i]), b->col[7].v[i]};
  return true;
}

static bool add_timeline(rp_batch_t* b, rp_trace_t* t) {
  for (size_t i = 0; i < b->rows; i++)
    if ((int64_t)b->col[0].v[i] < 0 || (int64_t)b->col[2].v[i] < 0) return false;
  RP_RESERVE(t->timeline, t->timeline.n + b->rows);
  for (size_t i = 0; i < b->rows; i++)
    t->timeline.v[t->timeline.n++] = (rp_sample_t){b->col[0].v[i], clamped(b->col[1].v[i]), b->col[2].v[i]};
  return true;
}

bool rp_batch_read(rp_batch_t* b, rp_trace_t* t, const char* line, size_t len) {
  scan_t s = {line, line + len};
  const schema_t* sc = schema_of(&s);
  if (!sc || !parse(b, sc, &s)) return false;
  switch (sc - schemas) {
    case NODES: return add_nodes(b, t);
    case STACKS: return add_stacks(b, t);
    case SITES: return add_sites(b, t);
    default: return add_timeline(b, t);
  }
}

void rp_batch_free(rp_batch_t* b) {
  for (int k = 0; k < RP_BATCH_MAX_COLUMNS; k++) free(b->col[k].v);
  *b = (rp_batch_t){0};
}
