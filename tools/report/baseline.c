/* baseline.c - see baseline.h. The report is read whole with jansson (it is the size of a report,
 * not of a trace). Every error names FILE:LINE:COLUMN. jansson knows positions only while parsing,
 * so a value of the wrong type is found again in the text by its JSON path (locate(), a scanner
 * that only skips strings and nested values), and the message names the path too
 * ("leaks[3].stack[0].module"). Only the fields the gate compares are read; others may be added
 * within a version (docs/report-format.md) and are ignored. */
#include "baseline.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RP_REPORT_FORMAT      "ptmem-report"
#define RP_REPORT_MAX_VERSION 1

char* rp_frames_fn_key(const rp_frame_t* frames, uint32_t nframes) {
  rp_str_t key = {0};
  for (uint32_t i = 0; i < nframes; i++) {
    if (i) rp_str_add(&key, ";");
    if (frames[i].function)
      rp_str_add(&key, frames[i].function);
    else
      rp_str_addf(&key, "?%s", rp_basename(frames[i].module ? frames[i].module : ""));
  }
  if (!nframes) rp_str_add(&key, "(no frames)");
  return key.s;
}

typedef struct reader_s {
  const char* file;
  const char* text; /* the whole file */
  size_t len;
  char* err;
  size_t errsize;
} reader_t;

/* ---- where a value is in the text ------------------------------------------------------------ */

/* The text is valid JSON here (jansson parsed it), so the scanner only guards the end. */
typedef struct scan_s {
  const char* p;
  const char* end;
} scan_t;

