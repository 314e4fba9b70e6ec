/* render_text.c - the terminal report: summary, leaks (definite and indirect in full, reachable
 * up to --top), the peak's biggest sites, hot sites, temporary allocations, notes, and the gate.
 * Colour only when asked (main.c turns it on for a terminal): kinds and the gate stand out. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "suppress.h"

typedef struct text_s {
  FILE* out;
  const rp_report_t* r;
  const rp_render_options_t* o;
} text_t;

static const char* ansi(const text_t* x, const char* code) { return x->o->color ? code : ""; }
#define BOLD "\033[1m"
#define RED "\033[31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char* kind_color(const text_t* x, rp_kind_t k) {
  return ansi(x, k == RP_DEFINITE ? RED : k == RP_INDIRECT ? YELLOW : DIM);
}

static void heading(const text_t* x, const char* title) {
  fprintf(x->out, "\n%s%s%s\n", ansi(x, BOLD), title, ansi(x, RESET));
}

static void print_stack(const text_t* x, const rp_stack_t* s) {
  s = rp_stack_resolve(s);
  unsigned limit = x->o->frames ? x->o->frames : UINT32_MAX;
  for (uint32_t i = 0; i < s->nframes && i < limit; i++) {
    const rp_frame_t* f = &s->frames[i];
    char label[1200];
    if (f->function && f->file)
      snprintf(label, sizeof label, "%s at %s:%" PRIu32, f->function, f->file, f->line);
    else
      rp_frame_label(f, label, sizeof label, false);
    fprintf(x->out, "    #%-2" PRIu32 " %s%s %s[%s]%s\n", i, label, f->inlined ? " (inlined)" : "", ansi(x, DIM),
            *f->module ? rp_basename(f->module) : "no module", ansi(x, RESET));
  }
  if (s->nframes > limit)
    fprintf(x->out, "    ... %" PRIu32 " more frame%s (--frames 0 shows all)\n", s->nframes - limit,
            s->nframes - limit == 1 ? "" : "s");
  if (!s->nframes) fprintf(x->out, "    %s\n", s->label ? s->label : "(no frames)");
}

static void print_processes(const text_t* x, const rp_entry_t* e) {
  if (x->r->ntraces < 2) return;
  fprintf(x->out, "    in ");
  for (size_t i = 0; i < e->traces.n; i++) {
    const rp_trace_t* t = &x->r->traces[e->traces.v[i]];
    fprintf(x->out, "%s%s (pid %" PRId64 ")", i ? ", " : "", rp_trace_program(t), t->pid);
    if (i == 7 && e->traces.n > 8) {
      fprintf(x->out, " and %zu more", e->traces.n - 8);
      break;
    }
  }
  fputc('\n', x->out);
}

/* The figures come from the exit scans: with none they are unknown, not zero; else the lines say
 * what they leave out (processes without a scan, traces cut while writing their leaks) and whether
 * they are estimates (sampled). Reachable blocks get a line of their own: a newcomer reads
 * everything on the "leaks" line as something to fix. */
typedef struct leak_scans_s {
  uint32_t unscanned, cut; /* cut: leak records, but no summary saying the scan ended */
  bool sampled;
} leak_scans_t;

static leak_scans_t leak_scans(const rp_report_t* r) {
  leak_scans_t s = {0, 0, false};
  for (uint32_t i = 0; i < r->ntraces; i++) {
    const rp_trace_t* t = &r->traces[i];
    if (!t->summary.leak_scan && !t->leaks.n) s.unscanned++;
    else if (!t->summary.leak_scan) s.cut++;
    else if (t->summary.approximate || t->sample_bytes) s.sampled = true;
  }
  return s;
}

static bool leaks_unknown(const rp_report_t* r) { return r->ntraces && leak_scans(r).unscanned == r->ntraces; }

