/* render_json.c - the JSON report, docs/report-format.md (version 1): the contract CI tools read,
 * and the data the HTML page draws from. Built as a jansson tree, written compact with keys in
 * insertion order, so the output is stable. */
#include <inttypes.h>
#include <stdlib.h>

#include "render.h"
#include "suppress.h"

#define RP_REPORT_VERSION 1

static json_t* u64(uint64_t v) { return json_integer((json_int_t)v); }

static json_t* hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return json_string(buf);
}

static json_t* str_or_null(const char* s) { return s ? json_string(s) : json_null(); }

static json_t* stack_json(const rp_stack_t* s) {
  s = rp_stack_resolve(s);
  json_t* a = json_array();
  for (uint32_t i = 0; i < s->nframes; i++) {
    const rp_frame_t* f = &s->frames[i];
    json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:s, s:o, s:b}", "function", str_or_null(f->function), "file",
                                       str_or_null(f->file), "line", f->file && f->line ? u64(f->line) : json_null(),
                                       "module", f->module, "offset", hex(f->offset), "inlined", f->inlined));
  }
  return a;
}

static json_t* processes_json(const rp_entry_t* e) {
  json_t* a = json_array();
  for (size_t i = 0; i < e->traces.n; i++) json_array_append_new(a, u64(e->traces.v[i]));
  return a;
}

static json_t* counts_json(const rp_count_t* c) {
  json_t* o = json_object();
  for (int k = 0; k < RP_KINDS; k++)
    json_object_set_new(o, rp_kind_name((rp_kind_t)k), json_pack("{s:o, s:o}", "count", u64(c[k].count), "bytes", u64(c[k].bytes)));
  return o;
}

static json_t* traces_json(const rp_report_t* r) {
  json_t* a = json_array();
  for (uint32_t i = 0; i < r->ntraces; i++) {
    const rp_trace_t* t = &r->traces[i];
    uint64_t rss = 0;
    for (size_t k = 0; k < t->timeline.n; k++)
      if (t->timeline.v[k].rss_bytes > rss) rss = t->timeline.v[k].rss_bytes;
    json_t* argv = json_array();
    for (size_t k = 0; k < t->argv.n; k++) json_array_append_new(argv, json_string(t->argv.v[k]));
    json_t* o = json_pack("{s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:b}", "index", u64(i), "path", t->path, "pid",
                          json_integer(t->pid), "ppid", json_integer(t->ppid), "program", rp_trace_program(t), "exe",
                          t->exe ? t->exe : "", "argv", argv, "complete", t->incomplete == NULL);
    if (t->incomplete) json_object_set_new(o, "incomplete_reason", json_string(t->incomplete));
    json_object_set_new(o, "final", json_boolean(t->summary.final));
    json_object_set_new(o, "duration_ns", u64(t->summary.duration_ns));
    json_object_set_new(o, "allocs", u64(t->summary.allocs));
    json_object_set_new(o, "frees", u64(t->summary.frees));
    json_object_set_new(o, "peak_bytes", u64(t->summary.peak_bytes));
    json_object_set_new(o, "peak_time_ns", u64(t->summary.peak_time_ns));
    json_object_set_new(o, "peak_rss_bytes", u64(rss));
    json_object_set_new(o, "sample_bytes", u64(t->sample_bytes));
    json_object_set_new(o, "approximate", json_boolean(t->summary.approximate || t->sample_bytes));
    json_object_set_new(o, "leak_scan", json_boolean(t->summary.leak_scan));
    if (t->summary.signal) json_object_set_new(o, "signal", u64(t->summary.signal));
    if (t->exit_call) json_object_set_new(o, "exit_call", json_string(t->exit_call));
    if (t->summary.forked_child) json_object_set_new(o, "forked_child", json_true());
    json_object_set_new(o, "leak_records", u64(t->leaks.n));
    json_array_append_new(a, o);
  }
  return a;
}

