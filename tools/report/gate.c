/* gate.c - see gate.h. Rules, in the order their lines come out:
 *   1. leak rules need a leak scan: a sampled trace's own leaks are left out of them (its leak
 *      figures are estimates; a run where every trace is sampled skips them), the other traces'
 *      leaks still count, and a process whose trace has no summary or no scan fails them (unless
 *      --allow-incomplete), since "no leak found" would be a guess;
 *   2. without a baseline, the unsuppressed bytes of the --fail-on kinds together must not exceed
 *      --max-leak-bytes (0: not one block), one line per kind that has leaks;
 *      with a baseline, leak sites are matched by rp_frames_fn_key (functions, not paths, so a
 *      rebuilt or moved program still matches): a site of a --fail-on kind that the baseline lacks
 *      fails, and so do leaked bytes of a kind or the peak growing by more than --max-increase
 *      percent; improvements are notes;
 *   3. --max-peak, per process. An explicit --max-peak or --max-leak-bytes also applies with a
 *      baseline: the user asked for it; only the default "no leak at all" gives way to the baseline.
 * Failure lines start with "FAIL " and carry the numbers and a first clue (the biggest site's
 * innermost function), so a CI log line alone says what to look at. */
#include "gate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"

void rp_gate_defaults(rp_gate_options_t* o) {
  memset(o, 0, sizeof *o);
  o->fail_on[RP_DEFINITE] = true;
  o->fail_on[RP_INDIRECT] = true;
  o->max_increase_pct = 10;
}

void rp_gate_result_free(rp_gate_result_t* g) {
  for (size_t i = 0; i < g->failures.n; i++)
    free(g->failures.v[i]);
  for (size_t i = 0; i < g->notes.n; i++)
    free(g->notes.v[i]);
  free(g->failures.v);
  free(g->notes.v);
  memset(g, 0, sizeof *g);
}

/* Every failure line starts with "FAIL ", so the reason stands out in a CI log. */
#define FAIL(out, fmt, ...) RP_PUSH((out)->failures, rp_xprintf("FAIL " fmt, __VA_ARGS__))
#define NOTE(out, ...)      RP_PUSH((out)->notes, rp_xprintf(__VA_ARGS__))

static const char* plural(uint64_t n, const char* one, const char* many) {
  return n == 1 ? one : many;
}

/* "python3 (pid 1234)" */
static char* process_label(const rp_trace_t* t) {
  return rp_xprintf("%s (pid %" PRId64 ")", rp_trace_program(t), t->pid);
}

/* A frame for a human: "make_list (leaky.c:8)", or "?? (libfoo.so+0x1a2b)" without a function. */
static char* frame_label(const rp_frame_t* f) {
  if (!f->function)
    return rp_xprintf("?? (%s+0x%" PRIx64 ")", rp_basename(f->module ? f->module : ""), f->offset);
  if (f->file) return rp_xprintf("%s (%s:%" PRIu32 ")", f->function, rp_basename(f->file), f->line);
  return rp_xstrdup(f->function);
}

/* " in python3 (pid 1234)" when several processes were read, so the line says where to look. */
static char* where_label(const rp_report_t* r, const rp_entry_t* e) {
  if (r->ntraces < 2 || e->traces.n == 0 || e->traces.v[0] >= r->ntraces) return rp_xstrdup("");
  char* who = process_label(&r->traces[e->traces.v[0]]);
  size_t others = e->traces.n - 1;
  char* s = others ? rp_xprintf(" in %s and %zu other %s", who, others, others == 1 ? "process" : "processes")
                   : rp_xprintf(" in %s", who);
  free(who);
  return s;
}

/* The innermost frames of a stack, callers after '<': "make_list (leaky.c:8) < build < main". */
static char* stack_label(const rp_stack_t* s, uint32_t max) {
  s = rp_stack_resolve(s);
  if (!s || s->nframes == 0) return rp_xstrdup("(no frames)");
  rp_str_t b = {0};
  char* first = frame_label(&s->frames[0]);
  rp_str_add(&b, first);
  free(first);
  for (uint32_t i = 1; i < s->nframes && i < max; i++) {
    const rp_frame_t* f = &s->frames[i];
    if (f->function)
      rp_str_addf(&b, " < %s", f->function);
    else
      rp_str_addf(&b, " < ?%s", rp_basename(f->module ? f->module : ""));
  }
  if (s->nframes > max) rp_str_add(&b, " < ...");
  return b.s;
}