static void leak_totals(const text_t* x) {
  const rp_report_t* r = x->r;
  char a[32], caveat[160] = "";
  leak_scans_t s = leak_scans(r);
  uint32_t unscanned = s.unscanned, cut = s.cut;
  bool sampled = s.sampled;
  if (leaks_unknown(r)) {
    fprintf(x->out, "  leaks          unknown (no leak scan in the trace%s)\n", r->ntraces == 1 ? "" : "s");
    return;
  }
  size_t n = 0;
  if (sampled) n += (size_t)snprintf(caveat + n, sizeof caveat - n, ", estimated: sampled");
  if (cut) n += (size_t)snprintf(caveat + n, sizeof caveat - n, ", at least: %s cut short", cut == 1 ? "a trace was" : "traces were");
  if (unscanned)
    snprintf(caveat + n, sizeof caveat - n, ", not counting %" PRIu32 " process%s without a leak scan", unscanned,
             unscanned == 1 ? "" : "es");
  fprintf(x->out, "  leaks         ");
  for (int k = RP_DEFINITE; k <= RP_INDIRECT; k++)
    fprintf(x->out, " %s%s%s %" PRIu64 " (%s)%s", kind_color(x, (rp_kind_t)k), rp_kind_name((rp_kind_t)k), ansi(x, RESET),
            r->leaked[k].count, rp_fmt_bytes(r->leaked[k].bytes, a), k == RP_DEFINITE ? "," : "");
  fprintf(x->out, "%s\n", caveat);
  fprintf(x->out, "  not leaks      %sreachable%s %" PRIu64 " (%s): still referenced at exit%s\n", kind_color(x, RP_REACHABLE),
          ansi(x, RESET), r->leaked[RP_REACHABLE].count, rp_fmt_bytes(r->leaked[RP_REACHABLE].bytes, a), caveat);
}

static void suppressed_line(const text_t* x) {
  const rp_report_t* r = x->r;
  char a[32];
  uint64_t sc = 0, sb = 0;
  for (int k = 0; k < RP_KINDS; k++) {
    sc += r->suppressed[k].count;
    sb += r->suppressed[k].bytes;
  }
  if (sc) {
    fprintf(x->out, "  suppressed     %" PRIu64 " block%s (%s):", sc, sc == 1 ? "" : "s", rp_fmt_bytes(sb, a));
    const char* sep = " ";
    for (int k = 0; k < RP_KINDS; k++) {
      if (!r->suppressed[k].count) continue;
      fprintf(x->out, "%s%s %" PRIu64, sep, rp_kind_name((rp_kind_t)k), r->suppressed[k].count);
      sep = ", ";
    }
    fputc('\n', x->out);
  }
}

static void summary(const text_t* x) {
  const rp_report_t* r = x->r;
  char a[32], b[32], c[32];
  fprintf(x->out, "%sptmem report%s: ", ansi(x, BOLD), ansi(x, RESET));
  for (uint32_t i = 0; i < r->ntraces && i < 6; i++)
    fprintf(x->out, "%s%s (pid %" PRId64 ")", i ? ", " : "", rp_trace_program(&r->traces[i]), r->traces[i].pid);
  if (r->ntraces > 6) fprintf(x->out, " and %" PRIu32 " more", r->ntraces - 6);
  fputc('\n', x->out);
  uint64_t duration = 0;
  for (uint32_t i = 0; i < r->ntraces; i++)
    if (r->traces[i].summary.duration_ns > duration) duration = r->traces[i].summary.duration_ns;
  const rp_trace_t* pt = &r->traces[r->peak_trace];
  if (duration || pt->summary.present)
    fprintf(x->out, "  duration       %s\n", rp_fmt_duration(duration, a));
  else
    fprintf(x->out, "  duration       unknown (the trace has no summary)\n");
  uint32_t without_summary = 0; /* their counts are in no summary: not in r->allocs */
  for (uint32_t i = 0; i < r->ntraces; i++) without_summary += !r->traces[i].summary.present;
  if (without_summary == r->ntraces)
    fprintf(x->out, "  allocations    unknown (the trace has no summary)\n");
  else if (without_summary)
    fprintf(x->out, "  allocations    %" PRIu64 " (%" PRIu64 " frees)%s, not counting %" PRIu32 " process%s without a summary\n",
            r->allocs, r->frees, r->approximate ? " (estimated)" : "", without_summary, without_summary == 1 ? "" : "es");
  else
    fprintf(x->out, "  allocations    %" PRIu64 " (%" PRIu64 " frees)%s\n", r->allocs, r->frees, r->approximate ? " (estimated)" : "");
  if (pt->summary.present)
    fprintf(x->out, "  peak heap      %s at %s", rp_fmt_bytes(r->peak_bytes, a), rp_fmt_duration(pt->summary.peak_time_ns, b));
  else
    fprintf(x->out, "  peak heap      unknown (the trace has no summary)");
  if (r->ntraces > 1) fprintf(x->out, " in %s (pid %" PRId64 ")", rp_trace_program(pt), pt->pid);
  if (pt->summary.present && without_summary) /* their peaks are unknown and may be higher */
    fprintf(x->out, ", not counting %" PRIu32 " process%s without a summary", without_summary, without_summary == 1 ? "" : "es");
  fprintf(x->out, "\n  peak RSS       %s\n", r->peak_rss ? rp_fmt_bytes(r->peak_rss, c) : "not sampled");
  leak_totals(x);
  suppressed_line(x);
}

