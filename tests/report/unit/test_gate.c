/* Unit tests of tools/report/gate.c and baseline.c: the CI gate on reports built by hand. Leak
 * budgets pass at exactly the allowed bytes and fail one byte above, per --fail-on kind; --max-peak
 * per process; traces without a leak scan fail unless allowed; a run where every trace is sampled
 * skips the leak rules, and one where only some are still gates the others' leaks.
 * With a baseline (written by the real JSON renderer, so reader and writer agree on the contract):
 * the same leaks pass, a new site fails, the same site in a rebuilt program at another path
 * passes, growth of 9% passes and 11% fails at 10% tolerance, and a malformed baseline ends the
 * tool with exit 2 and a message naming the place. */
#include <sys/wait.h>
#include <unistd.h>

#include "baseline.h"
#include "gate.h"
#include "render.h"
#include "report_check.h"
#include "suppress.h"

/* ---- stacks ----------------------------------------------------------------------------------- */

static rp_frame_t list_frames[] = {
    {.function = "make_list", .file = "/src/leaky.c", .line = 8, .module = "/build/leaky", .offset = 0x1189},
    {.function = "main", .file = "/src/leaky.c", .line = 20, .module = "/build/leaky", .offset = 0x1230},
    {.function = NULL,
     .file = NULL,
     .line = 0,
     .module = "/lib/x86_64-linux-gnu/libc.so.6",
     .offset = 0x271ca},
};
/* The same code rebuilt elsewhere: other module path, source path, lines and offsets. */
static rp_frame_t list_moved_frames[] = {
    {.function = "make_list",
     .file = "/home/ci/w/leaky.c",
     .line = 9,
     .module = "/tmp/ci/out/leaky",
     .offset = 0x11a9},
    {.function = "main",
     .file = "/home/ci/w/leaky.c",
     .line = 23,
     .module = "/tmp/ci/out/leaky",
     .offset = 0x1250},
    {.function = NULL,
     .file = NULL,
     .line = 0,
     .module = "/usr/lib/x86_64-linux-gnu/libc.so.6",
     .offset = 0x27000},
};
static rp_frame_t direct_frames[] = {
    {.function = "leak_direct",
     .file = "/src/leaky.c",
     .line = 11,
     .module = "/build/leaky",
     .offset = 0x11c0},
    {.function = "main", .file = "/src/leaky.c", .line = 19, .module = "/build/leaky", .offset = 0x1220},
    {.function = NULL,
     .file = NULL,
     .line = 0,
     .module = "/lib/x86_64-linux-gnu/libc.so.6",
     .offset = 0x271ca},
};
static rp_frame_t cache_frames[] = {
    {.function = "cache_insert",
     .file = "/src/cache.c",
     .line = 5,
     .module = "/build/leaky",
     .offset = 0x1300},
    {.function = "main", .file = "/src/leaky.c", .line = 22, .module = "/build/leaky", .offset = 0x1240},
    {.function = NULL,
     .file = NULL,
     .line = 0,
     .module = "/lib/x86_64-linux-gnu/libc.so.6",
     .offset = 0x271ca},
};
/* No symbols at all: only module+offset. */
static rp_frame_t stripped_frames[] = {
    {.function = NULL, .file = NULL, .line = 0, .module = "/opt/vendor/libblob.so", .offset = 0x4410},
};
/* Deeper than a failure line shows. */
static rp_frame_t deep_frames[] = {
    {.function = "parse_token",
     .file = "/src/parse.c",
     .line = 31,
     .module = "/build/leaky",
     .offset = 0x1400},
    {.function = "parse_expr", .module = "/build/leaky", .offset = 0x1480},
    {.function = "parse_file", .module = "/build/leaky", .offset = 0x1500},
    {.function = "main", .module = "/build/leaky", .offset = 0x1250},
};
static const rp_stack_t list_stack = {.frames = list_frames, .nframes = 3};
static const rp_stack_t list_moved_stack = {.frames = list_moved_frames, .nframes = 3};
static const rp_stack_t direct_stack = {.frames = direct_frames, .nframes = 3};
static const rp_stack_t cache_stack = {.frames = cache_frames, .nframes = 3};
static const rp_stack_t stripped_stack = {.frames = stripped_frames, .nframes = 1};
static const rp_stack_t deep_stack = {.frames = deep_frames, .nframes = 4};

/* ---- reports ---------------------------------------------------------------------------------- */

/* A report of `ntraces` complete processes with a leak scan: leaky (pid 1000), python3 (1001). */
static void report_init(rp_report_t* r, uint32_t ntraces) {
  static char* const exes[] = {"/build/leaky", "/usr/bin/python3"};
  static char* const paths[] = {"run/ptmem.1000.json", "run/ptmem.1001.json"};
  memset(r, 0, sizeof *r);
  r->traces = rp_xcalloc(ntraces, sizeof *r->traces);
  r->ntraces = ntraces;
  for (uint32_t i = 0; i < ntraces; i++) {
    rp_trace_t* t = &r->traces[i];
    t->exe = exes[i];
    t->path = paths[i];
    t->pid = 1000 + i;
    t->summary =
        (rp_summary_t){.present = true, .leak_scan = true, .leak_scan_complete = true, .final = true};
  }
}

