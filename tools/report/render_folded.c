/* render_folded.c - Brendan Gregg's folded stacks ("outer;...;inner cost" per line), the input of
 * flamegraph.pl, speedscope and inferno, and of the HTML report's flame graph; plus the one way
 * frames are printed as text. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

const char* rp_frame_label(const rp_frame_t* f, char* buf, size_t size, bool with_line) {
  if (f->function && f->file && with_line)
    snprintf(buf, size, "%s (%s:%" PRIu32 ")", f->function, f->file, f->line);
  else if (f->function)
    snprintf(buf, size, "%s", f->function);
  else
    snprintf(buf, size, "%s+0x%" PRIx64, *f->module ? rp_basename(f->module) : "?", f->offset);
  return buf;
}

/* Folded frames may not contain ';' (the separator) nor end with a number-looking field after a
 * space; C++ names contain neither ';' nor newlines, but trace data is not trusted. */
static void add_frame(rp_str_t* line, const rp_frame_t* f) {
  char buf[1024];
  rp_frame_label(f, buf, sizeof buf, false);
  for (char* c = buf; *c; c++)
    if (*c == ';' || *c == '\n' || *c == '\r') *c = ':';
  rp_str_add(line, buf);
}

void rp_folded_lines(const rp_report_t* r, rp_cost_t cost, void (*emit)(void* ctx, const char* line, uint64_t cost), void* ctx) {
  uint32_t n;
  uint32_t* idx = rp_sites_by(r, cost, 0, &n);
  const rp_entry_t* base = cost == RP_COST_LEAKED ? r->leaks.v : r->sites.v;
  rp_str_t line = {0};
  for (uint32_t i = 0; i < n; i++) {
    const rp_entry_t* e = &base[idx[i]];
    rp_str_clear(&line);
    if (r->ntraces > 1) { /* several processes: each is its own root */
      rp_str_addf(&line, "%s[%" PRId64 "]", rp_trace_program(&r->traces[e->traces.v[0]]), r->traces[e->traces.v[0]].pid);
      if (e->traces.n > 1) rp_str_addf(&line, "+%zu", e->traces.n - 1);
    }
    const rp_stack_t* s = rp_stack_resolve(e->stack);
    for (uint32_t k = s->nframes; k-- > 0;) {
      if (line.n) rp_str_add(&line, ";");
      add_frame(&line, &s->frames[k]);
    }
    if (!line.n) rp_str_add(&line, "(unknown)");
    emit(ctx, line.s, rp_site_cost(e, cost));
  }
  rp_str_free(&line);
  free(idx);
}

static void print_line(void* ctx, const char* line, uint64_t cost) { fprintf(ctx, "%s %" PRIu64 "\n", line, cost); }

void rp_render_folded(FILE* out, const rp_report_t* r, const rp_render_options_t* o) {
  rp_folded_lines(r, o->folded_cost, print_line, out);
}