static bool trace_sampled(const rp_trace_t* t) {
  return t->summary.approximate || t->sample_bytes;
}

/* Whether a leak group comes from some unsampled trace. A group found in both a sampled and an
 * unsampled trace counts in full: its count and bytes are summed over the processes, and the
 * sampled process's share cannot be taken out of them. */
static bool from_unsampled(const rp_report_t* r, const rp_entry_t* e) {
  if (e->traces.n == 0) return true; /* of no known process: nothing says it is an estimate */
  for (size_t i = 0; i < e->traces.n; i++)
    if (e->traces.v[i] < r->ntraces && !trace_sampled(&r->traces[e->traces.v[i]])) return true;
  return false;
}

/* A leak group the leak rules count: a --fail-on kind, not suppressed, not only from sampled traces. */
static bool counts_against(const rp_report_t* r, const rp_entry_t* e, const rp_gate_options_t* o) {
  return e->kind < RP_KINDS && o->fail_on[e->kind] && e->suppressed_by < 0 && from_unsampled(r, e);
}

/* The leaked totals the rules compare, per kind: r->leaked without the sampled traces' own leaks
 * (every --fail-on kind; the same as r->leaked when no trace is sampled). */
static void gated_totals(const rp_report_t* r, const rp_gate_options_t* o, rp_count_t out[RP_KINDS]) {
  memset(out, 0, RP_KINDS * sizeof *out);
  for (size_t i = 0; i < r->leaks.n; i++) {
    const rp_entry_t* e = &r->leaks.v[i];
    if (!counts_against(r, e, o)) continue;
    out[e->kind].count += e->count;
    out[e->kind].bytes += e->bytes;
  }
}

/* ---- 1. can the leak rules be decided? ------------------------------------------------------- */

/* False when the leak rules are skipped altogether (nothing to check, or every trace sampled);
 * notes the sampled traces whose leaks are left out, and adds the failure or note of every other
 * process whose leaks are unknown. */
static bool leak_rules_apply(const rp_report_t* r, const rp_gate_options_t* o, rp_gate_result_t* out) {
  bool any_kind = false;
  for (int k = 0; k < RP_KINDS; k++)
    any_kind |= o->fail_on[k];
  if (!any_kind) return false;
  uint32_t sampled = 0;
  rp_str_t names = {0};
  for (uint32_t i = 0; i < r->ntraces; i++) {
    if (!trace_sampled(&r->traces[i])) continue;
    char* who = process_label(&r->traces[i]);
    rp_str_addf(&names, "%s%s", sampled++ ? ", " : "", who);
    free(who);
  }
  if (sampled && sampled == r->ntraces)
    NOTE(out, "leak rules skipped: the run was sampled (PTMEM_SAMPLE), so leak counts are estimates");
  else if (sampled)
    NOTE(out, "leak rules skipped for the leaks of %s: sampled (PTMEM_SAMPLE), so their leak counts are estimates; "
              "the other processes' leaks are checked",
         names.s);
  rp_str_free(&names);
  if (sampled && sampled == r->ntraces) return false;
  for (uint32_t i = 0; i < r->ntraces; i++) {
    const rp_trace_t* t = &r->traces[i];
    if (trace_sampled(t)) continue; /* its leaks are not checked: whether it has them does not matter */
    char* who = process_label(t);
    char* why = NULL;
    if (t->summary.present && t->exit_call) { /* no check by design, as under LeakSanitizer */
      NOTE(out, "leaks of %s not checked: it ended through %s, which skips the leak check (as LeakSanitizer)", who,
           t->exit_call);
      free(who);
      continue;
    }
    /* A pipeline's writer whose reader is gone ends so (`yes | head -1`): a normal end, not a crash
     * or a kill from outside, and LeakSanitizer checks nothing there either. */
    if (t->summary.present && !t->summary.leak_scan && t->summary.signal == SIGPIPE) {
      NOTE(out, "leaks of %s not checked: it was ended by SIGPIPE (its reader had gone), which skips the leak "
                "check (as LeakSanitizer)", who);
      free(who);
      continue;
    }
    /* A fork child (a pool's worker) its parent stopped: its heap was the parent's copy, and it is
     * not checked, as a fork child ending in _exit is not (the tracker scans one anyone else stops). */
    if (t->summary.present && !t->summary.leak_scan && t->summary.final && t->summary.forked_child &&
        t->summary.signal && strcmp(rp_signal_death(t->summary.signal), "was killed") == 0) {
      NOTE(out, "leaks of %s not checked: a forked child (its heap a copy of its parent's) its parent killed with "
                "signal %" PRIu64 ", which skips the leak check (as LeakSanitizer)", who, t->summary.signal);
      free(who);
      continue;
    }
    if (!t->summary.present)
      why = rp_xprintf("the trace is incomplete (%s) and has no leak scan",
                       t->incomplete ? t->incomplete : "it has no summary");
    else if (!t->summary.leak_scan && t->summary.signal)
      why = rp_xprintf("it %s (signal %" PRIu64 ") before its leak scan", rp_signal_death(t->summary.signal),
                       t->summary.signal);
    else if (!t->summary.leak_scan)
      why = rp_xstrdup(t->summary.final ? "the trace has no leak scan"
                                        : "the trace is a snapshot, which has no leak scan");
    else if (!t->summary.leak_scan_complete)
      NOTE(out, "the leak scan of %s is incomplete: part of its memory vanished during the scan, or (without /proc) a thread "
                "running at exit could not be held", who);
    if (why && o->allow_incomplete)
      NOTE(out, "leaks of %s not checked: %s (--allow-incomplete)", who, why);
    else if (why)
      FAIL(out, "leaks of %s unknown: %s (%s)", who, why, t->path ? t->path : "?");
    free(why);
    free(who);
  }
  return true;
}