static void add_leak_in(rp_report_t* r, const rp_stack_t* s, rp_kind_t kind, uint64_t count, uint64_t bytes,
                        int suppressed_by, uint32_t trace) {
  rp_entry_t e = {.stack = s, .kind = kind, .count = count, .bytes = bytes, .suppressed_by = suppressed_by};
  RP_PUSH(e.traces, trace);
  RP_PUSH(r->leaks, e);
  rp_count_t* c = suppressed_by >= 0 ? &r->suppressed[kind] : &r->leaked[kind];
  c->count += count;
  c->bytes += bytes;
}

static void add_leak(rp_report_t* r, const rp_stack_t* s, rp_kind_t kind, uint64_t count, uint64_t bytes) {
  add_leak_in(r, s, kind, count, bytes, -1, 0);
}

static void set_peak(rp_report_t* r, uint32_t trace, uint64_t bytes) {
  r->traces[trace].summary.peak_bytes = bytes;
  if (bytes >= r->peak_bytes) {
    r->peak_bytes = bytes;
    r->peak_trace = trace;
  }
}

static void report_free(rp_report_t* r) {
  for (size_t i = 0; i < r->leaks.n; i++)
    free(r->leaks.v[i].traces.v);
  free(r->leaks.v);
  for (uint32_t i = 0; i < r->ntraces; i++)
    free(r->traces[i].timeline.v);
  free(r->traces);
  memset(r, 0, sizeof *r);
}

/* Runs the gate; the result stays valid until the next call. */
static rp_gate_result_t result;
static const rp_gate_result_t* gate(const rp_report_t* r, const rp_gate_options_t* o) {
  rp_gate_result_free(&result);
  rp_gate_run(r, o, &result);
  return &result;
}

static bool has_note(const rp_gate_result_t* g, const char* text) {
  for (size_t i = 0; i < g->notes.n; i++)
    if (strcmp(g->notes.v[i], text) == 0) return true;
  return false;
}

#define CHECK_NOTE(g, text)                                                                                  \
  do {                                                                                                       \
    if (!has_note(g, text)) {                                                                                \
      fprintf(stderr, "%s:%d: no note \"%s\"; notes:\n", __FILE__, __LINE__, text);                          \
      for (size_t i_ = 0; i_ < (g)->notes.n; i_++)                                                           \
        fprintf(stderr, "  %s\n", (g)->notes.v[i_]);                                                         \
      exit(1);                                                                                               \
    }                                                                                                        \
  } while (0)

#define CHECK_FAILURES(g, want)                                                                              \
  do {                                                                                                       \
    const rp_gate_result_t* g_ = (g);                                                                        \
    if (g_->failures.n != (size_t)(want)) {                                                                  \
      fprintf(stderr, "%s:%d: %zu failure lines, wanted %d:\n", __FILE__, __LINE__, g_->failures.n,          \
              (int)(want));                                                                                  \
      for (size_t i_ = 0; i_ < g_->failures.n; i_++)                                                         \
        fprintf(stderr, "  %s\n", g_->failures.v[i_]);                                                       \
      exit(1);                                                                                               \
    }                                                                                                        \
  } while (0)

/* ---- without a baseline ----------------------------------------------------------------------- */

static void test_defaults(void) {
  rp_gate_options_t o;
  memset(&o, 0xff, sizeof o);
  rp_gate_defaults(&o);
  CHECK(o.fail_on[RP_DEFINITE] && o.fail_on[RP_INDIRECT] && !o.fail_on[RP_REACHABLE]);
  CHECK(!o.max_leak_set && !o.max_peak_set && !o.allow_incomplete);
  CHECK_UEQ(o.max_leak_bytes, 0);
  CHECK(o.baseline == NULL);
  CHECK(o.max_increase_pct == 10);
}

static void test_leak_budget(void) {
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  report_init(&r, 1);
  CHECK_FAILURES(gate(&r, &o), 0); /* no leaks */
  CHECK_UEQ(result.notes.n, 0);

  /* Default: any leaked block fails, with the biggest site as the clue. */
  add_leak(&r, &direct_stack, RP_DEFINITE, 1, 1000);
  add_leak(&r, &list_stack, RP_DEFINITE, 1, 48);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(
      result.failures.v[0],
      "FAIL definite leaks: 2 blocks, 1048 bytes (allowed 0 bytes); biggest from leak_direct (leaky.c:11)");

  /* N bytes allowed: N passes, N + 1 fails. */
  o.max_leak_set = true;
  o.max_leak_bytes = 1048;
  CHECK_FAILURES(gate(&r, &o), 0);
  o.max_leak_bytes = 1047;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL definite leaks: 2 blocks, 1048 bytes (allowed 1047 bytes); biggest "
                                  "from leak_direct (leaky.c:11)");
  report_free(&r);

  /* malloc(0) never freed: no bytes, still a leak when none is allowed. */
  report_init(&r, 1);
  add_leak(&r, &stripped_stack, RP_DEFINITE, 1, 0);
  o.max_leak_bytes = 0;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL definite leaks: 1 block, 0 bytes (allowed 0 bytes); biggest from ?? (libblob.so+0x4410)");
  o.max_leak_set = false;
  CHECK_FAILURES(gate(&r, &o), 1);
  report_free(&r);
}

