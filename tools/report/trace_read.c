/* trace_read.c - see trace_read.h. Each line is parsed on its own with jansson (json_loadb), its
 * fields checked and copied into the model, and the tree freed, so memory follows the trace's
 * contents, not its size. Ids must arrive in the order the writer produces them (modules 0, 1...,
 * node and stack batches consecutive, parents before children): that makes every reference
 * checkable the moment it is read, and a reference to something missing is an error at its line. */
#include "trace_read.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "trace_batch.h"

typedef struct reader_s {
  const char* name;
  const char* line; /* the current line, for columns of fields */
  size_t len;
  uint64_t lineno;
  rp_trace_t* t;
  rp_read_error_t* err;
  bool failed, seen_header, seen_summary;
  rp_batch_t batch; /* the fast path's columns */
} reader_t;

/* Column (1-based) of `"key"` in the current line, or 1: jansson keeps no positions of values. */
static unsigned column_of(const reader_t* r, const char* key) {
  if (!key) return 1;
  size_t klen = strlen(key);
  for (size_t i = 0; i + klen + 2 <= r->len; i++)
    if (r->line[i] == '"' && memcmp(r->line + i + 1, key, klen) == 0 && r->line[i + 1 + klen] == '"')
      return (unsigned)i + 1;
  return 1;
}

__attribute__((format(printf, 3, 4))) static bool fail(reader_t* r, const char* key, const char* fmt, ...) {
  if (r->failed) return false;
  r->failed = true;
  int n = snprintf(r->err->text, sizeof r->err->text, "%s:%" PRIu64 ":%u: ", r->name, r->lineno, column_of(r, key));
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof r->err->text) vsnprintf(r->err->text + n, sizeof r->err->text - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

static const char* type_name(const json_t* v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
  }
}

static json_t* field(reader_t* r, json_t* obj, const char* key, bool required) {
  json_t* v = json_object_get(obj, key);
  if (!v && required) fail(r, NULL, "record \"%s\" has no field \"%s\"", json_string_value(json_object_get(obj, "type")), key);
  return v;
}

static bool get_int(reader_t* r, json_t* obj, const char* key, bool required, int64_t min, int64_t* out) {
  json_t* v = field(r, obj, key, required);
  if (!v) return !required;
  if (!json_is_integer(v)) return fail(r, key, "field \"%s\" is %s, expected an integer", key, type_name(v));
  int64_t x = json_integer_value(v);
  if (x < min) return fail(r, key, "field \"%s\" is %" PRId64 ", expected at least %" PRId64, key, x, min);
  *out = x;
  return true;
}

static bool get_u64(reader_t* r, json_t* obj, const char* key, bool required, uint64_t* out) {
  int64_t x = 0;
  if (!get_int(r, obj, key, required, 0, &x)) return false;
  if (json_object_get(obj, key)) *out = (uint64_t)x;
  return true;
}

static bool get_bool(reader_t* r, json_t* obj, const char* key, bool* out) {
  json_t* v = json_object_get(obj, key);
  if (!v) return true;
  if (!json_is_boolean(v)) return fail(r, key, "field \"%s\" is %s, expected true or false", key, type_name(v));
  *out = json_is_true(v);
  return true;
}

static bool get_str(reader_t* r, json_t* obj, const char* key, bool required, char** out) {
  json_t* v = field(r, obj, key, required);
  if (!v) {
    if (!*out) *out = rp_xstrdup("");
    return !required;
  }
  if (!json_is_string(v)) return fail(r, key, "field \"%s\" is %s, expected a string", key, type_name(v));
  free(*out);
  *out = rp_xstrndup(json_string_value(v), json_string_length(v));
  return true;
}

static bool parse_hex(reader_t* r, const char* key, const json_t* v, uint64_t* out) {
  const char* s = json_string_value(v);
  if (!s) return fail(r, key, "field \"%s\" holds %s, expected an address string \"0x...\"", key, type_name(v));
  if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2]) return fail(r, key, "field \"%s\": \"%.40s\" is not a \"0x...\" address", key, s);
  char* end;
  errno = 0;
  unsigned long long x = strtoull(s + 2, &end, 16);
  if (errno || *end || s[2] == '-' || s[2] == '+' || s[2] == ' ')
    return fail(r, key, "field \"%s\": \"%.40s\" is not a hexadecimal address", key, s);
  *out = x;
  return true;
}

