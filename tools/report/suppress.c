/* suppress.c - LeakSanitizer suppression files, read strictly, and their pattern matcher.
 *
 * Lines are parsed as LSan's SuppressionContext::Parse reads them (compiler-rt
 * sanitizer_suppressions.cpp): surrounding blanks trimmed, `#` comment lines and blank lines
 * skipped, `TYPE:PATTERN` otherwise. Where LSan accepts a line that silently matches everything or
 * nothing, this reader stops with "FILE:LINE:COLUMN: problem (line)": an empty pattern (LSan's
 * TemplateMatch matches every name with it; heaptrack 1.4 suppressed every leak through the same
 * hole), a pattern of anchors only, a `$` before the end (TemplateMatch ignores what follows it),
 * a `#` inside a pattern (a comment on the line would become part of the pattern and never match),
 * and types other than `leak`. A failed load leaves the rule list as it was.
 *
 * Matching has TemplateMatch's meaning: `*` is any run of characters, a leading `^` and a trailing
 * `$` anchor, and an unanchored side may have any text before or after it. TemplateMatch searches
 * each literal piece for its first occurrence and never backtracks, so `a*b$` misses "abab"; the
 * matcher here backtracks over `*`, matching every text TemplateMatch matches plus those. An empty
 * name (unknown function, no line info, no module) never matches, as in TemplateMatch. */
#include "suppress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Glob match of pattern[0..pn) against text, with `*` as the only wildcard. Without anchor_start
 * the pattern behaves as if it began with `*`, without anchor_end as if it ended with one. The
 * classic single-backtrack-point algorithm: on a mismatch only the latest `*` needs to absorb one
 * more character, because any earlier `*` could absorb the same run. */