static void test_fail_on_kinds(void) {
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  report_init(&r, 1);
  add_leak(&r, &list_stack, RP_DEFINITE, 1, 48);
  add_leak(&r, &list_stack, RP_INDIRECT, 4, 192);
  add_leak(&r, &cache_stack, RP_REACHABLE, 2, 4096);

  /* definite+indirect (default): one line per kind, the budget is their sum. */
  CHECK_FAILURES(gate(&r, &o), 2);
  CHECK_STR(result.failures.v[0],
            "FAIL definite leaks: 1 block, 48 bytes (definite+indirect: 240 bytes, allowed 0 "
            "bytes); biggest from make_list (leaky.c:8)");
  CHECK_STR(result.failures.v[1],
            "FAIL indirect leaks: 4 blocks, 192 bytes (definite+indirect: 240 bytes, allowed 0 "
            "bytes); biggest from make_list (leaky.c:8)");
  o.max_leak_set = true;
  o.max_leak_bytes = 240;
  CHECK_FAILURES(gate(&r, &o), 0);
  o.max_leak_bytes = 239;
  CHECK_FAILURES(gate(&r, &o), 2);

  /* reachable only: the 4096 bytes of the cache count, the lost list does not. */
  memset(o.fail_on, 0, sizeof o.fail_on);
  o.fail_on[RP_REACHABLE] = true;
  o.max_leak_bytes = 4095;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL reachable leaks: 2 blocks, 4096 bytes (allowed 4095 bytes); biggest "
                                  "from cache_insert (cache.c:5)");
  o.max_leak_bytes = 4096;
  CHECK_FAILURES(gate(&r, &o), 0);

  /* definite alone: indirect bytes are not in its budget. */
  memset(o.fail_on, 0, sizeof o.fail_on);
  o.fail_on[RP_DEFINITE] = true;
  o.max_leak_bytes = 48;
  CHECK_FAILURES(gate(&r, &o), 0);
  o.max_leak_bytes = 47;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL definite leaks: 1 block, 48 bytes (allowed 47 bytes); biggest from make_list (leaky.c:8)");

  /* --fail-on none: no leak rule at all, so not even a missing leak scan matters. */
  memset(o.fail_on, 0, sizeof o.fail_on);
  r.traces[0].summary.leak_scan = false;
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_UEQ(result.notes.n, 0);
  report_free(&r);
}

static void test_suppressed_leaks_pass(void) {
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  report_init(&r, 2);
  add_leak_in(&r, &cache_stack, RP_DEFINITE, 10, 100000, 0, 0); /* suppressed */
  CHECK_FAILURES(gate(&r, &o), 0);
  /* An unsuppressed smaller leak fails, and the clue is it, not the bigger suppressed one; with
   * two processes the line says which one. */
  add_leak_in(&r, &direct_stack, RP_DEFINITE, 1, 16, -1, 1);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL definite leaks: 1 block, 16 bytes (allowed 0 bytes); biggest from leak_direct "
            "(leaky.c:11) in python3 (pid 1001)");
  RP_PUSH(r.leaks.v[1].traces, 0u); /* found in both processes */
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL definite leaks: 1 block, 16 bytes (allowed 0 bytes); biggest from leak_direct "
            "(leaky.c:11) in python3 (pid 1001) and 1 other process");
  report_free(&r);
}

static void test_max_peak(void) {
  const uint64_t MiB = 1024 * 1024;
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  report_init(&r, 2);
  set_peak(&r, 0, 8 * MiB);
  set_peak(&r, 1, 12 * MiB + 300 * 1024);
  CHECK_FAILURES(gate(&r, &o), 0); /* no --max-peak: no peak rule */
  o.max_peak_set = true;
  o.max_peak_bytes = 8 * MiB;
  CHECK_FAILURES(gate(&r, &o), 1); /* leaky at exactly 8 MiB passes */
  CHECK_STR(result.failures.v[0], "FAIL peak heap of python3 (pid 1001): 12.3 MiB > 8.00 MiB");
  set_peak(&r, 0, 8 * MiB + 1);
  CHECK_FAILURES(gate(&r, &o), 2);
  CHECK_STR(result.failures.v[0],
            "FAIL peak heap of leaky (pid 1000): 8.00 MiB (8388609 bytes) > 8.00 MiB (8388608 bytes)");
  o.max_peak_bytes = 13 * MiB;
  CHECK_FAILURES(gate(&r, &o), 0);

  /* A trace cut short has no summary: its timeline's highest sample bounds the peak from below. */
  rp_trace_t* t = &r.traces[0];
  t->summary = (rp_summary_t){0};
  t->incomplete = "ends inside a line";
  RP_PUSH(t->timeline, ((rp_sample_t){.t_ns = 1, .heap_bytes = 20 * MiB}));
  RP_PUSH(t->timeline, ((rp_sample_t){.t_ns = 2, .heap_bytes = 2 * MiB}));
  o.allow_incomplete = true;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL peak heap of leaky (pid 1000): 20.0 MiB > 13.0 MiB");
  CHECK_NOTE(&result, "peak heap of leaky (pid 1000) taken from its timeline and sites: the trace has no summary");
  /* Without a timeline (not sampled, or cut before it), what its sites held at the peak bounds it. */
  t->timeline.n = 0;
  RP_PUSH(t->sites, ((rp_site_t){.stack = 2, .peak_bytes = 10 * MiB}));
  RP_PUSH(t->sites, ((rp_site_t){.stack = 3, .peak_bytes = 4 * MiB}));
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL peak heap of leaky (pid 1000): 14.0 MiB > 13.0 MiB");
  free(t->sites.v);
  report_free(&r);
}