/* Column arrays of a batch record: all present, all arrays, all of one length. */
static bool columns(reader_t* r, json_t* obj, const char* const* keys, json_t** cols, size_t n, size_t* len) {
  for (size_t i = 0; i < n; i++) {
    cols[i] = field(r, obj, keys[i], true);
    if (!cols[i]) return false;
    if (!json_is_array(cols[i])) return fail(r, keys[i], "field \"%s\" is %s, expected an array", keys[i], type_name(cols[i]));
    if (i && json_array_size(cols[i]) != *len)
      return fail(r, keys[i], "column \"%s\" has %zu entries, \"%s\" has %zu", keys[i], json_array_size(cols[i]), keys[0], *len);
    *len = json_array_size(cols[i]);
  }
  return true;
}

static bool item_int(reader_t* r, const char* key, json_t* col, size_t i, int64_t min, int64_t* out) {
  json_t* v = json_array_get(col, i);
  if (!json_is_integer(v)) return fail(r, key, "entry %zu of \"%s\" is %s, expected an integer", i, key, type_name(v));
  *out = json_integer_value(v);
  if (*out < min) return fail(r, key, "entry %zu of \"%s\" is %" PRId64 ", expected at least %" PRId64, i, key, *out, min);
  return true;
}

static bool read_header(reader_t* r, json_t* o) {
  rp_trace_t* t = r->t;
  char* format = NULL;
  bool ok = get_str(r, o, "format", true, &format);
  if (ok && strcmp(format, RP_TRACE_FORMAT) != 0) ok = fail(r, "format", "format \"%.60s\" is not \"%s\"", format, RP_TRACE_FORMAT);
  free(format);
  int64_t version = 0, depth = 0;
  if (!ok || !get_int(r, o, "version", true, 1, &version)) return false;
  if (version > RP_TRACE_VERSION)
    return fail(r, "version", "trace format version %" PRId64 " is newer than this ptmem-report reads (%d): update ptmem",
                version, RP_TRACE_VERSION);
  if (!get_int(r, o, "pid", true, 0, &t->pid) || !get_int(r, o, "ppid", true, 0, &t->ppid)) return false;
  if (!get_str(r, o, "exe", true, &t->exe) || !get_str(r, o, "source", false, &t->source) ||
      !get_str(r, o, "unwinder", false, &t->unwinder) || !get_str(r, o, "leak_roots", false, &t->leak_roots))
    return false;
  if (!get_u64(r, o, "start_unix_ns", false, &t->start_unix_ns) || !get_u64(r, o, "sample_bytes", false, &t->sample_bytes) ||
      !get_u64(r, o, "page_size", false, &t->page_size) || !get_int(r, o, "depth", false, 0, &depth))
    return false;
  t->depth = (uint32_t)depth;
  json_t* argv = json_object_get(o, "argv");
  if (argv && !json_is_array(argv)) return fail(r, "argv", "field \"argv\" is %s, expected an array of strings", type_name(argv));
  for (size_t i = 0; argv && i < json_array_size(argv); i++) {
    json_t* a = json_array_get(argv, i);
    if (!json_is_string(a)) return fail(r, "argv", "entry %zu of \"argv\" is %s, expected a string", i, type_name(a));
    RP_PUSH(t->argv, rp_xstrndup(json_string_value(a), json_string_length(a)));
  }
  r->seen_header = true;
  return true;
}