static json_t* site_json(const rp_entry_t* e) {
  return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "allocs", u64(e->allocs), "frees", u64(e->frees),
                   "alloc_bytes", u64(e->alloc_bytes), "live_bytes", u64(e->live_bytes), "peak_bytes", u64(e->peak_bytes),
                   "temporary", u64(e->temporary), "processes", processes_json(e), "stack", stack_json(e->stack));
}

static json_t* top_sites(const rp_report_t* r, rp_cost_t cost, unsigned top) {
  uint32_t n;
  uint32_t* idx = rp_sites_by(r, cost, top, &n);
  json_t* a = json_array();
  for (uint32_t i = 0; i < n && i < top; i++) json_array_append_new(a, site_json(&r->sites.v[idx[i]]));
  free(idx);
  return a;
}

json_t* rp_report_json(const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o) {
  uint64_t duration = 0;
  for (uint32_t i = 0; i < r->ntraces; i++)
    if (r->traces[i].summary.duration_ns > duration) duration = r->traces[i].summary.duration_ns;
  json_t* summary = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "processes", u64(r->ntraces), "duration_ns",
                              u64(duration), "allocs", u64(r->allocs), "frees", u64(r->frees), "peak_bytes",
                              u64(r->peak_bytes), "peak_process", u64(r->peak_trace), "peak_rss_bytes", u64(r->peak_rss),
                              "approximate", r->approximate);
  json_object_set_new(summary, "leaks", counts_json(r->leaked));
  json_object_set_new(summary, "suppressed", counts_json(r->suppressed));

  const rp_suppressions_t* supp = r->suppressions;
  json_t* leaks = json_array();
  for (size_t i = 0; i < r->leaks.n; i++) {
    const rp_entry_t* e = &r->leaks.v[i];
    json_t* by = e->suppressed_by >= 0 && supp ? json_string(supp->rules.v[e->suppressed_by].pattern) : json_null();
    json_array_append_new(leaks, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "kind", rp_kind_name(e->kind), "count",
                                           u64(e->count), "bytes", u64(e->bytes), "processes", processes_json(e),
                                           "suppressed_by", by, "stack", stack_json(e->stack)));
  }
  json_t* rules = json_array();
  for (size_t i = 0; supp && i < supp->rules.n; i++) {
    const rp_suppression_t* s = &supp->rules.v[i];
    json_array_append_new(rules, json_pack("{s:s, s:s, s:o, s:o}", "pattern", s->pattern, "where", s->where, "count",
                                           u64(s->matched.count), "bytes", u64(s->matched.bytes)));
  }
  json_t* notes = json_array();
  for (size_t i = 0; i < r->notes.n; i++) json_array_append_new(notes, json_string(r->notes.v[i]));
  json_t* failures = json_array();
  json_t* gate_notes = json_array();
  for (size_t i = 0; g && i < g->failures.n; i++) json_array_append_new(failures, json_string(g->failures.v[i]));
  for (size_t i = 0; g && i < g->notes.n; i++) json_array_append_new(gate_notes, json_string(g->notes.v[i]));
  json_t* gate = json_pack("{s:b, s:o, s:o}", "passed", !g || g->failures.n == 0, "failures", failures, "notes", gate_notes);

  return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "format", "ptmem-report", "version",
                   RP_REPORT_VERSION, "traces", traces_json(r), "summary", summary, "leaks", leaks, "peak",
                   top_sites(r, RP_COST_PEAK, o->top), "hot", top_sites(r, RP_COST_ALLOCS, o->top), "temporary",
                   top_sites(r, RP_COST_TEMPORARY, o->top), "suppressions", rules, "notes", notes, "gate", gate);
}

void rp_render_json(FILE* out, const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o) {
  json_t* j = rp_report_json(r, g, o);
  if (!j) rp_die("cannot build the JSON report (a string that is not UTF-8?)");
  json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  fputc('\n', out);
  json_decref(j);
}