static void test_incomplete_traces(void) {
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  report_init(&r, 2);

  /* No summary: even with no leak found, the leaks are unknown. */
  r.traces[0].summary = (rp_summary_t){0};
  r.traces[0].incomplete = "ends inside a line";
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL leaks of leaky (pid 1000) unknown: the trace is incomplete (ends inside a "
            "line) and has no leak scan (run/ptmem.1000.json)");
  r.traces[0].incomplete = NULL;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL leaks of leaky (pid 1000) unknown: the trace is incomplete (it has no "
            "summary) and has no leak scan (run/ptmem.1000.json)");

  /* A snapshot, and a final trace whose scan did not run. */
  r.traces[0].summary = (rp_summary_t){.present = true, .final = false};
  r.traces[1].summary.leak_scan = false;
  CHECK_FAILURES(gate(&r, &o), 2);
  CHECK_STR(result.failures.v[0],
            "FAIL leaks of leaky (pid 1000) unknown: the trace is a snapshot, which has no leak "
            "scan (run/ptmem.1000.json)");
  CHECK_STR(result.failures.v[1],
            "FAIL leaks of python3 (pid 1001) unknown: the trace has no leak scan (run/ptmem.1001.json)");

  /* --allow-incomplete turns them into notes; the other rules still apply. */
  o.allow_incomplete = true;
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result,
             "leaks of leaky (pid 1000) not checked: the trace is a snapshot, which has no leak scan "
             "(--allow-incomplete)");
  CHECK_NOTE(&result,
             "leaks of python3 (pid 1001) not checked: the trace has no leak scan (--allow-incomplete)");
  add_leak_in(&r, &list_stack, RP_DEFINITE, 1, 48, -1, 1);
  CHECK_FAILURES(gate(&r, &o), 1);

  /* A scan that lost part of memory is a note; its leaks still count. */
  r.traces[0].summary = (rp_summary_t){.present = true, .final = true, .leak_scan = true};
  r.traces[1].summary.leak_scan = true;
  r.traces[1].summary.leak_scan_complete = true;
  o.allow_incomplete = false;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_NOTE(&result,
             "the leak scan of leaky (pid 1000) is incomplete: part of its memory vanished during the scan, or (without "
             "/proc) a thread running at exit could not be held");
  report_free(&r);
}

static void test_sampled_run(void) {
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  report_init(&r, 1);
  add_leak(&r, &list_stack, RP_DEFINITE, 3, 300);
  set_peak(&r, 0, 5000);
  r.approximate = true;
  r.traces[0].sample_bytes = 4096;
  r.traces[0].summary.approximate = true;
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, "leak rules skipped: the run was sampled (PTMEM_SAMPLE), so leak counts are estimates");
  /* The peak rule still applies. */
  o.max_peak_set = true;
  o.max_peak_bytes = 4999;
  CHECK_FAILURES(gate(&r, &o), 1);
  report_free(&r);
}

/* Two processes, python3 (pid 1001) sampled: its own leaks are estimates and left out of the rules,
 * leaky's (pid 1000) still fail them. */
static void partly_sampled(rp_report_t* r) {
  report_init(r, 2);
  r->approximate = true;
  r->traces[1].sample_bytes = 4096;
  r->traces[1].summary.approximate = true;
}

static void test_partly_sampled_run(void) {
  const char* skipped = "leak rules skipped for the leaks of python3 (pid 1001): sampled (PTMEM_SAMPLE), so "
                        "their leak counts are estimates; the other processes' leaks are checked";
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  rp_report_t r;
  partly_sampled(&r);
  add_leak_in(&r, &cache_stack, RP_DEFINITE, 10, 10000, -1, 1);
  add_leak_in(&r, &list_stack, RP_DEFINITE, 3, 300, -1, 0);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL definite leaks: 3 blocks, 300 bytes (allowed 0 bytes); biggest from "
                                  "make_list (leaky.c:8) in leaky (pid 1000)");
  CHECK_NOTE(&result, skipped);
  /* The sampled process's 10000 bytes are not in the budget. */
  o.max_leak_set = true;
  o.max_leak_bytes = 300;
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, skipped);
  report_free(&r);

  /* Leaks in the sampled process alone: nothing to fail, and its missing leak scan is no failure. */
  rp_gate_defaults(&o);
  partly_sampled(&r);
  add_leak_in(&r, &cache_stack, RP_DEFINITE, 10, 10000, -1, 1);
  r.traces[1].summary.leak_scan = false;
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, skipped);
  /* The unsampled process still needs its scan. */
  r.traces[0].summary.leak_scan = false;
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_CONTAINS(result.failures.v[0], "FAIL leaks of leaky (pid 1000) unknown: the trace has no leak scan");
  report_free(&r);

  /* A group found in both processes counts in full: its bytes cannot be split between them. */
  partly_sampled(&r);
  add_leak_in(&r, &direct_stack, RP_DEFINITE, 2, 2000, -1, 1);
  RP_PUSH(r.leaks.v[0].traces, 0);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL definite leaks: 2 blocks, 2000 bytes (allowed 0 bytes); biggest from "
                                  "leak_direct (leaky.c:11) in python3 (pid 1001) and 1 other process");
  report_free(&r);
}