static bool read_module(reader_t* r, json_t* o) {
  rp_trace_t* t = r->t;
  int64_t id = 0;
  if (!get_int(r, o, "id", true, 0, &id)) return false;
  if ((uint64_t)id != t->modules.n) return fail(r, "id", "module id %" PRId64 " out of order: expected %zu", id, t->modules.n);
  rp_module_t m = {0};
  json_t* base = field(r, o, "base", true);
  bool ok = base && parse_hex(r, "base", base, &m.base) && get_str(r, o, "path", true, &m.path) &&
            get_str(r, o, "build_id", false, &m.build_id);
  json_t* segs = json_object_get(o, "segments");
  if (ok && segs && !json_is_array(segs)) ok = fail(r, "segments", "field \"segments\" is %s, expected an array", type_name(segs));
  for (size_t i = 0; ok && segs && i < json_array_size(segs); i++) {
    json_t* s = json_array_get(segs, i);
    rp_segment_t seg = {0};
    json_t* vaddr = json_object_get(s, "vaddr");
    json_t* size = json_object_get(s, "size");
    if (!json_is_object(s) || !vaddr || !size) {
      ok = fail(r, "segments", "segment %zu needs \"vaddr\" and \"size\"", i);
      break;
    }
    ok = parse_hex(r, "vaddr", vaddr, &seg.vaddr);
    if (ok && json_is_integer(size) && json_integer_value(size) >= 0)
      seg.size = (uint64_t)json_integer_value(size);
    else if (ok)
      ok = parse_hex(r, "size", size, &seg.size);
    const char* perms = json_string_value(json_object_get(s, "perms"));
    snprintf(seg.perms, sizeof seg.perms, "%s", perms ? perms : "");
    if (ok) RP_PUSH(m.segments, seg);
  }
  m.unloaded = json_object_get(o, "unloaded_ns") != NULL;
  if (!ok) {
    free(m.path);
    free(m.build_id);
    free(m.segments.v);
    return false;
  }
  RP_PUSH(t->modules, m);
  return true;
}

static bool batch_start(reader_t* r, json_t* o, size_t expected, int64_t* first) {
  if (!get_int(r, o, "first", true, 0, first)) return false;
  if ((uint64_t)*first != expected)
    return fail(r, "first", "batch starts at %" PRId64 ", expected %zu (batches are consecutive)", *first, expected);
  return true;
}

static bool read_nodes(reader_t* r, json_t* o) {
  rp_trace_t* t = r->t;
  static const char* const keys[] = {"parent", "module", "offset"};
  json_t* cols[3];
  size_t n = 0;
  int64_t first;
  if (!batch_start(r, o, t->nodes.n, &first) || !columns(r, o, keys, cols, 3, &n)) return false;
  RP_RESERVE(t->nodes, t->nodes.n + n);
  for (size_t i = 0; i < n; i++) {
    int64_t parent, module;
    rp_node_t node;
    if (!item_int(r, "parent", cols[0], i, 0, &parent) || !item_int(r, "module", cols[1], i, -1, &module)) return false;
    if ((uint64_t)parent >= t->nodes.n)
      return fail(r, "parent", "node %zu has parent %" PRId64 ", which is not defined before it", t->nodes.n, parent);
    if (module >= (int64_t)t->modules.n)
      return fail(r, "module", "node %zu is in module %" PRId64 ", but the trace has %zu modules", t->nodes.n, module, t->modules.n);
    if (!parse_hex(r, "offset", json_array_get(cols[2], i), &node.offset)) return false;
    node.parent = (uint32_t)parent;
    node.module = (int32_t)module;
    t->nodes.v[t->nodes.n++] = node;
  }
  return true;
}

