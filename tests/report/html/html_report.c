/* html_report.c - writes the HTML report of a hand-made report to argv[1], for check_html.py to
 * open in a real browser. Two processes (a server and the worker it forked), leaks of every kind
 * (one suppressed), timelines with a one-sample peak (the server's long enough to be merged for
 * drawing; the worker's trace cut short, without a summary), and function and program names that
 * are markup: the page must show them literally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../check.h"
#include "render.h"
#include "suppress.h"

#define MIB (1024u * 1024u)
#define KIB 1024u

#define FRAME(fn, file, line)                                                                                \
  { (fn), (file), (line), "/usr/bin/srv", 0x1000 + (line), false }

/* Innermost frame first, as analysis.c builds them. */
static rp_frame_t leak_markup[] = {FRAME("a<b>&\"c\"</script>", "src/leak.c", 12),
                                   FRAME("std::vector<int>::push_back(int const&)", "include/vec.h", 50),
                                   FRAME("main", "src/main.c", 30)};
static rp_frame_t leak_operator[] = {FRAME("operator<", "src/cmp.cc", 7),
                                     FRAME("build_index", "src/index.c", 88),
                                     FRAME("main", "src/main.c", 31)};
static rp_frame_t leak_node[] = {FRAME("make_node", "src/list.c", 20), FRAME("build_list", "src/list.c", 40),
                                 FRAME("main", "src/main.c", 32)};
static rp_frame_t leak_cache[] = {FRAME("cache_init", "src/cache.c", 5),
                                  {NULL, NULL, 0, "/usr/lib/libplugin.so", 0x4f2a, false},
                                  FRAME("main", "src/main.c", 33)};
static rp_frame_t site_tiny[] = {FRAME("tiny_alloc", "src/tiny.c", 3), FRAME("main", "src/main.c", 35)};
static rp_frame_t site_request[] = {FRAME("<img src=x onerror=\"window.pwned=1\">", "src/req.c", 9),
                                    FRAME("handle", "src/req.c", 60), FRAME("main", "src/main.c", 34)};