/* ---- baseline --------------------------------------------------------------------------------- */

static void test_fn_key(void) {
  char* k = rp_frames_fn_key(list_frames, 3);
  CHECK_STR(k, "make_list;main;?libc.so.6");
  char* moved = rp_frames_fn_key(list_moved_frames, 3);
  CHECK_STR(moved, k); /* other paths, lines, offsets: the same key */
  free(k);
  free(moved);
  k = rp_frames_fn_key(stripped_frames, 1);
  CHECK_STR(k, "?libblob.so");
  free(k);
  k = rp_frames_fn_key(NULL, 0);
  CHECK_STR(k, "(no frames)");
  free(k);
}

/* Yesterday's run: a lost list (definite + indirect) and a lost string, a reachable cache, a
 * suppressed leak, peak 1000000 bytes. Written with the real JSON renderer. */
static char* write_baseline(const char* name, uint64_t direct_bytes, bool with_list) {
  rp_suppressions_t supp = {0};
  rp_suppression_t rule = {.pattern = "^cache_insert$", .where = "supp:1"};
  RP_PUSH(supp.rules, rule);
  rp_report_t r;
  report_init(&r, 1);
  r.suppressions = &supp;
  add_leak(&r, &direct_stack, RP_DEFINITE, 1, direct_bytes);
  if (with_list) {
    add_leak(&r, &list_stack, RP_DEFINITE, 1, 48);
    add_leak(&r, &list_stack, RP_INDIRECT, 4, 192);
  }
  add_leak(&r, &stripped_stack, RP_REACHABLE, 1, 64);
  add_leak_in(&r, &cache_stack, RP_DEFINITE, 1, 32, 0, 0);
  set_peak(&r, 0, 1000000);
  char* path = rp_xprintf("%s/%s", test_tmpdir(), name);
  FILE* f = fopen(path, "w");
  CHECK(f != NULL);
  rp_render_options_t ro = {.top = 10};
  rp_render_json(f, &r, NULL, &ro);
  CHECK_EQ(fclose(f), 0);
  report_free(&r);
  free(supp.rules.v);
  return path;
}

/* Today's run as yesterday's, with `list` as the stack of the lost list. */
static void report_like_baseline(rp_report_t* r, const rp_stack_t* list, uint64_t direct_bytes,
                                 uint64_t peak) {
  report_init(r, 1);
  add_leak(r, &direct_stack, RP_DEFINITE, 1, direct_bytes);
  add_leak(r, list, RP_DEFINITE, 1, 48);
  add_leak(r, list, RP_INDIRECT, 4, 192);
  add_leak(r, &stripped_stack, RP_REACHABLE, 1, 64);
  add_leak_in(r, &cache_stack, RP_DEFINITE, 1, 32, 0, 0);
  set_peak(r, 0, peak);
}

static void test_baseline_reads_rendered_report(void) {
  char* path = write_baseline("read.json", 1000, true);
  rp_baseline_t b;
  char err[512] = "";
  CHECK(rp_baseline_load(&b, path, err, sizeof err));
  CHECK_STR(err, "");
  CHECK_UEQ(b.peak_bytes, 1000000);
  CHECK(!b.approximate);
  CHECK_UEQ(b.leaked[RP_DEFINITE].count, 2);
  CHECK_UEQ(b.leaked[RP_DEFINITE].bytes, 1048);
  CHECK_UEQ(b.leaked[RP_INDIRECT].bytes, 192);
  CHECK_UEQ(b.leaked[RP_REACHABLE].bytes, 64);
  CHECK_UEQ(b.leaks.n, 5);
  CHECK_STR(b.leaks.v[0].fn_key, "leak_direct;main;?libc.so.6");
  CHECK(b.leaks.v[0].kind == RP_DEFINITE && !b.leaks.v[0].suppressed);
  CHECK_UEQ(b.leaks.v[0].bytes, 1000);
  CHECK(b.leaks.v[2].kind == RP_INDIRECT);
  CHECK_UEQ(b.leaks.v[2].count, 4);
  CHECK_STR(b.leaks.v[3].fn_key, "?libblob.so");
  CHECK(b.leaks.v[4].suppressed);
  rp_baseline_free(&b);
  free(path);
}