/* ---- 2a. leak budget: without a baseline, or an explicit --max-leak-bytes ------------------- */

static void check_leak_budget(const rp_report_t* r, const rp_gate_options_t* o, rp_gate_result_t* out) {
  rp_count_t leaked[RP_KINDS];
  gated_totals(r, o, leaked);
  uint64_t bytes = 0, blocks = 0;
  int kinds_leaking = 0;
  rp_str_t names = {0};
  for (int k = 0; k < RP_KINDS; k++) {
    if (!o->fail_on[k]) continue;
    bytes += leaked[k].bytes;
    blocks += leaked[k].count;
    kinds_leaking += leaked[k].count > 0;
    rp_str_addf(&names, "%s%s", names.n ? "+" : "", rp_kind_name((rp_kind_t)k));
  }
  uint64_t allowed = o->max_leak_bytes;
  /* With nothing allowed, a leaked block of 0 bytes (malloc(0)) is still a leak. */
  bool over = bytes > allowed || (allowed == 0 && blocks > 0);
  for (int k = 0; over && k < RP_KINDS; k++) {
    if (!o->fail_on[k] || leaked[k].count == 0) continue;
    const rp_entry_t* biggest = NULL;
    for (size_t i = 0; i < r->leaks.n; i++) {
      const rp_entry_t* e = &r->leaks.v[i];
      if (e->kind == (rp_kind_t)k && counts_against(r, e, o) && (!biggest || e->bytes > biggest->bytes))
        biggest = e;
    }
    char* total = kinds_leaking > 1 ? rp_xprintf("%s: %" PRIu64 " bytes, ", names.s, bytes) : rp_xstrdup("");
    const rp_stack_t* stack = biggest ? rp_stack_resolve(biggest->stack) : NULL;
    char* clue = stack && stack->nframes ? frame_label(&stack->frames[0]) : rp_xstrdup("(no frames)");
    char* where = biggest ? where_label(r, biggest) : rp_xstrdup("");
    FAIL(out, "%s leaks: %" PRIu64 " %s, %" PRIu64 " bytes (%sallowed %" PRIu64 " bytes); biggest from %s%s",
         rp_kind_name((rp_kind_t)k), leaked[k].count, plural(leaked[k].count, "block", "blocks"), leaked[k].bytes,
         total, allowed, clue, where);
    free(total);
    free(clue);
    free(where);
  }
  rp_str_free(&names);
}

/* ---- 2b. regressions against a baseline ------------------------------------------------------ */

/* Leak sites as "kind<TAB>function key", sorted, for lookups both ways. */
typedef RP_VEC(char*) keys_t;