static void skip_space(scan_t* s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static void skip_string(scan_t* s) { /* at the opening quote */
  for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
    if (*s->p == '\\' && s->p + 1 < s->end) s->p++;
  if (s->p < s->end) s->p++;
}

static void skip_value(scan_t* s) {
  skip_space(s);
  if (s->p >= s->end) return;
  if (*s->p == '"') {
    skip_string(s);
    return;
  }
  if (*s->p != '{' && *s->p != '[') { /* number, true, false, null: up to a delimiter */
    while (s->p < s->end && !memchr(",}] \t\r\n", *s->p, 7))
      s->p++;
    return;
  }
  int depth = 0;
  do {
    if (*s->p == '"') {
      skip_string(s);
      continue;
    }
    if (*s->p == '{' || *s->p == '[') depth++;
    if (*s->p == '}' || *s->p == ']') depth--;
    s->p++;
  } while (s->p < s->end && depth > 0);
}

/* Moves to the value of member `key` of the object at s->p. Keys are compared as written; the
 * ones the reader asks for have no escapes. */
static bool enter_member(scan_t* s, const char* key, size_t len) {
  skip_space(s);
  if (s->p >= s->end || *s->p != '{') return false;
  s->p++;
  for (;;) {
    skip_space(s);
    if (s->p >= s->end || *s->p != '"') return false;
    const char* name = s->p + 1;
    skip_string(s);
    bool match = (size_t)(s->p - 1 - name) == len && memcmp(name, key, len) == 0;
    skip_space(s);
    s->p++; /* ':' */
    skip_space(s);
    if (match) return true;
    skip_value(s);
    skip_space(s);
    if (s->p >= s->end || *s->p != ',') return false;
    s->p++;
  }
}

static bool enter_element(scan_t* s, size_t index) {
  skip_space(s);
  if (s->p >= s->end || *s->p != '[') return false;
  s->p++;
  for (size_t i = 0;; i++) {
    skip_space(s);
    if (s->p >= s->end || *s->p == ']') return false;
    if (i == index) return true;
    skip_value(s);
    skip_space(s);
    if (s->p >= s->end || *s->p != ',') return false;
    s->p++;
  }
}

/* The value at `path` ("leaks[3].stack[0].module"), or the deepest part of the path that exists:
 * for a missing field, the object it belongs in. */
static const char* locate(const reader_t* rd, const char* path) {
  scan_t s = {rd->text, rd->text + rd->len};
  skip_space(&s);
  const char* found = s.p;
  for (const char* q = path; *q && *q != '(';) { /* "(top level)" is the root */
    size_t n = strcspn(q, ".[");
    if (n && !enter_member(&s, q, n)) break;
    q += n;
    if (n) found = s.p;
    bool lost = false;
    while (*q == '[' && !lost) {
      char* close;
      size_t index = strtoul(q + 1, &close, 10);
      lost = !enter_element(&s, index);
      if (!lost) found = s.p;
      q = *close == ']' ? close + 1 : close;
    }
    if (lost) break;
    if (*q == '.') q++;
  }
  return found;
}

/* "FILE:LINE:COLUMN: PATH: message"; always returns false. */
static bool fail(reader_t* rd, const char* path, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(reader_t* rd, const char* path, const char* fmt, ...) {
  const char* at = locate(rd, path);
  unsigned line = 1;
  const char* line_start = rd->text;
  for (const char* c = rd->text; c < at; c++)
    if (*c == '\n') {
      line++;
      line_start = c + 1;
    }
  int n =
      snprintf(rd->err, rd->errsize, "%s:%u:%u: %s: ", rd->file, line, (unsigned)(at - line_start) + 1, path);
  if (n < 0 || (size_t)n >= rd->errsize) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rd->err + n, rd->errsize - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

/* What a value is, for messages: its compact JSON, cut short. */
static const char* shown(const json_t* v, char buf[48]) {
  if (!v) return "nothing";
  char* text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!text) return "a value";
  size_t len = strlen(text);
  if (len > 40)
    snprintf(buf, 48, "%.37s...", text);
  else
    snprintf(buf, 48, "%s", text);
  free(text);
  return buf;
}

static bool wrong_type(reader_t* rd, const char* path, const json_t* v, const char* wanted) {
  char buf[48];
  if (!v) return fail(rd, path, "missing (expected %s)", wanted);
  return fail(rd, path, "expected %s, got %s", wanted, shown(v, buf));
}

static bool get_u64(reader_t* rd, const json_t* v, const char* path, uint64_t* out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0) return wrong_type(rd, path, v, "an integer >= 0");
  *out = (uint64_t)json_integer_value(v);
  return true;
}

static bool get_count(reader_t* rd, const json_t* v, const char* path, rp_count_t* out) {
  char sub[256];
  if (!json_is_object(v)) return wrong_type(rd, path, v, "an object {\"count\", \"bytes\"}");
  snprintf(sub, sizeof sub, "%s.count", path);
  if (!get_u64(rd, json_object_get(v, "count"), sub, &out->count)) return false;
  snprintf(sub, sizeof sub, "%s.bytes", path);
  return get_u64(rd, json_object_get(v, "bytes"), sub, &out->bytes);
}

static bool read_summary(reader_t* rd, const json_t* summary, rp_baseline_t* b) {
  if (!json_is_object(summary)) return wrong_type(rd, "summary", summary, "an object");
  if (!get_u64(rd, json_object_get(summary, "peak_bytes"), "summary.peak_bytes", &b->peak_bytes))
    return false;
  const json_t* approx = json_object_get(summary, "approximate");
  if (!json_is_boolean(approx)) return wrong_type(rd, "summary.approximate", approx, "true or false");
  b->approximate = json_is_true(approx);
  const json_t* leaks = json_object_get(summary, "leaks");
  if (!json_is_object(leaks)) return wrong_type(rd, "summary.leaks", leaks, "an object");
  for (int k = 0; k < RP_KINDS; k++) {
    char path[64];
    snprintf(path, sizeof path, "summary.leaks.%s", rp_kind_name((rp_kind_t)k));
    if (!get_count(rd, json_object_get(leaks, rp_kind_name((rp_kind_t)k)), path, &b->leaked[k])) return false;
  }
  return true;
}

/* The function key of a stack array, through the same rp_frames_fn_key as today's stacks. */
static bool read_stack_key(reader_t* rd, const json_t* stack, size_t leak, char** key) {
  char path[96];
  snprintf(path, sizeof path, "leaks[%zu].stack", leak);
  if (!json_is_array(stack)) return wrong_type(rd, path, stack, "an array of frames");
  size_t n = json_array_size(stack);
  rp_frame_t* frames = rp_xcalloc(n, sizeof *frames);
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    const json_t* f = json_array_get(stack, i);
    snprintf(path, sizeof path, "leaks[%zu].stack[%zu]", leak, i);
    if (!json_is_object(f)) {
      ok = wrong_type(rd, path, f, "a frame object");
      break;
    }
    const json_t* function = json_object_get(f, "function");
    const json_t* module = json_object_get(f, "module");
    snprintf(path, sizeof path, "leaks[%zu].stack[%zu].function", leak, i);
    if (!json_is_string(function) && !json_is_null(function))
      ok = wrong_type(rd, path, function, "a string or null");
    snprintf(path, sizeof path, "leaks[%zu].stack[%zu].module", leak, i);
    if (ok && !json_is_string(module)) ok = wrong_type(rd, path, module, "a string");
    if (ok) {
      frames[i].function = json_is_string(function) ? json_string_value(function) : NULL;
      frames[i].module = json_string_value(module);
    }
  }
  if (ok) *key = rp_frames_fn_key(frames, (uint32_t)n);
  free(frames);
  return ok;
}