#define STACK(fr)                                                                                            \
  { .frames = (fr), .nframes = sizeof(fr) / sizeof((fr)[0]), .label = #fr }
static rp_stack_t stacks[] = {STACK(leak_markup), STACK(leak_operator), STACK(leak_node),
                              STACK(leak_cache),  STACK(site_request),  STACK(site_tiny)};
enum { S_MARKUP, S_OPERATOR, S_NODE, S_CACHE, S_REQUEST, S_TINY };

static void add_process(rp_entry_t* e, uint32_t trace) {
  RP_PUSH(e->traces, trace);
}

static rp_entry_t leak(int stack, rp_kind_t kind, uint64_t count, uint64_t bytes, int suppressed_by) {
  rp_entry_t e = {
      .stack = &stacks[stack], .kind = kind, .count = count, .bytes = bytes, .suppressed_by = suppressed_by};
  add_process(&e, 0);
  return e;
}

static rp_entry_t peak_site(int stack, uint64_t peak_bytes, uint32_t trace) {
  rp_entry_t e = {.stack = &stacks[stack],
                  .allocs = 100,
                  .frees = 90,
                  .alloc_bytes = peak_bytes * 3,
                  .peak_bytes = peak_bytes,
                  .suppressed_by = -1};
  add_process(&e, trace);
  return e;
}

/* A flat heap with one sample at the peak: the plot must still reach it. */
static void timeline(rp_trace_t* t, size_t samples, uint64_t step_ns, uint64_t base, size_t peak_at,
                     uint64_t peak, uint64_t rss) {
  for (size_t i = 0; i < samples; i++) {
    rp_sample_t s = {(i + 1) * step_ns, i == peak_at ? peak : base + (i % 7) * KIB,
                     rss + (i / 100) * 4 * KIB};
    RP_PUSH(t->timeline, s);
  }
  t->summary.peak_bytes = peak;
  t->summary.peak_time_ns = (peak_at + 1) * step_ns;
  t->summary.duration_ns = samples * step_ns;
}

static void process(rp_trace_t* t, const char* path, const char* exe, int64_t pid, int64_t ppid) {
  t->path = rp_xstrdup(path);
  t->exe = rp_xstrdup(exe);
  RP_PUSH(t->argv, rp_xstrdup(exe));
  t->pid = pid;
  t->ppid = ppid;
  t->summary.present = t->summary.final = t->summary.leak_scan = t->summary.leak_scan_complete = true;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT.html\n", argv[0]);
    return 2;
  }
  rp_trace_t traces[2] = {0};
  process(&traces[0], "trace.101.json", "/usr/bin/srv<&>\"q\"", 101, 1);
  process(&traces[1], "trace.102.json", "/usr/bin/worker", 102, 101);
  /* Server: 5000 samples, 1 ms apart (merged for drawing), 3 MiB for one sample at 1.2 s. */
  timeline(&traces[0], 5000, 1000000, 1 * MIB, 1199, 3 * MIB, 8 * MIB);
  traces[0].summary.allocs = 5000;
  traces[0].summary.frees = 4990;
  timeline(&traces[1], 300, 1000000, 256 * KIB, 150, 768 * KIB, 4 * MIB);
  /* The worker was killed while writing its trace: samples, but no summary, so no peak. */
  traces[1].summary = (rp_summary_t){0};
  traces[1].incomplete = rp_xstrdup("the file ends inside a line");

  rp_suppressions_t supp = {0};
  rp_suppression_t rule = {rp_xstrdup("libplugin.so"), rp_xstrdup("supp.txt:1"), {1, 4096}};
  RP_PUSH(supp.rules, rule);

  rp_report_t r = {.traces = traces, .ntraces = 2, .suppressions = &supp};
  RP_PUSH(r.leaks, leak(S_MARKUP, RP_DEFINITE, 2, 96, -1));
  RP_PUSH(r.leaks, leak(S_OPERATOR, RP_DEFINITE, 1, 40, -1));
  RP_PUSH(r.leaks, leak(S_NODE, RP_INDIRECT, 4, 128, -1));
  RP_PUSH(r.leaks, leak(S_CACHE, RP_REACHABLE, 1, 4096, 0));
  RP_PUSH(r.leaks, leak(S_REQUEST, RP_REACHABLE, 1, 64, -1)); /* beyond --top 1: behind a button */
  add_process(&r.leaks.v[1], 1);                              /* the same leak in the worker too */
  r.leaked[RP_DEFINITE] = (rp_count_t){3, 136};
  r.leaked[RP_INDIRECT] = (rp_count_t){4, 128};
  r.leaked[RP_REACHABLE] = (rp_count_t){1, 64};
  r.suppressed[RP_REACHABLE] = (rp_count_t){1, 4096};

  RP_PUSH(r.sites, peak_site(S_MARKUP, 2 * MIB, 0));
  RP_PUSH(r.sites, peak_site(S_OPERATOR, 768 * KIB, 0));
  RP_PUSH(r.sites, peak_site(S_REQUEST, 512 * KIB, 0));
  RP_PUSH(r.sites, peak_site(S_NODE, 512 * KIB, 1));
  RP_PUSH(r.sites, peak_site(S_REQUEST, 256 * KIB, 1));
  RP_PUSH(r.sites, peak_site(S_TINY, 16, 0)); /* under 1/100000 of the peak: not in the flame graph */
  r.allocs = 5700;
  r.frees = 5690;
  r.peak_bytes = 3 * MIB;
  r.peak_trace = 0;
  r.peak_rss = 8 * MIB + 49 * 4 * KIB;

  rp_gate_result_t gate = {0};
  RP_PUSH(gate.failures, rp_xstrdup("definite leaks: 3 blocks, 136 B in a<b>&\"c\"</script> (limit 0 B)"));
  RP_PUSH(gate.notes, rp_xstrdup("reachable leaks are not gated (--fail-on=definite,indirect)"));

  rp_render_options_t options = {.top = 1};
  FILE* out = fopen(argv[1], "w");
  CHECK(out != NULL);
  rp_render_html(out, &r, &gate, &options);
  CHECK(fclose(out) == 0);

  for (size_t i = 0; i < r.leaks.n; i++)
    free(r.leaks.v[i].traces.v);
  for (size_t i = 0; i < r.sites.n; i++)
    free(r.sites.v[i].traces.v);
  free(r.leaks.v);
  free(r.sites.v);
  for (int i = 0; i < 2; i++)
    rp_trace_free(&traces[i]);
  free(rule.pattern);
  free(rule.where);
  free(supp.rules.v);
  for (size_t i = 0; i < gate.failures.n; i++)
    free(gate.failures.v[i]);
  for (size_t i = 0; i < gate.notes.n; i++)
    free(gate.notes.v[i]);
  free(gate.failures.v);
  free(gate.notes.v);
  return 0;
}
