/* main.c - ptmem-report's command line: options, reading every trace (a directory stands for the
 * traces in it), analysis, the chosen format, the gate. Exit codes: 0 clean, 1 a gate rule
 * failed, 2 bad usage or unreadable input (docs/report.md). */
#define _GNU_SOURCE /* getopt_long */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "baseline.h"
#include "gate.h"
#include "render.h"
#include "suppress.h"
#include "symbolize.h"
#include "trace_read.h"

#ifndef PTMEM_VERSION
#define PTMEM_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: ptmem-report [OPTIONS] TRACE|DIR...\n"
    "Reads ptmem traces (PTMEM_TRACK=1 LD_PRELOAD=libptmem.so ./app writes one per process; a\n"
    "directory stands for every *.json trace in it), symbolizes them with their debug info, and\n"
    "reports leaks, the heap peak, hot and temporary allocations. Several traces are merged.\n"
    "\n"
    "Output:\n"
    "  -f, --format FMT        text (default), json (docs/report-format.md), folded, html\n"
    "  -o, --output FILE       write the report to FILE instead of standard output\n"
    "      --cost COST         folded: leaked, peak (default), allocations, temporary\n"
    "      --top N             entries per section (default 10)\n"
    "      --frames N          text: frames per stack (default 16, 0: all)\n"
    "      --color WHEN        auto (default: on a terminal), always, never\n"
    "      --debug-paths DIRS  extra ':'-separated directories with separate debug info\n"
    "Gate (exit 1 with one line per failed rule):\n"
    "      --fail-on KINDS     leak kinds that fail: definite,indirect (default), reachable, all, none\n"
    "      --max-leak-bytes N  leaked bytes of those kinds allowed (default 0)\n"
    "      --max-peak SIZE     largest heap peak allowed per process (4096, 64K, 1.5M, 2G)\n"
    "      --suppressions FILE LeakSanitizer leak:PATTERN lines; may be repeated\n"
    "      --baseline OLD.json a previous --format json report: fail only on regressions\n"
    "      --max-increase PCT  baseline: leaked or peak bytes may grow by PCT percent (default 10)\n"
    "      --allow-incomplete  a trace without a leak scan does not fail the leak rules\n"
    "      --check-options     only check these options (the suppressions and the baseline read\n"
    "                          too), no trace needed: exit 0 if usable, else 2 and why\n"
    "  -h, --help              this text;  --version  the version\n"
    "Exit status: 0 clean, 1 a gate rule failed, 2 bad usage or unreadable input.\n";

enum { OPT_COST = 256, OPT_TOP, OPT_FRAMES, OPT_COLOR, OPT_DEBUG, OPT_FAIL_ON, OPT_MAX_LEAK, OPT_MAX_PEAK,
       OPT_SUPP, OPT_BASELINE, OPT_MAX_INC, OPT_INCOMPLETE, OPT_VERSION, OPT_CHECK };

typedef struct cli_s {
  const char* format;
  const char* output;
  const char* color;
  const char* debug_paths;
  RP_VEC(const char*) suppressions;
  RP_VEC(char*) inputs;
  rp_render_options_t render;
  rp_gate_options_t gate;
  bool check_only;
} cli_t;

static _Noreturn void usage_error(const char* fmt, const char* value) {
  fprintf(stderr, "ptmem-report: ");
  fprintf(stderr, fmt, value);
  fprintf(stderr, "\n(ptmem-report --help lists the options)\n");
  exit(RP_EXIT_USAGE);
}

static unsigned parse_count(const char* opt, const char* text) {
  char* end;
  unsigned long v = strtoul(text, &end, 10);
  if (!*text || *end || text[0] == '-' || v > 1000000) {
    fprintf(stderr, "ptmem-report: %s: '%s' is not a count between 0 and 1000000\n", opt, text);
    exit(RP_EXIT_USAGE);
  }
  return (unsigned)v;
}

static void parse_fail_on(rp_gate_options_t* g, const char* text) {
  memset(g->fail_on, 0, sizeof g->fail_on);
  if (strcmp(text, "none") == 0) return;
  if (strcmp(text, "all") == 0) {
    for (int k = 0; k < RP_KINDS; k++) g->fail_on[k] = true;
    return;
  }
  for (const char* p = text;;) {
    size_t len = strcspn(p, ",");
    rp_kind_t kind;
    if (!rp_kind_parse(p, len, &kind)) {
      fprintf(stderr, "ptmem-report: --fail-on: '%.*s' is not a leak kind (definite, indirect, reachable, all, none)\n",
              (int)len, p);
      exit(RP_EXIT_USAGE);
    }
    g->fail_on[kind] = true;
    if (!p[len]) break;
    p += len + 1;
  }
}