static bool glob_match(const char* pattern, size_t pn, const char* text, bool anchor_start, bool anchor_end) {
  size_t p = 0, t = 0;
  bool have_star = !anchor_start;
  size_t star_p = 0, star_t = 0;
  while (text[t]) {
    if (p < pn && pattern[p] == '*') {
      have_star = true;
      star_p = ++p;
      star_t = t;
    } else if (p < pn && pattern[p] == text[t]) {
      p++;
      t++;
    } else if (p == pn && !anchor_end) {
      return true;
    } else if (have_star) {
      p = star_p;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pn && pattern[p] == '*')
    p++;
  return p == pn;
}

bool rp_pattern_match(const char* pattern, const char* text) {
  if (!pattern || !text || !*text) return false;
  size_t n = strlen(pattern);
  bool anchor_start = n > 0 && pattern[0] == '^';
  if (anchor_start) {
    pattern++;
    n--;
  }
  bool anchor_end = n > 0 && pattern[n - 1] == '$';
  if (anchor_end) n--;
  /* Nothing left to match: the match-everything hole. The loader refuses such patterns; this
   * keeps a pattern built some other way from suppressing every leak. */
  if (n == 0) return false;
  return glob_match(pattern, n, text, anchor_start, anchor_end);
}

static bool frame_matches(const char* pattern, const rp_frame_t* f) {
  return rp_pattern_match(pattern, f->function) || rp_pattern_match(pattern, f->file) ||
         rp_pattern_match(pattern, f->module);
}

int rp_suppressions_match(const rp_suppressions_t* s, const rp_stack_t* stack) {
  if (!s || !stack) return -1;
  stack = rp_stack_resolve(stack);
  for (size_t r = 0; r < s->rules.n; r++)
    for (uint32_t i = 0; i < stack->nframes; i++)
      if (frame_matches(s->rules.v[r].pattern, &stack->frames[i])) return (int)r;
  return -1;
}

/* ---- loading --------------------------------------------------------------------------------- */

typedef struct line_s {
  const char* path;
  unsigned lineno;
  const char* start; /* first character of the raw line, for columns */
  const char* text;  /* trimmed content */
  size_t len;
} line_t;

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* Writes "FILE:LINE:COLUMN: problem (line)"; `at` points into the line. Long lines are cut so the
 * message stays one readable line. */
static bool line_error(const line_t* l, const char* at, const char* problem, char* err, size_t errsize) {
  int shown = l->len > 80 ? 77 : (int)l->len;
  snprintf(err, errsize, "%s:%u:%u: %s (%.*s%s)", l->path, l->lineno, (unsigned)(at - l->start) + 1, problem,
           shown, l->text, l->len > 80 ? "..." : "");
  return false;
}

/* Parses one non-blank, non-comment line into a rule. */
static bool parse_rule(rp_suppressions_t* s, const line_t* l, char* err, size_t errsize) {
  const char* end = l->text + l->len;
  const char* colon = memchr(l->text, ':', l->len);
  if (!colon) return line_error(l, l->text, "not a suppression, expected leak:PATTERN", err, errsize);
  if ((size_t)(colon - l->text) != 4 || memcmp(l->text, "leak", 4) != 0)
    return line_error(l, l->text, "not a leak: suppression, only leak:PATTERN applies to leaks", err,
                      errsize);

  const char* p = colon + 1;
  while (p < end && is_blank(*p))
    p++;
  size_t n = (size_t)(end - p);
  if (n == 0) return line_error(l, colon + 1, "empty pattern, it would match every leak", err, errsize);

  const char* body = p;
  size_t body_len = n;
  if (*body == '^') {
    body++;
    body_len--;
  }
  if (body_len > 0 && body[body_len - 1] == '$') body_len--;
  if (body_len == 0) return line_error(l, p, "pattern has only anchors, nothing to match", err, errsize);
  const char* dollar = memchr(body, '$', body_len);
  if (dollar)
    return line_error(l, dollar, "`$` anchors the end and must be the last character", err, errsize);
  const char* hash = memchr(body, '#', body_len);
  if (hash) return line_error(l, hash, "`#` inside a pattern (comments go on their own line)", err, errsize);

  rp_suppression_t rule = {
      .pattern = rp_xstrndup(p, n),
      .where = rp_xprintf("%s:%u", l->path, l->lineno),
  };
  RP_PUSH(s->rules, rule);
  return true;
}

static void drop_rules_from(rp_suppressions_t* s, size_t first) {
  for (size_t i = first; i < s->rules.n; i++) {
    free(s->rules.v[i].pattern);
    free(s->rules.v[i].where);
  }
  s->rules.n = first;
}

bool rp_suppressions_load(rp_suppressions_t* s, const char* path, char* err, size_t errsize) {
  rp_str_t data = {0};
  if (!rp_read_file(path, &data, err, errsize)) {
    rp_str_free(&data);
    return false;
  }
  size_t first_new = s->rules.n;
  bool ok = true;
  const char* cur = data.s;
  const char* stop = data.s + data.n;
  if (data.n >= 3 && memcmp(cur, "\xEF\xBB\xBF", 3) == 0)
    cur += 3; /* a UTF-8 byte order mark, as editors show it */
  for (unsigned lineno = 1; ok && cur < stop; lineno++) {
    const char* nl = memchr(cur, '\n', (size_t)(stop - cur));
    const char* eol = nl ? nl : stop;
    line_t l = {.path = path, .lineno = lineno, .start = cur, .text = cur};
    const char* nul = memchr(cur, '\0', (size_t)(eol - cur));
    while (l.text < eol && is_blank(*l.text))
      l.text++;
    const char* end = eol;
    while (end > l.text && is_blank(end[-1]))
      end--;
    l.len = (size_t)(end - l.text);
    if (nul) {
      l.len = (size_t)(nul > l.text ? nul - l.text : 0);
      ok = line_error(&l, nul, "NUL byte: not a text file", err, errsize);
    } else if (l.len > 0 && l.text[0] != '#') {
      ok = parse_rule(s, &l, err, errsize);
    }
    cur = eol + 1;
  }
  rp_str_free(&data);
  if (!ok) drop_rules_from(s, first_new);
  return ok;
}

void rp_suppressions_free(rp_suppressions_t* s) {
  drop_rules_from(s, 0);
  free(s->rules.v);
  memset(s, 0, sizeof *s);
}