static void test_baseline_regressions(void) {
  char* path = write_baseline("base.json", 1000, true);
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  o.baseline = path;
  rp_report_t r;
  char* compared = rp_xprintf("compared with the baseline %s (tolerance +10%%)", path);

  /* The same leaks pass, though the default rule alone would fail them. */
  report_like_baseline(&r, &list_stack, 1000, 1000000);
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, compared);

  /* A new leak site fails, with its stack; its bytes (+64 of 1048: 6.1%) are within tolerance. */
  add_leak(&r, &cache_stack, RP_DEFINITE, 2, 64);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL new definite leak: 2 blocks, 64 bytes from cache_insert (cache.c:5) < main < "
            "?libc.so.6 (not in the baseline)");
  CHECK_NOTE(&result, "definite leaks grew 6.1%: 1048 -> 1112 bytes, within +10%");
  report_free(&r);

  /* The same sites in a rebuilt program at another path, other lines and offsets: pass. */
  report_like_baseline(&r, &list_moved_stack, 1000, 1000000);
  CHECK_FAILURES(gate(&r, &o), 0);
  report_free(&r);

  /* A new site of a kind not in --fail-on passes; the same site turning definite fails. */
  report_like_baseline(&r, &list_stack, 1000, 1000000);
  add_leak(&r, &direct_stack, RP_REACHABLE, 1, 8);
  CHECK_FAILURES(gate(&r, &o), 0);
  add_leak(&r, &stripped_stack, RP_DEFINITE, 1, 8);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0],
            "FAIL new definite leak: 1 block, 8 bytes from ?? (libblob.so+0x4410) (not in the baseline)");
  add_leak(&r, &deep_stack, RP_INDIRECT, 3, 16); /* +8.3% indirect bytes: within */
  CHECK_FAILURES(gate(&r, &o), 2);
  CHECK_STR(result.failures.v[1],
            "FAIL new indirect leak: 3 blocks, 16 bytes from parse_token (parse.c:31) < "
            "parse_expr < parse_file < ... (not in the baseline)");
  report_free(&r);

  /* A leak the baseline had suppressed, no longer suppressed today, is new. */
  report_init(&r, 1);
  add_leak(&r, &direct_stack, RP_DEFINITE, 1, 1000);
  add_leak(&r, &list_stack, RP_DEFINITE, 1, 48);
  add_leak(&r, &list_stack, RP_INDIRECT, 4, 192);
  add_leak(&r, &cache_stack, RP_DEFINITE, 1, 32);
  set_peak(&r, 0, 1000000);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_CONTAINS(result.failures.v[0], "FAIL new definite leak: 1 block, 32 bytes from cache_insert");
  report_free(&r);

  /* Fixed sites are good news. */
  report_init(&r, 1);
  add_leak(&r, &direct_stack, RP_DEFINITE, 1, 1000);
  set_peak(&r, 0, 900000);
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, "fixed since the baseline: definite leak from make_list (48 bytes)");
  CHECK_NOTE(&result, "fixed since the baseline: indirect leak from make_list (192 bytes)");
  CHECK_NOTE(&result, "definite leaks shrank 4.6%: 1048 -> 1000 bytes");
  CHECK_NOTE(&result, "indirect leaks shrank 100.0%: 192 -> 0 bytes");
  CHECK_NOTE(&result, "peak heap shrank 10.0%: 977 KiB -> 879 KiB");
  report_free(&r);

  /* An explicit --max-leak-bytes still applies with a baseline. */
  report_like_baseline(&r, &list_stack, 1000, 1000000);
  o.max_leak_set = true;
  o.max_leak_bytes = 1000;
  CHECK_FAILURES(gate(&r, &o), 2);
  CHECK_CONTAINS(result.failures.v[0],
                 "FAIL definite leaks: 2 blocks, 1048 bytes (definite+indirect: 1240 bytes");
  o.max_leak_set = false;
  report_free(&r);
  free(compared);
  free(path);
}

static void test_baseline_tolerance(void) {
  /* Definite leaks of the baseline: 952 + 48 = 1000 bytes. */
  char* path = write_baseline("tolerance.json", 952, true);
  rp_gate_options_t o;
  rp_gate_defaults(&o);
  o.baseline = path;
  rp_report_t r;

  report_like_baseline(&r, &list_stack, 952 + 90, 1000000); /* +9% */
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, "definite leaks grew 9.0%: 1000 -> 1090 bytes, within +10%");
  report_free(&r);
  report_like_baseline(&r, &list_stack, 952 + 100, 1000000); /* exactly +10% */
  CHECK_FAILURES(gate(&r, &o), 0);
  report_free(&r);
  report_like_baseline(&r, &list_stack, 952 + 110, 1000000); /* +11% */
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL definite leaks grew 11.0%: 1000 -> 1110 bytes (allowed +10%)");
  report_free(&r);

  /* Peak: +9% passes, +11% fails. */
  report_like_baseline(&r, &list_stack, 952, 1090000);
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, "peak heap grew 9.0%: 977 KiB -> 1.04 MiB, within +10%");
  report_free(&r);
  report_like_baseline(&r, &list_stack, 952, 1110000);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL peak heap grew 11.0%: 977 KiB -> 1.06 MiB (allowed +10%)");

  /* Zero tolerance: one byte more fails, and the line shows the bytes the rounding would hide. */
  o.max_increase_pct = 0;
  report_free(&r);
  report_like_baseline(&r, &list_stack, 952, 1000001);
  CHECK_FAILURES(gate(&r, &o), 1);
  CHECK_STR(result.failures.v[0], "FAIL peak heap grew 0.0001%: 1000000 -> 1000001 bytes (allowed +0%)");
  report_free(&r);

  /* A kind the baseline did not have at all: growth from zero fails, beside the new sites. */
  char* no_list = write_baseline("no-list.json", 952, false);
  o.max_increase_pct = 10;
  o.baseline = no_list;
  report_like_baseline(&r, &list_stack, 952, 1000000);
  CHECK_FAILURES(gate(&r, &o), 3);
  CHECK_CONTAINS(result.failures.v[0], "FAIL new definite leak: 1 block, 48 bytes from make_list");
  CHECK_CONTAINS(result.failures.v[1], "FAIL new indirect leak: 4 blocks, 192 bytes from make_list");
  CHECK_STR(result.failures.v[2], "FAIL indirect leaks grew from 0 to 192 bytes (allowed +10%)");
  CHECK_NOTE(&result, "definite leaks grew 5.0%: 952 -> 1000 bytes, within +10%");
  report_free(&r);
  free(no_list);

  /* A sampled run compares peaks only. */
  o.baseline = path;
  report_like_baseline(&r, &list_stack, 952, 1000000);
  add_leak(&r, &cache_stack, RP_DEFINITE, 1, 10000);
  r.approximate = true;
  r.traces[0].sample_bytes = 4096;
  r.traces[0].summary.approximate = true;
  CHECK_FAILURES(gate(&r, &o), 0);
  CHECK_NOTE(&result, "leak rules skipped: the run was sampled (PTMEM_SAMPLE), so leak counts are estimates");
  report_free(&r);

  /* Partly sampled: a new site in the sampled process alone is no regression, and its bytes are
   * not in the totals compared; the unsampled process's new site and growth still fail. */
  partly_sampled(&r);
  add_leak(&r, &direct_stack, RP_DEFINITE, 1, 952);
  add_leak(&r, &list_stack, RP_DEFINITE, 1, 48);
  add_leak(&r, &list_stack, RP_INDIRECT, 4, 192);
  add_leak(&r, &stripped_stack, RP_REACHABLE, 1, 64);
  add_leak_in(&r, &cache_stack, RP_DEFINITE, 1, 32, 0, 0);
  set_peak(&r, 0, 1000000);
  add_leak_in(&r, &deep_stack, RP_DEFINITE, 5, 50000, -1, 1);
  CHECK_FAILURES(gate(&r, &o), 0);
  add_leak_in(&r, &cache_stack, RP_DEFINITE, 1, 500, -1, 0); /* unsuppressed, unlike the baseline's */
  CHECK_FAILURES(gate(&r, &o), 2);
  CHECK_CONTAINS(result.failures.v[0], "FAIL new definite leak: 1 block, 500 bytes from cache_insert");
  CHECK_STR(result.failures.v[1], "FAIL definite leaks grew 50.0%: 1000 -> 1500 bytes (allowed +10%)");
  report_free(&r);
  free(path);
}