static int by_name(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

/* A directory stands for the traces in it: *.json files, in name order (the ".tmp" files of a
 * trace being written are not traces yet). */
static void add_input(cli_t* c, const char* given) {
  char* path = rp_xstrdup(given);
  for (size_t n = strlen(path); n > 1 && path[n - 1] == '/'; n--) path[n - 1] = 0; /* "dir/" names files "dir/x" */
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    RP_PUSH(c->inputs, path);
    return;
  }
  DIR* d = opendir(path);
  if (!d) rp_die("%s: cannot read the directory", path);
  size_t before = c->inputs.n;
  for (struct dirent* e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0 && e->d_name[0] != '.')
      RP_PUSH(c->inputs, rp_xprintf("%s/%s", path, e->d_name));
  }
  closedir(d);
  if (c->inputs.n == before) rp_die("%s: no trace (*.json) in this directory", path);
  qsort(c->inputs.v + before, c->inputs.n - before, sizeof *c->inputs.v, by_name);
  free(path);
}

static void parse_args(cli_t* c, int argc, char** argv) {
  static const struct option longs[] = {
      {"format", required_argument, 0, 'f'},      {"output", required_argument, 0, 'o'},
      {"cost", required_argument, 0, OPT_COST},   {"top", required_argument, 0, OPT_TOP},
      {"frames", required_argument, 0, OPT_FRAMES}, {"color", required_argument, 0, OPT_COLOR},
      {"colour", required_argument, 0, OPT_COLOR}, {"debug-paths", required_argument, 0, OPT_DEBUG},
      {"fail-on", required_argument, 0, OPT_FAIL_ON}, {"max-leak-bytes", required_argument, 0, OPT_MAX_LEAK},
      {"max-peak", required_argument, 0, OPT_MAX_PEAK}, {"suppressions", required_argument, 0, OPT_SUPP},
      {"baseline", required_argument, 0, OPT_BASELINE}, {"max-increase", required_argument, 0, OPT_MAX_INC},
      {"allow-incomplete", no_argument, 0, OPT_INCOMPLETE}, {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, OPT_VERSION},    {"check-options", no_argument, 0, OPT_CHECK},
      {0, 0, 0, 0}};
  int opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":f:o:h", longs, NULL)) != -1) {
    switch (opt) {
      case 'f': c->format = optarg; break;
      case 'o': c->output = optarg; break;
      case OPT_COST:
        if (!rp_cost_parse(optarg, &c->render.folded_cost))
          usage_error("--cost: '%s' is not leaked, peak, allocations or temporary", optarg);
        break;
      case OPT_TOP: c->render.top = parse_count("--top", optarg); break;
      case OPT_FRAMES: c->render.frames = parse_count("--frames", optarg); break;
      case OPT_COLOR: c->color = optarg; break;
      case OPT_DEBUG: c->debug_paths = optarg; break;
      case OPT_FAIL_ON: parse_fail_on(&c->gate, optarg); break;
      case OPT_MAX_LEAK:
        if (!rp_parse_size(optarg, &c->gate.max_leak_bytes)) usage_error("--max-leak-bytes: '%s' is not a size", optarg);
        c->gate.max_leak_set = true;
        break;
      case OPT_MAX_PEAK:
        if (!rp_parse_size(optarg, &c->gate.max_peak_bytes)) usage_error("--max-peak: '%s' is not a size (4096, 64K, 1.5M, 2G)", optarg);
        c->gate.max_peak_set = true;
        break;
      case OPT_SUPP: RP_PUSH(c->suppressions, optarg); break;
      case OPT_BASELINE: c->gate.baseline = optarg; break;
      case OPT_MAX_INC: {
        char* end;
        double v = strtod(optarg, &end);
        if (!*optarg || *end || !(v >= 0 && v <= 1e6)) usage_error("--max-increase: '%s' is not a percentage", optarg);
        c->gate.max_increase_pct = v;
        break;
      }
      case OPT_INCOMPLETE: c->gate.allow_incomplete = true; break;
      case OPT_CHECK: c->check_only = true; break;
      case 'h': fputs(usage_text, stdout); exit(RP_EXIT_CLEAN);
      case OPT_VERSION: printf("ptmem-report %s\n", PTMEM_VERSION); exit(RP_EXIT_CLEAN);
      case ':': usage_error("option %s needs a value", argv[optind - 1]);
      default: usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (strcmp(c->format, "text") && strcmp(c->format, "json") && strcmp(c->format, "folded") && strcmp(c->format, "html"))
    usage_error("--format: '%s' is not text, json, folded or html", c->format);
  if (strcmp(c->color, "auto") && strcmp(c->color, "always") && strcmp(c->color, "never"))
    usage_error("--color: '%s' is not auto, always or never", c->color);
  if (optind >= argc && !c->check_only) usage_error("%s", "no trace given");
  for (int i = optind; i < argc; i++) add_input(c, argv[i]);
}

/* First touches of memory were a fifth of a report's time: libelf inflates compressed debug
 * sections (libc6-dbg's are 4 MB packed), the reader builds its tables, tens of megabytes written
 * once. So the heap grows in one 64 MiB step advised for transparent huge pages, a fault per 2 MiB
 * instead of per 4 KiB, and big blocks come from it instead of mmap. glibc's own
 * glibc.malloc.hugetlb=1 does this too, but only when set in the environment before the process
 * starts. Without THP the advice fails and nothing changes. */
static void heap_in_huge_pages(void) {
  enum { HEAP = 64 << 20, HUGE = 2 << 20 };
  mallopt(M_MMAP_THRESHOLD, HEAP / 2);
  mallopt(M_TRIM_THRESHOLD, 2 * HEAP);
  mallopt(M_TOP_PAD, HEAP);
  char* first = malloc(HEAP / 4); /* more than the heap has: it grows by this and the pad */
  char* end = sbrk(0);
  if (first && end != (char*)-1 && end > first) {
    uintptr_t lo = ((uintptr_t)first + HUGE - 1) & ~(uintptr_t)(HUGE - 1), hi = (uintptr_t)end & ~(uintptr_t)(HUGE - 1);
    if (hi > lo) madvise((void*)lo, hi - lo, MADV_HUGEPAGE);
  }
  free(first);
}

int main(int argc, char** argv) {
  heap_in_huge_pages();
  cli_t c = {.format = "text", .color = "auto", .render = {.top = 10, .frames = 16, .folded_cost = RP_COST_PEAK}};
  rp_gate_defaults(&c.gate);
  parse_args(&c, argc, argv);

  rp_suppressions_t supp = {0};
  for (size_t i = 0; i < c.suppressions.n; i++) {
    char err[1200];
    if (!rp_suppressions_load(&supp, c.suppressions.v[i], err, sizeof err)) rp_die("%s", err);
  }
  /* `ptmem run` asks before the program runs: a mistyped option or a missing suppressions file
   * used to be found only after a run of perhaps an hour, whose report was then lost. */
  if (c.check_only) {
    rp_baseline_t b;
    char err[1200];
    if (c.gate.baseline && !rp_baseline_load(&b, c.gate.baseline, err, sizeof err)) rp_die("--baseline: %s", err);
    if (c.gate.baseline) rp_baseline_free(&b);
    return RP_EXIT_CLEAN;
  }
  rp_trace_t* traces = rp_xcalloc(c.inputs.n, sizeof *traces);
  for (size_t i = 0; i < c.inputs.n; i++) {
    rp_read_error_t err;
    if (!rp_trace_read(c.inputs.v[i], &traces[i], &err)) rp_die("%s", err.text);
    if (traces[i].incomplete) rp_warn("%s: incomplete trace: %s", c.inputs.v[i], traces[i].incomplete);
  }
  c.render.color = strcmp(c.color, "always") == 0 ||
                   (strcmp(c.color, "auto") == 0 && !c.output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
  c.render.title = NULL; /* html: "ptmem report: <programs>"; the traces are named below it */

  rp_symbolizer_t* sym = rp_symbolizer_create(c.debug_paths);
  rp_report_t report;
  rp_analyze(&report, traces, (uint32_t)c.inputs.n, sym, supp.rules.n ? &supp : NULL);
  rp_gate_result_t gate = {0};
  rp_gate_run(&report, &c.gate, &gate);

  /* Opened only now that the gate has read the baseline: `--baseline base.json -o base.json`
   * updates a baseline in place, and an input error leaves an earlier report as it was. */
  FILE* out = stdout;
  if (c.output && !(out = fopen(c.output, "w"))) rp_die("%s: cannot write the report: %s", c.output, strerror(errno));

  if (strcmp(c.format, "json") == 0)
    rp_render_json(out, &report, &gate, &c.render);
  else if (strcmp(c.format, "folded") == 0)
    rp_render_folded(out, &report, &c.render);
  else if (strcmp(c.format, "html") == 0)
    rp_render_html(out, &report, &gate, &c.render);
  else
    rp_render_text(out, &report, &gate, &c.render);
  if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0))
    rp_die("%s: writing the report failed: %s", c.output ? c.output : "standard output", strerror(errno));
  for (size_t i = 0; i < gate.failures.n; i++) fprintf(stderr, "ptmem-report: %s\n", gate.failures.v[i]);
  int status = gate.failures.n ? RP_EXIT_GATE : RP_EXIT_CLEAN;

  rp_gate_result_free(&gate);
  rp_report_free(&report);
  rp_symbolizer_destroy(sym);
  rp_suppressions_free(&supp);
  for (size_t i = 0; i < c.inputs.n; i++) free(c.inputs.v[i]);
  free(c.inputs.v);
  free(c.suppressions.v);
  return status;
}