static bool read_leak(reader_t* rd, const json_t* leak, size_t i, rp_baseline_t* b) {
  char path[64];
  snprintf(path, sizeof path, "leaks[%zu]", i);
  if (!json_is_object(leak)) return wrong_type(rd, path, leak, "a leak object");
  rp_baseline_leak_t l = {0};
  const json_t* kind = json_object_get(leak, "kind");
  snprintf(path, sizeof path, "leaks[%zu].kind", i);
  if (!json_is_string(kind)) return wrong_type(rd, path, kind, "a string");
  if (!rp_kind_parse(json_string_value(kind), json_string_length(kind), &l.kind))
    return fail(rd, path, "\"%s\" is not a leak kind (definite, indirect, reachable)",
                json_string_value(kind));
  snprintf(path, sizeof path, "leaks[%zu].count", i);
  if (!get_u64(rd, json_object_get(leak, "count"), path, &l.count)) return false;
  snprintf(path, sizeof path, "leaks[%zu].bytes", i);
  if (!get_u64(rd, json_object_get(leak, "bytes"), path, &l.bytes)) return false;
  const json_t* by = json_object_get(leak, "suppressed_by");
  snprintf(path, sizeof path, "leaks[%zu].suppressed_by", i);
  if (!json_is_string(by) && !json_is_null(by)) return wrong_type(rd, path, by, "a pattern string or null");
  l.suppressed = json_is_string(by);
  if (!read_stack_key(rd, json_object_get(leak, "stack"), i, &l.fn_key)) return false;
  RP_PUSH(b->leaks, l);
  return true;
}

static bool trace_not_report(reader_t* rd) {
  snprintf(rd->err, rd->errsize,
           "%s: a ptmem trace, not a report: make the baseline with ptmem-report --format json", rd->file);
  return false;
}

/* A ptmem trace is JSON Lines: the parser stops at its second line. Its first line says what it
 * is, which makes a better message than "end of file expected". */
static bool is_trace(const reader_t* rd) {
  json_error_t e;
  json_t* first = json_loadb(rd->text, rd->len, JSON_DISABLE_EOF_CHECK, &e);
  const char* format = json_string_value(json_object_get(first, "format"));
  bool trace = format && strcmp(format, "ptmem-trace") == 0;
  json_decref(first);
  return trace;
}

static json_t* parse_text(reader_t* rd) {
  json_error_t e;
  json_t* root = json_loadb(rd->text, rd->len, JSON_REJECT_DUPLICATES, &e);
  if (!root) {
    if (is_trace(rd))
      trace_not_report(rd);
    else
      snprintf(rd->err, rd->errsize, "%s:%d:%d: %s", rd->file, e.line, e.column, e.text);
  }
  return root;
}

static bool read_report(reader_t* rd, const json_t* root, rp_baseline_t* b) {
  if (!json_is_object(root)) return wrong_type(rd, "(top level)", root, "a report object");
  const json_t* format = json_object_get(root, "format");
  const char* name = json_string_value(format);
  if (name && strcmp(name, "ptmem-trace") == 0) return trace_not_report(rd);
  if (!name || strcmp(name, RP_REPORT_FORMAT) != 0) {
    char buf[48];
    return fail(rd, "format",
                "expected \"%s\", got %s: not a ptmem-report JSON report (make one with ptmem-report "
                "--format json)",
                RP_REPORT_FORMAT, shown(format, buf));
  }
  const json_t* version = json_object_get(root, "version");
  if (!json_is_integer(version) || json_integer_value(version) < 1)
    return wrong_type(rd, "version", version, "an integer >= 1");
  if (json_integer_value(version) > RP_REPORT_MAX_VERSION)
    return fail(rd, "version", "%" JSON_INTEGER_FORMAT " is newer than this ptmem-report reads (%d)",
                json_integer_value(version), RP_REPORT_MAX_VERSION);
  if (!read_summary(rd, json_object_get(root, "summary"), b)) return false;
  const json_t* leaks = json_object_get(root, "leaks");
  if (!json_is_array(leaks)) return wrong_type(rd, "leaks", leaks, "an array");
  for (size_t i = 0; i < json_array_size(leaks); i++)
    if (!read_leak(rd, json_array_get(leaks, i), i, b)) return false;
  return true;
}

bool rp_baseline_load(rp_baseline_t* b, const char* path, char* err, size_t errsize) {
  memset(b, 0, sizeof *b);
  reader_t rd = {.file = path, .err = err, .errsize = errsize};
  rp_str_t data = {0};
  json_t* root = NULL;
  if (rp_read_file(rd.file, &data, rd.err, rd.errsize)) {
    rd.text = data.s;
    rd.len = data.n;
    root = parse_text(&rd);
  }
  bool ok = root && read_report(&rd, root, b);
  json_decref(root);
  rp_str_free(&data);
  if (!ok) rp_baseline_free(b);
  return ok;
}

void rp_baseline_free(rp_baseline_t* b) {
  for (size_t i = 0; i < b->leaks.n; i++)
    free(b->leaks.v[i].fn_key);
  free(b->leaks.v);
  memset(b, 0, sizeof *b);
}