/* rp_baseline_load's message for a file holding `text`, with the file's path replaced by "F". */
static char* load_error(const char* text) {
  char* path = test_write_file("bad.json", text, strlen(text));
  rp_baseline_t b;
  char err[512] = "";
  CHECK(!rp_baseline_load(&b, path, err, sizeof err));
  CHECK_UEQ(b.leaks.n, 0);
  size_t n = strlen(path);
  CHECK(strncmp(err, path, n) == 0);
  char* msg = rp_xprintf("F%s", err + n);
  free(path);
  return msg;
}

#define CHECK_LOAD_ERROR(text, want)                                                                         \
  do {                                                                                                       \
    char* got_ = load_error(text);                                                                           \
    CHECK_STR(got_, want);                                                                                   \
    free(got_);                                                                                              \
  } while (0)

#define SUMMARY                                                                                              \
  "\"summary\": {\"peak_bytes\": 5, \"approximate\": false, \"leaks\": {\"definite\": {\"count\": 0, "       \
  "\"bytes\": 0}, \"indirect\": {\"count\": 0, \"bytes\": 0}, \"reachable\": {\"count\": 0, \"bytes\": 0}}}"

static void test_baseline_errors(void) {
  CHECK_LOAD_ERROR("{\n  \"format\": \"ptmem-report\",\n  \"version\": 1,,\n}",
                   "F:3:16: string or '}' expected near ','");
  CHECK_LOAD_ERROR("", "F:1:0: '[' or '{' expected near end of file");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1", "F:1:39: '}' expected near end of file");
  CHECK_LOAD_ERROR("[1, 2]", "F:1:1: (top level): expected a report object, got [1,2]");
  CHECK_LOAD_ERROR(
      "{\"version\": 1}",
      "F:1:1: format: expected \"ptmem-report\", got nothing: not a ptmem-report JSON report (make one with "
      "ptmem-report --format json)");
  CHECK_LOAD_ERROR("{\"type\":\"header\",\"format\":\"ptmem-trace\",\"version\":1}\n{\"type\":\"summary\"}\n",
                   "F: a ptmem trace, not a report: make the baseline with ptmem-report --format json");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 2}",
                   "F:1:39: version: 2 is newer than this ptmem-report reads (1)");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": \"1\"}",
                   "F:1:39: version: expected an integer >= 1, got \"1\"");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1}",
                   "F:1:1: summary: missing (expected an object)");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1, \"summary\": {\"peak_bytes\": -1}}",
                   "F:1:68: summary.peak_bytes: expected an integer >= 0, got -1");
  CHECK_LOAD_ERROR(
      "{\"format\": \"ptmem-report\", \"version\": 1, \"summary\": {\"peak_bytes\": 5, \"approximate\": "
      "false, \"leaks\": {\"definite\": {\"count\": 0, \"bytes\": 0}, \"indirect\": {\"count\": 0}}}}",
      "F:1:153: summary.leaks.indirect.bytes: missing (expected an integer >= 0)");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1, " SUMMARY "}",
                   "F:1:1: leaks: missing (expected an array)");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1, " SUMMARY
                   ", \"leaks\": [{\"kind\": \"possible\"}]}",
                   "F:1:239: leaks[0].kind: \"possible\" is not a leak kind (definite, indirect, reachable)");
  CHECK_LOAD_ERROR(
      "{\"format\": \"ptmem-report\", \"version\": 1, " SUMMARY ", \"leaks\": [{\"kind\": \"definite\", "
      "\"count\": 1, \"bytes\": 8, \"suppressed_by\": null, \"stack\": [{\"function\": \"f\", \"module\": "
      "\"m\"}, {\"function\": 7, \"module\": \"m\"}]}]}",
      "F:1:355: leaks[0].stack[1].function: expected a string or null, got 7");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1, " SUMMARY
                   ", \"leaks\": [{\"kind\": \"definite\", "
                   "\"count\": 1, \"bytes\": 8, \"suppressed_by\": false, \"stack\": []}]}",
                   "F:1:292: leaks[0].suppressed_by: expected a pattern string or null, got false");
  CHECK_LOAD_ERROR(
      "{\"format\": \"ptmem-report\", \"version\": 1, " SUMMARY ", \"leaks\": [{\"kind\": \"definite\", "
      "\"count\": 1, \"bytes\": 8, \"suppressed_by\": null, \"stack\": [{\"function\": null}]}]}",
      "F:1:308: leaks[0].stack[0].module: missing (expected a string)");
  CHECK_LOAD_ERROR("{\"format\": \"ptmem-report\", \"version\": 1, \"version\": 1}",
                   "F:1:50: duplicate object key near '\"version\"'");

  /* A minimal valid report loads: unknown fields are ignored. */
  const char* min =
      "{\"format\": \"ptmem-report\", \"version\": 1, \"added_later\": [], " SUMMARY
      ", \"leaks\": [{\"kind\": \"definite\", \"count\": 1, \"bytes\": 8, \"suppressed_by\": null, "
      "\"stack\": [{\"function\": null, \"module\": \"/x/liba.so\"}]}]}";
  char* path = test_write_file("min.json", min, strlen(min));
  rp_baseline_t b;
  char err[512];
  CHECK(rp_baseline_load(&b, path, err, sizeof err));
  CHECK_UEQ(b.leaks.n, 1);
  CHECK_STR(b.leaks.v[0].fn_key, "?liba.so");
  rp_baseline_free(&b);
  free(path);

  char* missing = rp_xprintf("%s/missing.json", test_tmpdir());
  CHECK(!rp_baseline_load(&b, missing, err, sizeof err));
  char* want = rp_xprintf("%s: cannot open: No such file or directory", missing);
  CHECK_STR(err, want);
  free(want);
  free(missing);
}