static void leaks(const text_t* x) {
  const rp_report_t* r = x->r;
  unsigned reachable_shown = 0, reachable_total = 0, listed = 0;
  heading(x, "LEAKS (by allocation stack, biggest first)");
  if (r->leaked[RP_DEFINITE].count || r->leaked[RP_INDIRECT].count) /* read before the first stack */
    fprintf(x->out, "  definite: nothing pointed to the block at exit; indirect: only leaked blocks point to it\n"
                    "  (freeing those usually fixes it). A stack is where the block was allocated: the free() is\n"
                    "  missing where its last owner drops it.\n");
  for (size_t i = 0; i < r->leaks.n; i++) {
    const rp_entry_t* e = &r->leaks.v[i];
    if (e->suppressed_by >= 0) continue;
    if (e->kind == RP_REACHABLE && reachable_total++ >= x->o->top) continue;
    reachable_shown += e->kind == RP_REACHABLE;
    char b[32];
    fprintf(x->out, "\n%s%s%s: %s in %" PRIu64 " block%s allocated from\n", kind_color(x, e->kind), rp_kind_name(e->kind),
            ansi(x, RESET), rp_fmt_bytes(e->bytes, b), e->count, e->count == 1 ? "" : "s");
    print_stack(x, e->stack);
    print_processes(x, e);
    listed++;
  }
  if (!listed && leaks_unknown(r)) fprintf(x->out, "  unknown (no leak scan in the trace%s)\n", r->ntraces == 1 ? "" : "s");
  else if (!listed) fprintf(x->out, "  none\n");
  if (reachable_total > reachable_shown)
    fprintf(x->out, "\n  ... %u more reachable site%s (still referenced at exit, not leaks: --top shows more)\n",
            reachable_total - reachable_shown, reachable_total - reachable_shown == 1 ? "" : "s");
  const rp_suppressions_t* s = r->suppressions;
  for (size_t i = 0; s && i < s->rules.n; i++) {
    if (i == 0) fprintf(x->out, "\n  suppressions used (blocks, bytes, pattern):\n");
    char b[32];
    fprintf(x->out, "    %8" PRIu64 " %10s  %s  (%s)\n", s->rules.v[i].matched.count, rp_fmt_bytes(s->rules.v[i].matched.bytes, b),
            s->rules.v[i].pattern, s->rules.v[i].where);
  }
}