static bool read_stacks(reader_t* r, json_t* o) {
  rp_trace_t* t = r->t;
  static const char* const keys[] = {"node"};
  json_t* cols[1];
  size_t n = 0;
  int64_t first;
  if (!batch_start(r, o, t->stacks.n, &first) || !columns(r, o, keys, cols, 1, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    int64_t node;
    if (!item_int(r, "node", cols[0], i, 0, &node)) return false;
    if ((uint64_t)node >= t->nodes.n)
      return fail(r, "node", "stack %zu is node %" PRId64 ", which does not exist (%zu nodes)", t->stacks.n, node, t->nodes.n);
    RP_PUSH(t->stacks, (uint32_t)node);
  }
  return true;
}

static bool known_stack(reader_t* r, const char* key, int64_t stack) {
  if (stack == 1 || (stack >= 2 && (uint64_t)stack < r->t->stacks.n)) return true;
  return fail(r, key, "stack %" PRId64 " is not defined (stacks are 2..%zu, 1 is \"unknown\")", stack,
              r->t->stacks.n ? r->t->stacks.n - 1 : 0);
}

static bool read_sites(reader_t* r, json_t* o) {
  static const char* const keys[] = {"stack", "allocs", "frees", "alloc_bytes", "live_bytes", "live_count", "peak_bytes", "temporary"};
  json_t* cols[8];
  size_t n = 0;
  if (!columns(r, o, keys, cols, 8, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    int64_t v[8];
    for (int k = 0; k < 8; k++) {
      /* live and peak columns are signed in the writer (per-thread rows summed); clamp at 0 */
      if (!item_int(r, keys[k], cols[k], i, k >= 4 && k <= 6 ? INT64_MIN : 0, &v[k])) return false;
      if (v[k] < 0) v[k] = 0;
    }
    if (!known_stack(r, "stack", v[0])) return false;
    rp_site_t s = {(uint32_t)v[0], (uint64_t)v[1], (uint64_t)v[2], (uint64_t)v[3], (uint64_t)v[4], (uint64_t)v[5], (uint64_t)v[6], (uint64_t)v[7]};
    RP_PUSH(r->t->sites, s);
  }
  return true;
}

static bool read_leak(reader_t* r, json_t* o) {
  rp_leak_t l = {0};
  int64_t stack;
  char* kind = NULL;
  bool ok = get_int(r, o, "stack", true, 0, &stack) && known_stack(r, "stack", stack) && get_str(r, o, "kind", true, &kind);
  if (ok && !rp_kind_parse(kind, strlen(kind), &l.kind))
    ok = fail(r, "kind", "leak kind \"%.40s\" is not definite, indirect or reachable", kind);
  free(kind);
  if (!ok || !get_u64(r, o, "count", true, &l.count) || !get_u64(r, o, "bytes", true, &l.bytes)) return false;
  l.stack = (uint32_t)stack;
  RP_PUSH(r->t->leaks, l);
  return true;
}

static bool read_timeline(reader_t* r, json_t* o) {
  static const char* const keys[] = {"t_ns", "heap_bytes", "rss_bytes"};
  json_t* cols[3];
  size_t n = 0;
  if (!columns(r, o, keys, cols, 3, &n)) return false;
  for (size_t i = 0; i < n; i++) {
    int64_t v[3];
    for (int k = 0; k < 3; k++)
      if (!item_int(r, keys[k], cols[k], i, k == 1 ? INT64_MIN : 0, &v[k])) return false;
    rp_sample_t s = {(uint64_t)v[0], v[1] < 0 ? 0 : (uint64_t)v[1], (uint64_t)v[2]};
    RP_PUSH(r->t->timeline, s);
  }
  return true;
}

static bool read_summary(reader_t* r, json_t* o) {
  rp_summary_t* s = &r->t->summary;
  int64_t live = 0, peak = 0;
  bool ok = get_u64(r, o, "duration_ns", true, &s->duration_ns) && get_u64(r, o, "allocs", true, &s->allocs) &&
            get_u64(r, o, "frees", true, &s->frees) && get_int(r, o, "live_bytes", true, INT64_MIN, &live) &&
            get_int(r, o, "peak_bytes", true, INT64_MIN, &peak) && get_u64(r, o, "peak_time_ns", false, &s->peak_time_ns) &&
            get_u64(r, o, "stacks", false, &s->stacks) && get_u64(r, o, "dropped_lines", false, &s->dropped_lines) &&
            get_bool(r, o, "leak_scan", &s->leak_scan) && get_bool(r, o, "leak_scan_complete", &s->leak_scan_complete) &&
            get_bool(r, o, "approximate", &s->approximate) && get_u64(r, o, "signal", false, &s->signal) && get_u64(r, o, "threads_unheld", false, &s->threads_unheld) &&
            get_bool(r, o, "forked_child", &s->forked_child) &&
            get_str(r, o, "exit_call", false, &r->t->exit_call);
  if (r->t->exit_call && !r->t->exit_call[0]) { /* absent: get_str gives "" */
    free(r->t->exit_call);
    r->t->exit_call = NULL;
  }
  s->final = true; /* traces written before the field existed were final */
  if (!ok || !get_bool(r, o, "final", &s->final)) return false;
  s->live_bytes = live < 0 ? 0 : (uint64_t)live;
  s->peak_bytes = peak < 0 ? 0 : (uint64_t)peak;
  for (int k = 0; s->leak_scan && k < RP_KINDS; k++) {
    const char* name = rp_kind_name((rp_kind_t)k);
    json_t* c = field(r, o, name, true);
    if (!c) return false;
    if (!json_is_object(c)) return fail(r, name, "field \"%s\" is %s, expected {\"count\",\"bytes\"}", name, type_name(c));
    if (!get_u64(r, c, "count", true, &s->kinds[k].count) || !get_u64(r, c, "bytes", true, &s->kinds[k].bytes)) return false;
  }
  s->present = true;
  r->seen_summary = true;
  return true;
}

static bool read_record(reader_t* r, json_t* o) {
  if (!json_is_object(o)) return fail(r, NULL, "a line must be a JSON object, this is %s", type_name(o));
  json_t* type = json_object_get(o, "type");
  if (!type) return fail(r, NULL, "record has no \"type\"");
  if (!json_is_string(type)) return fail(r, "type", "field \"type\" is %s, expected a string", type_name(type));
  const char* name = json_string_value(type);
  if (!r->seen_header && strcmp(name, "header") != 0)
    return fail(r, "type", "the first record is \"%.40s\", not the header: is this a ptmem trace?", name);
  if (r->seen_summary) return fail(r, "type", "record \"%.40s\" after the summary (two traces in one file?)", name);
  if (strcmp(name, "header") == 0) {
    if (r->seen_header) return fail(r, "type", "a second header");
    return read_header(r, o);
  }
  if (strcmp(name, "module") == 0) return read_module(r, o);
  if (strcmp(name, "nodes") == 0) return read_nodes(r, o);
  if (strcmp(name, "stacks") == 0) return read_stacks(r, o);
  if (strcmp(name, "sites") == 0) return read_sites(r, o);
  if (strcmp(name, "leak") == 0) return read_leak(r, o);
  if (strcmp(name, "timeline") == 0) return read_timeline(r, o);
  if (strcmp(name, "summary") == 0) return read_summary(r, o);
  return true; /* the format: readers skip record types they do not know */
}

static bool read_line(reader_t* r, const char* line, size_t len) {
  r->line = line;
  r->len = len;
  if (len == 0) return fail(r, NULL, "empty line (each line must be one JSON object)");
  if (r->seen_header && !r->seen_summary && rp_batch_read(&r->batch, r->t, line, len)) return true;
  json_error_t je;
  json_t* o = json_loadb(line, len, 0, &je);
  if (!o) {
    r->failed = true;
    /* A document spread over lines (a saved --format json report, often found next to the traces
     * of a directory given as input) fails on its first line with a message about JSON syntax;
     * say what the file is instead. */
    size_t b = 0, e = len;
    while (b < e && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r')) b++;
    while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r')) e--;
    bool document = r->lineno == 1 && e == b + 1 && (line[b] == '{' || line[b] == '[');
    snprintf(r->err->text, sizeof r->err->text, "%s:%" PRIu64 ":%d: not JSON: %s%s", r->name, r->lineno,
             je.column > 0 ? je.column : 1, je.text,
             document ? " (a JSON document over several lines, not a trace: a trace has one JSON object per line;"
                        " a saved ptmem-report --format json report is read with --baseline)"
                      : "");
    return false;
  }
  bool ok = read_record(r, o);
  json_decref(o);
  return ok;
}

static void begin(reader_t* r, const char* name, rp_trace_t* t, rp_read_error_t* err) {
  memset(t, 0, sizeof *t);
  *r = (reader_t){.name = name, .t = t, .err = err};
  t->path = rp_xstrdup(name);
  RP_PUSH(t->nodes, ((rp_node_t){0, -1, 0})); /* the root */
  RP_PUSH(t->stacks, 0u);
  RP_PUSH(t->stacks, 0u);
}

/* A last line without its newline: a process killed while writing, or a copy cut short. If it
 * still parses, the writer's newline is all that is missing; otherwise the line is dropped. */
static bool finish_tail(reader_t* r, const char* line, size_t len) {
  r->lineno++;
  rp_read_error_t scratch;
  rp_read_error_t* keep = r->err;
  r->err = &scratch;
  bool ok = read_line(r, line, len);
  r->err = keep;
  if (!ok) {
    r->failed = false;
    r->t->incomplete = rp_xprintf("line %" PRIu64 " is cut short (%zu bytes without a newline)", r->lineno, len);
  } else {
    r->t->lines = r->lineno;
  }
  return true;
}

static bool finish(reader_t* r) {
  rp_trace_t* t = r->t;
  rp_batch_free(&r->batch);
  if (r->failed) return false;
  if (!r->seen_header) {
    r->lineno = r->lineno ? r->lineno : 1;
    if (t->incomplete) return fail(r, NULL, "the file ends before its header line is complete: not a usable trace");
    return fail(r, NULL, "empty file: no trace header");
  }
  if (!t->summary.present && !t->incomplete)
    t->incomplete = rp_xstrdup("no summary line: the process did not finish writing its trace");
  return true;
}

bool rp_trace_read_buffer(const char* name, const char* data, size_t size, rp_trace_t* t, rp_read_error_t* err) {
  reader_t r;
  begin(&r, name, t, err);
  size_t pos = 0;
  while (pos < size && !r.failed) {
    const char* nl = memchr(data + pos, '\n', size - pos);
    if (!nl) {
      finish_tail(&r, data + pos, size - pos);
      break;
    }
    size_t len = (size_t)(nl - (data + pos));
    r.lineno++;
    if (len > RP_LINE_MAX) {
      fail(&r, NULL, "line of %zu bytes is longer than the limit of %u", len, RP_LINE_MAX);
      break;
    }
    if (read_line(&r, data + pos, len)) t->lines = r.lineno;
    pos += len + 1;
  }
  return finish(&r);
}

/* One line into `line` (without its newline), stopping after RP_LINE_MAX + 1 bytes so binary
 * garbage without newlines cannot eat memory. NUL bytes are kept (and rejected by the parser). */
static bool read_bounded_line(FILE* f, rp_str_t* line, bool* newline) {
  char chunk[4096];
  size_t n = 0;
  int c;
  rp_str_clear(line);
  *newline = false;
  while ((c = getc_unlocked(f)) != EOF) {
    if (c == '\n') {
      *newline = true;
      break;
    }
    chunk[n++] = (char)c;
    if (n == sizeof chunk) {
      rp_str_addn(line, chunk, n);
      n = 0;
      if (line->n > RP_LINE_MAX) { /* drain the rest of this line, keeping memory bounded */
        while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        }
        *newline = c == '\n';
        return true;
      }
    }
  }
  rp_str_addn(line, chunk, n);
  return *newline || line->n > 0;
}

bool rp_trace_read(const char* path, rp_trace_t* t, rp_read_error_t* err) {
  reader_t r;
  begin(&r, path, t, err);
  FILE* f = fopen(path, "rb");
  if (!f) {
    snprintf(err->text, sizeof err->text, "%s: cannot open: %s", path, strerror(errno));
    return false;
  }
  rp_str_t line = {0};
  bool newline;
  errno = 0;
  while (!r.failed && read_bounded_line(f, &line, &newline)) {
    if (line.n > RP_LINE_MAX) {
      r.lineno++;
      fail(&r, NULL, "line is longer than the limit of %u bytes", RP_LINE_MAX);
    } else if (newline) {
      r.lineno++;
      if (read_line(&r, line.s, line.n)) t->lines = r.lineno;
    } else {
      finish_tail(&r, line.s, line.n);
    }
  }
  bool read_error = ferror(f);
  int saved = errno;
  rp_str_free(&line);
  fclose(f);
  if (read_error && !r.failed) {
    snprintf(err->text, sizeof err->text, "%s:%" PRIu64 ": read error: %s", path, r.lineno + 1, strerror(saved));
    return false;
  }
  return finish(&r);
}