static void test_baseline_error_position(void) {
  /* In a real, indented report the line and column are those of the bad value: a renderer's
   * report with one module changed to a number. */
  char* rendered = write_baseline("rendered.json", 1000, true);
  FILE* f = fopen(rendered, "r");
  CHECK(f != NULL);
  char text[65536];
  size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = 0;
  const char* module = "\"module\": \"/build/leaky\"";
  char* first = strstr(text, module);
  CHECK(first != NULL);
  first = strstr(first + 1, module); /* leaks[0].stack[1], main's frame */
  CHECK(first != NULL);
  unsigned line = 1, column = 1;
  for (const char* c = text; c < first; c++, column++)
    if (*c == '\n') {
      line++;
      column = 0;
    }
  column += (unsigned)strlen("\"module\": ");
  size_t at = (size_t)(first - text) + strlen("\"module\": ");
  char* broken = rp_xprintf("%.*s42%s", (int)at, text, text + at + strlen("\"/build/leaky\""));
  char* got = load_error(broken);
  char* want = rp_xprintf("F:%u:%u: leaks[0].stack[1].module: expected a string, got 42", line, column);
  CHECK(line > 10); /* indented: one field per line */
  CHECK_STR(got, want);
  free(got);
  free(want);
  free(broken);
  free(rendered);
}

/* The gate with a bad baseline ends the tool: exit 2 and the message on stderr. */
static void test_bad_baseline_exits_2(void) {
  const char* text = "{\"format\": \"ptmem-report\",\n \"version\": 1,\n oops}\n";
  char* path = test_write_file("broken.json", text, strlen(text));
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    rp_gate_options_t o;
    rp_gate_defaults(&o);
    o.baseline = path;
    rp_report_t r;
    report_init(&r, 1);
    rp_gate_result_t g = {0};
    rp_gate_run(&r, &o, &g);
    _exit(0); /* not reached: rp_die exits 2 */
  }
  close(fds[1]);
  char out[1024];
  size_t got = 0;
  ssize_t n;
  while ((n = read(fds[0], out + got, sizeof out - 1 - got)) > 0)
    got += (size_t)n;
  out[got] = 0;
  close(fds[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 2);
  char* want = rp_xprintf("ptmem-report: --baseline: %s:3:5: string or '}' expected near 'oops'\n", path);
  CHECK_STR(out, want);
  free(want);
  free(path);
}

int main(void) {
  test_defaults();
  test_leak_budget();
  test_fail_on_kinds();
  test_suppressed_leaks_pass();
  test_max_peak();
  test_incomplete_traces();
  test_sampled_run();
  test_partly_sampled_run();
  test_fn_key();
  test_baseline_reads_rendered_report();
  test_baseline_regressions();
  test_baseline_tolerance();
  test_baseline_errors();
  test_baseline_error_position();
  test_bad_baseline_exits_2();
  rp_gate_result_free(&result);
  test_remove_tmpdir();
  return 0;
}