static void sites(const text_t* x, rp_cost_t cost, const char* title) {
  const rp_report_t* r = x->r;
  uint32_t n;
  uint32_t* idx = rp_sites_by(r, cost, x->o->top, &n);
  heading(x, title);
  uint64_t total = 0, peaks = 0; /* several processes: a site's share is of the sum of their peaks */
  for (uint32_t i = 0; i < n; i++) total += rp_site_cost(&r->sites.v[idx[i]], cost);
  for (uint32_t i = 0; i < r->ntraces; i++) {
    const rp_trace_t* t = &r->traces[i];
    if (t->summary.present) {
      peaks += t->summary.peak_bytes;
      continue;
    }
    /* No summary, no peak: what its sites held at the peak adds up to it (docs/trace-format.md),
     * and leaving it out would make its sites' shares 0% alone or more than their due merged. */
    for (size_t k = 0; k < t->sites.n; k++) peaks += t->sites.v[k].peak_bytes;
  }
  for (uint32_t i = 0; i < n && i < x->o->top; i++) {
    const rp_entry_t* e = &r->sites.v[idx[i]];
    char a[32], b[32];
    if (cost == RP_COST_PEAK)
      fprintf(x->out, "\n%s (%.1f%% of the peak%s) from a site of %" PRIu64 " allocation%s (%s in all)\n", rp_fmt_bytes(e->peak_bytes, a),
              peaks ? 100.0 * (double)e->peak_bytes / (double)peaks : 0.0, r->ntraces > 1 ? "s" : "", e->allocs, e->allocs == 1 ? "" : "s",
              rp_fmt_bytes(e->alloc_bytes, b));
    else if (cost == RP_COST_ALLOCS)
      fprintf(x->out, "\n%" PRIu64 " allocation%s (%.1f%%), %s in all, %" PRIu64 " temporary, from\n", e->allocs,
              e->allocs == 1 ? "" : "s", total ? 100.0 * (double)e->allocs / (double)total : 0.0, rp_fmt_bytes(e->alloc_bytes, a), e->temporary);
    else
      fprintf(x->out, "\n%" PRIu64 " temporary allocation%s of %" PRIu64 " (freed before the next allocation) from\n", e->temporary,
              e->temporary == 1 ? "" : "s", e->allocs);
    print_stack(x, e->stack);
    print_processes(x, e);
  }
  if (!n) fprintf(x->out, "  none\n");
  if (n > x->o->top) fprintf(x->out, "\n  ... %" PRIu32 " more site%s\n", n - x->o->top, n - x->o->top == 1 ? "" : "s");
  free(idx);
}

/* A leak rule that suppressions or a baseline can settle (not "leaks of ... unknown", which
 * --allow-incomplete is about): its failure line names a leak kind. */
static bool leak_rule_failed(const rp_gate_result_t* g) {
  for (size_t i = 0; i < g->failures.n; i++)
    if (strstr(g->failures.v[i], " leak") && !strstr(g->failures.v[i], " unknown: ")) return true;
  return false;
}

void rp_render_text(FILE* out, const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o) {
  text_t x = {out, r, o};
  summary(&x);
  leaks(&x);
  sites(&x, RP_COST_PEAK, "PEAK (sites holding the most memory at the heap peak)");
  sites(&x, RP_COST_ALLOCS, "HOT SITES (most allocations)");
  sites(&x, RP_COST_TEMPORARY, "TEMPORARY ALLOCATIONS");
  if (r->notes.n) heading(&x, "NOTES");
  for (size_t i = 0; i < r->notes.n; i++) fprintf(out, "  %s\n", r->notes.v[i]);
  if (!g) return;
  heading(&x, "GATE");
  for (size_t i = 0; i < g->notes.n; i++) fprintf(out, "  %s\n", g->notes.v[i]);
  for (size_t i = 0; i < g->failures.n; i++) fprintf(out, "  %s%s%s\n", ansi(&x, RED), g->failures.v[i], ansi(&x, RESET));
  if (!g->failures.n) fprintf(out, "  %spassed%s\n", ansi(&x, GREEN), ansi(&x, RESET));
  else if (leak_rule_failed(g))
    fprintf(out, "  (leaks that cannot be fixed here, e.g. in a library: --suppressions FILE with leak:FUNCTION lines,\n"
                 "  or --baseline OLD.json to fail only on new ones; docs/report.md)\n");
}
