/* render_html.c - `--format html`: one self-contained page (html/report.html, embedded at build
 * time) with the report's data as JSON inside it; the page's script draws the summary, a plot of
 * heap and RSS over time per process, an icicle flame graph of the peak and the leak table.
 *
 * The data is the JSON report of docs/report-format.md ("report"), plus what only the page needs:
 * each process's timeline ("timelines": column arrays) and the folded stacks of the peak
 * ("peak_stacks": frames outermost first, with their bytes). Every '<' of the JSON text is written
 * as \u003c: JSON.parse reads the same string, and no trace text (a function named
 * `operator</script>` or a path with "<!--") can end or confuse the script element. */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "report_html_template.h" /* rp_report_html_template: html/report.html, NUL-terminated */

#define TITLE_MARKER "@PTMEM_TITLE@"
#define DATA_MARKER "@PTMEM_DATA@"

/* A timeline longer than this is merged into as many buckets for drawing: an SVG path of 16384
 * points (the tracker's bound) per process makes the page slow for no visible gain. */
enum { PLOT_POINTS = 2000 };

/* Trace text is not guaranteed to be UTF-8 (paths are bytes), and jansson refuses such strings:
 * those bytes become '?' rather than the whole page failing. */
static json_t* text_json(const char* s) {
  json_t* j = json_string(s);
  if (j) return j;
  char* copy = rp_xstrdup(s);
  for (char* c = copy; *c; c++)
    if ((unsigned char)*c >= 0x80) *c = '?';
  j = json_string(copy);
  free(copy);
  return j;
}

/* Merging keeps each bucket's highest heap and RSS, at the time of its highest heap, as the
 * tracker itself does when it merges samples: peaks stay visible at their time. */
static json_t* timeline_json(uint32_t index, const rp_trace_t* t) {
  size_t n = t->timeline.n;
  size_t buckets = n > PLOT_POINTS ? PLOT_POINTS : n;
  json_t *times = json_array(), *heap = json_array(), *rss = json_array();
  for (size_t b = 0; b < buckets; b++) {
    size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
    rp_sample_t best = t->timeline.v[lo];
    uint64_t rss_max = best.rss_bytes;
    for (size_t i = lo + 1; i < hi; i++) {
      const rp_sample_t* s = &t->timeline.v[i];
      if (s->heap_bytes > best.heap_bytes) best = *s;
      if (s->rss_bytes > rss_max) rss_max = s->rss_bytes;
    }
    json_array_append_new(times, json_integer((json_int_t)best.t_ns));
    json_array_append_new(heap, json_integer((json_int_t)best.heap_bytes));
    json_array_append_new(rss, json_integer((json_int_t)rss_max));
  }
  return json_pack("{s:I, s:o, s:o, s:o, s:b}", "trace", (json_int_t)index, "t_ns", times, "heap_bytes",
                   heap, "rss_bytes", rss, "merged", n > buckets);
}

/* rp_folded_lines gives "outer;...;inner" and the cost separately. */
static void add_peak_stack(void* ctx, const char* line, uint64_t cost) {
  if (!cost) return;
  json_t* frames = json_array();
  for (const char* p = line;;) {
    const char* end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char* frame = rp_xstrndup(p, len);
    json_array_append_new(frames, text_json(frame));
    free(frame);
    if (!end) break;
    p = end + 1;
  }
  json_array_append_new(ctx, json_pack("{s:o, s:I}", "frames", frames, "bytes", (json_int_t)cost));
}

static json_t* page_data(const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o) {
  json_t* timelines = json_array();
  for (uint32_t i = 0; i < r->ntraces; i++)
    if (r->traces[i].timeline.n) json_array_append_new(timelines, timeline_json(i, &r->traces[i]));
  json_t* stacks = json_array();
  rp_folded_lines(r, RP_COST_PEAK, add_peak_stack, stacks);
  json_t* data = json_pack("{s:o, s:o, s:o}", "report", rp_report_json(r, g, o), "timelines", timelines,
                           "peak_stacks", stacks);
  if (o && o->title) json_object_set_new(data, "title", text_json(o->title));
  return data;
}

static int write_script_safe(const char* buffer, size_t size, void* out) {
  size_t start = 0;
  for (size_t i = 0; i < size; i++) {
    if (buffer[i] != '<') continue;
    fwrite(buffer + start, 1, i - start, out);
    fputs("\\u003c", out);
    start = i + 1;
  }
  fwrite(buffer + start, 1, size - start, out);
  return 0;
}

static void write_html_text(FILE* out, const char* s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': fputs("&amp;", out); break;
      case '<': fputs("&lt;", out); break;
      case '>': fputs("&gt;", out); break;
      case '"': fputs("&quot;", out); break;
      default: fputc(*s, out);
    }
  }
}

/* The <title> before the script runs (and for tab lists and history): the given title, or the
 * programs, as the page's heading says too. */
static void write_title(FILE* out, const rp_report_t* r, const rp_render_options_t* o) {
  if (o && o->title) {
    write_html_text(out, o->title);
    return;
  }
  fputs("ptmem report: ", out);
  for (uint32_t i = 0; i < r->ntraces; i++) {
    const char* name = rp_trace_program(&r->traces[i]);
    bool seen = false;
    for (uint32_t k = 0; k < i && !seen; k++) seen = strcmp(name, rp_trace_program(&r->traces[k])) == 0;
    if (seen) continue;
    if (i) fputs(", ", out);
    write_html_text(out, name);
  }
}

void rp_render_html(FILE* out, const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o) {
  const char* page = (const char*)rp_report_html_template;
  const char* title = strstr(page, TITLE_MARKER);
  const char* data = title ? strstr(title, DATA_MARKER) : NULL;
  if (!title || !data) rp_die("internal error: the HTML template has lost its markers");

  fwrite(page, 1, (size_t)(title - page), out);
  write_title(out, r, o);
  const char* rest = title + strlen(TITLE_MARKER);
  fwrite(rest, 1, (size_t)(data - rest), out);
  json_t* json = page_data(r, g, o);
  if (json_dump_callback(json, write_script_safe, out, JSON_COMPACT) != 0)
    rp_die("cannot write the HTML report's data (a string that is not UTF-8?)");
  json_decref(json);
  fputs(data + strlen(DATA_MARKER), out);
}
