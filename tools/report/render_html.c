/* render_html.c - `--format html`: one self-contained page (html/report.html, embedded at build
 * time) with the report's data as JSON inside it; the page's script draws the summary, a plot of
 * heap and RSS over time per process, an icicle flame graph of the peak and the leak table.
 *
 * The data is the JSON report of docs/report-format.md ("report"), plus what only the page needs:
 * each process's timeline ("timelines": column arrays), the call tree of the peak built from the
 * folded stacks ("flame": columns name, parent, bytes) and --top ("top"). Every '<' of the JSON
 * text is written as \u003c: JSON.parse reads the same string, and no trace text (a function
 * named `operator</script>` or a path with "<!--") can end or confuse the script element. */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "report_html_template.h" /* rp_report_html_template: html/report.html, NUL-terminated */

#define TITLE_MARKER "@PTMEM_TITLE@"
#define DATA_MARKER  "@PTMEM_DATA@"

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
  return json_pack("{s:I, s:o, s:o, s:o, s:b}", "trace", (json_int_t)index, "t_ns", times, "heap_bytes", heap,
                   "rss_bytes", rss, "merged", n > buckets);
}

/* The flame graph's tree, built here rather than in the page: a real program's peak has thousands
 * of stacks sharing most of their frames (python3: 6903 stacks, 297928 frames, 35907 distinct
 * call paths), so the page gets each call path once. Node 0 is the root; a node's children are
 * found through one open-addressing table keyed by (parent, frame label). */
typedef struct flame_node_s {
  char* name;
  uint32_t parent;
  uint64_t bytes; /* live at the peak in this call path and below */
} flame_node_t;

typedef struct flame_s {
  RP_VEC(flame_node_t) nodes;
  uint32_t* slots; /* node ids; 0 (the root, never a child) marks a free slot */
  size_t nslots;   /* a power of two, at least twice the node count */
} flame_t;

static uint64_t child_hash(uint32_t parent, const char* name, size_t len) {
  return rp_hash_bytes(name, len, parent);
}

static void flame_grow(flame_t* f) {
  size_t n = f->nslots ? f->nslots * 2 : 1024;
  uint32_t* slots = rp_xcalloc(n, sizeof *slots);
  for (size_t i = 1; i < f->nodes.n; i++) {
    const flame_node_t* node = &f->nodes.v[i];
    size_t k = child_hash(node->parent, node->name, strlen(node->name)) & (n - 1);
    while (slots[k])
      k = (k + 1) & (n - 1);
    slots[k] = (uint32_t)i;
  }
  free(f->slots);
  f->slots = slots;
  f->nslots = n;
}

static uint32_t flame_child(flame_t* f, uint32_t parent, const char* name, size_t len) {
  if (2 * (f->nodes.n + 1) > f->nslots) flame_grow(f);
  size_t k = child_hash(parent, name, len) & (f->nslots - 1);
  for (; f->slots[k]; k = (k + 1) & (f->nslots - 1)) {
    const flame_node_t* node = &f->nodes.v[f->slots[k]];
    if (node->parent == parent && strncmp(node->name, name, len) == 0 && node->name[len] == 0)
      return f->slots[k];
  }
  flame_node_t node = {rp_xstrndup(name, len), parent, 0};
  f->slots[k] = (uint32_t)f->nodes.n;
  RP_PUSH(f->nodes, node);
  return f->slots[k];
}

/* rp_folded_lines gives "outer;...;inner" and the cost separately. */
static void flame_add(void* ctx, const char* line, uint64_t cost) {
  flame_t* f = ctx;
  f->nodes.v[0].bytes += cost;
  uint32_t node = 0;
  for (const char* p = line;;) {
    const char* end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    node = flame_child(f, node, p, len);
    f->nodes.v[node].bytes += cost;
    if (!end) break;
    p = end + 1;
  }
}

/* Columns name, parent, bytes; parents come before their children. Call paths holding less than
 * 1/FLAME_MIN_SHARE of the peak are left out: the page draws no frame under 0.08% of the view,
 * so they could only appear after zooming in 80 times. */
enum { FLAME_MIN_SHARE = 100000 };
static json_t* flame_json(const rp_report_t* r) {
  flame_t f = {0};
  flame_node_t root = {rp_xstrdup("all"), 0, 0};
  RP_PUSH(f.nodes, root);
  rp_folded_lines(r, RP_COST_PEAK, flame_add, &f);
  uint32_t* id = rp_xcalloc(f.nodes.n, sizeof *id); /* new index + 1, or 0 when left out */
  json_t *names = json_array(), *parents = json_array(), *bytes = json_array();
  uint32_t kept = 0;
  for (size_t i = 0; i < f.nodes.n; i++) {
    const flame_node_t* node = &f.nodes.v[i];
    bool visible =
        i == 0 || (id[node->parent] && node->bytes >= f.nodes.v[0].bytes / FLAME_MIN_SHARE && node->bytes);
    if (visible) {
      id[i] = ++kept;
      json_array_append_new(names, text_json(node->name));
      json_array_append_new(parents, json_integer(i ? (json_int_t)id[node->parent] - 1 : -1));
      json_array_append_new(bytes, json_integer((json_int_t)node->bytes));
    }
    free(node->name);
  }
  free(id);
  free(f.nodes.v);
  free(f.slots);
  return json_pack("{s:o, s:o, s:o}", "name", names, "parent", parents, "bytes", bytes);
}

static json_t* page_data(const rp_report_t* r, const rp_gate_result_t* g, const rp_render_options_t* o) {
  json_t* timelines = json_array();
  for (uint32_t i = 0; i < r->ntraces; i++)
    if (r->traces[i].timeline.n) json_array_append_new(timelines, timeline_json(i, &r->traces[i]));
  json_t* data = json_pack("{s:o, s:o, s:o, s:i}", "report", rp_report_json(r, g, o), "timelines", timelines,
                           "flame", flame_json(r), "top", o ? (int)o->top : 10);
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
    case '&':
      fputs("&amp;", out);
      break;
    case '<':
      fputs("&lt;", out);
      break;
    case '>':
      fputs("&gt;", out);
      break;
    case '"':
      fputs("&quot;", out);
      break;
    default:
      fputc(*s, out);
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
    for (uint32_t k = 0; k < i && !seen; k++)
      seen = strcmp(name, rp_trace_program(&r->traces[k])) == 0;
    if (seen) continue;
    if (i) fputs(", ", out);
    write_html_text(out, name);
  }
}

void rp_render_html(FILE* out, const rp_report_t* r, const rp_gate_result_t* g,
                    const rp_render_options_t* o) {
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
