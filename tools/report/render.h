/* render.h - the output formats. Each writes the whole report to `out`. */
#ifndef PTMEM_REPORT_RENDER_H
#define PTMEM_REPORT_RENDER_H
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "gate.h"

typedef struct rp_render_options_s {
  unsigned top;            /* entries per section (peak, hot, temporary; leaks of kind reachable) */
  unsigned frames;         /* text: frames printed per stack, 0 for all */
  bool color;              /* ANSI colour (text only) */
  rp_cost_t folded_cost;   /* folded: which cost the stacks carry */
  const char* title;       /* html */
} rp_render_options_t;

void rp_render_text(FILE* out, const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o);
void rp_render_folded(FILE* out, const rp_report_t* r, const rp_render_options_t* o);
void rp_render_html(FILE* out, const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o);
void rp_render_json(FILE* out, const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o);
/* The JSON report as a tree (docs/report-format.md); the HTML report embeds it. */
json_t* rp_report_json(const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o);
/* One folded line per stack ("outer;...;inner cost"), the flame graph's input, for html too. */
void rp_folded_lines(const rp_report_t* r, rp_cost_t cost, void (*emit)(void* ctx, const char* line, uint64_t cost), void* ctx);
/* A frame as one string: "function (file:line)", "function (module)", "module+0xoffset". */
const char* rp_frame_label(const rp_frame_t* f, char* buf, size_t size, bool with_line);

#endif