static int compare_keys(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static bool has_key(const keys_t* keys, const char* key) {
  /* qsort and bsearch must not be given the NULL of an empty array (C11 7.22.5) */
  return keys->n && bsearch(&key, keys->v, keys->n, sizeof *keys->v, compare_keys) != NULL;
}

static void free_keys(keys_t* keys) {
  for (size_t i = 0; i < keys->n; i++)
    free(keys->v[i]);
  free(keys->v);
}

static char* site_key(rp_kind_t kind, const char* fn_key) {
  return rp_xprintf("%s\t%s", rp_kind_name(kind), fn_key);
}

static char* entry_key(const rp_entry_t* e) {
  const rp_stack_t* s = rp_stack_resolve(e->stack);
  char* fn = s ? rp_frames_fn_key(s->frames, s->nframes) : rp_frames_fn_key(NULL, 0);
  char* key = site_key(e->kind, fn);
  free(fn);
  return key;
}

/* A change in words: "grew 20.0%: 1000 -> 1200 bytes" (leaks, exact like their limits) or
 * "shrank 5.0%: 10.0 MiB -> 9.50 MiB" (sizes). */
static char* change_text(uint64_t before, uint64_t now, bool as_size) {
  char a[32], b[32];
  if (as_size) {
    rp_fmt_bytes(before, a);
    rp_fmt_bytes(now, b);
  }
  if (!as_size || strcmp(a, b) == 0) { /* exact when rounding would hide the change */
    snprintf(a, sizeof a, "%" PRIu64, before);
    snprintf(b, sizeof b, "%" PRIu64 " bytes", now);
  }
  if (before == 0) return rp_xprintf("grew from %s to %s", a, b);
  double pct = 100.0 * ((double)now - (double)before) / (double)before;
  if (pct < 0) pct = -pct;
  return rp_xprintf(pct >= 0.1 ? "%s %.1f%%: %s -> %s" : "%s %.2g%%: %s -> %s",
                    now > before ? "grew" : "shrank", pct, a, b);
}

/* Whether `now` exceeds `before` by more than pct percent; exact at the boundary for whole
 * percentages (the comparison is multiplied out, not divided). */
static bool grew_beyond(uint64_t before, uint64_t now, double pct) {
  if (now <= before) return false;
  return (long double)(now - before) * 100.0L > (long double)pct * (long double)before;
}

static void compare_amount(rp_gate_result_t* out, const char* what, uint64_t before, uint64_t now, double pct,
                           bool as_size) {
  if (now == before) return;
  char* change = change_text(before, now, as_size);
  if (grew_beyond(before, now, pct))
    FAIL(out, "%s %s (allowed +%g%%)", what, change, pct);
  else if (now > before)
    NOTE(out, "%s %s, within +%g%%", what, change, pct);
  else
    NOTE(out, "%s %s", what, change);
  free(change);
}

static void check_new_leak_sites(const rp_report_t* r, const rp_gate_options_t* o, const rp_baseline_t* b,
                                 rp_gate_result_t* out) {
  keys_t before = {0}, now = {0};
  for (size_t i = 0; i < b->leaks.n; i++)
    if (!b->leaks.v[i].suppressed) RP_PUSH(before, site_key(b->leaks.v[i].kind, b->leaks.v[i].fn_key));
  if (before.n) qsort(before.v, before.n, sizeof *before.v, compare_keys);

  for (size_t i = 0; i < r->leaks.n; i++) {
    const rp_entry_t* e = &r->leaks.v[i];
    if (e->suppressed_by >= 0) continue;
    char* key = entry_key(e);
    if (counts_against(r, e, o) && !has_key(&before, key)) {
      char* stack = stack_label(e->stack, 3);
      char* where = where_label(r, e);
      FAIL(out, "new %s leak: %" PRIu64 " %s, %" PRIu64 " bytes from %s%s (not in the baseline)",
           rp_kind_name(e->kind), e->count, plural(e->count, "block", "blocks"), e->bytes, stack, where);
      free(stack);
      free(where);
    }
    RP_PUSH(now, key);
  }
  if (now.n) qsort(now.v, now.n, sizeof *now.v, compare_keys);

  /* Sites of the baseline that are gone: the good news, a few of them by name. */
  size_t gone = 0;
  for (size_t i = 0; i < b->leaks.n; i++) {
    const rp_baseline_leak_t* l = &b->leaks.v[i];
    if (l->suppressed || !o->fail_on[l->kind]) continue;
    char* key = site_key(l->kind, l->fn_key);
    if (!has_key(&now, key) && gone++ < 5) {
      const char* semi = strchr(l->fn_key, ';');
      int len = semi ? (int)(semi - l->fn_key) : (int)strlen(l->fn_key);
      NOTE(out, "fixed since the baseline: %s leak from %.*s (%" PRIu64 " bytes)", rp_kind_name(l->kind), len,
           l->fn_key, l->bytes);
    }
    free(key);
  }
  if (gone > 5) NOTE(out, "fixed since the baseline: %zu more leak sites", gone - 5);
  free_keys(&before);
  free_keys(&now);
}

static void check_baseline(const rp_report_t* r, const rp_gate_options_t* o, bool leak_rules,
                           rp_gate_result_t* out) {
  rp_baseline_t b;
  char err[1024];
  if (!rp_baseline_load(&b, o->baseline, err, sizeof err)) rp_die("--baseline: %s", err);
  NOTE(out, "compared with the baseline %s (tolerance +%g%%)", o->baseline, o->max_increase_pct);

  if (leak_rules && b.approximate)
    NOTE(out, "leak rules skipped: the baseline run was sampled, so its leak counts are estimates");
  if (leak_rules && !b.approximate) {
    check_new_leak_sites(r, o, &b, out);
    rp_count_t leaked[RP_KINDS];
    gated_totals(r, o, leaked);
    for (int k = 0; k < RP_KINDS; k++) {
      if (!o->fail_on[k]) continue;
      char what[48];
      snprintf(what, sizeof what, "%s leaks", rp_kind_name((rp_kind_t)k));
      compare_amount(out, what, b.leaked[k].bytes, leaked[k].bytes, o->max_increase_pct, false);
    }
  }
  compare_amount(out, "peak heap", b.peak_bytes, r->peak_bytes, o->max_increase_pct, true);
  rp_baseline_free(&b);
}

/* ---- 3. peak per process ---------------------------------------------------------------------- */

static void check_peak_limit(const rp_report_t* r, const rp_gate_options_t* o, rp_gate_result_t* out) {
  for (uint32_t i = 0; i < r->ntraces; i++) {
    const rp_trace_t* t = &r->traces[i];
    uint64_t peak = t->summary.peak_bytes;
    char* who = process_label(t);
    if (!t->summary.present) {
      /* The timeline's samples and what the sites held at the peak (written with the sites, which
       * a trace cut short may have while its timeline is missing) bound the peak from below:
       * enough to fail, not to pass for sure. */
      peak = 0;
      for (size_t s = 0; s < t->timeline.n; s++)
        if (t->timeline.v[s].heap_bytes > peak) peak = t->timeline.v[s].heap_bytes;
      uint64_t at_sites = 0;
      for (size_t s = 0; s < t->sites.n; s++)
        at_sites += t->sites.v[s].peak_bytes;
      if (at_sites > peak) peak = at_sites;
      NOTE(out, "peak heap of %s taken from its timeline and sites: the trace has no summary", who);
    }
    if (peak > o->max_peak_bytes) {
      char a[32], b[32];
      rp_fmt_bytes(peak, a);
      rp_fmt_bytes(o->max_peak_bytes, b);
      if (strcmp(a, b) == 0) /* 8 MiB + 1 byte: the rounded sizes look equal, so show bytes */
        FAIL(out, "peak heap of %s: %s (%" PRIu64 " bytes) > %s (%" PRIu64 " bytes)", who, a, peak, b,
             o->max_peak_bytes);
      else
        FAIL(out, "peak heap of %s: %s > %s", who, a, b);
    }
    free(who);
  }
}

void rp_gate_run(const rp_report_t* r, const rp_gate_options_t* o, rp_gate_result_t* out) {
  bool leak_rules = leak_rules_apply(r, o, out);
  if (o->baseline) {
    check_baseline(r, o, leak_rules, out);
    if (leak_rules && o->max_leak_set) check_leak_budget(r, o, out);
  } else if (leak_rules) {
    check_leak_budget(r, o, out);
  }
  if (o->max_peak_set) check_peak_limit(r, o, out);
}
