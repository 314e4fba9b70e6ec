/* fuzz_report.c - libFuzzer target: the input is a file a user gives ptmem-report, taken through
 * everything it reaches. A trace goes through the reader (rp_trace_read_buffer), symbolization and
 * analysis, the gate and every renderer (to /dev/null); a previous JSON report (told apart by its
 * format name near the start, as mutations may turn one into the other) goes through --baseline:
 * rp_baseline_load, then the gate comparing a small fixed trace with it. A crash, a sanitizer
 * report, a leak or an exit() anywhere on these paths is a bug: bad input must end as an error
 * message, never anything else. Seeded with real traces, reports and the bad-input cases
 * (tests/report/fuzz/CMakeLists.txt). */
#define _GNU_SOURCE /* memmem, memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis.h"
#include "baseline.h"
#include "gate.h"
#include "render.h"
#include "symbolize.h"
#include "trace_read.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/* The trace a fuzzed baseline is compared with: one definite leak, frames in a missing file. */
static const char fixed_trace[] =
    "{\"type\":\"header\",\"format\":\"ptmem-trace\",\"version\":1,\"pid\":100,\"ppid\":1,\"exe\":\"/nonexistent/app\"}\n"
    "{\"type\":\"module\",\"id\":0,\"path\":\"/nonexistent/app\",\"base\":\"0x555555554000\",\"build_id\":\"\"}\n"
    "{\"type\":\"nodes\",\"first\":1,\"parent\":[0,1],\"module\":[0,0],\"offset\":[\"0x1100\",\"0x1150\"]}\n"
    "{\"type\":\"stacks\",\"first\":2,\"node\":[2]}\n"
    "{\"type\":\"sites\",\"stack\":[2],\"allocs\":[1],\"frees\":[0],\"alloc_bytes\":[10],\"live_bytes\":[10],"
    "\"live_count\":[1],\"peak_bytes\":[10],\"temporary\":[0]}\n"
    "{\"type\":\"leak\",\"stack\":2,\"kind\":\"definite\",\"count\":1,\"bytes\":10}\n"
    "{\"type\":\"summary\",\"duration_ns\":1000,\"allocs\":1,\"frees\":0,\"live_bytes\":10,\"peak_bytes\":10,"
    "\"leak_scan\":true,\"leak_scan_complete\":true,\"definite\":{\"count\":1,\"bytes\":10},"
    "\"indirect\":{\"count\":0,\"bytes\":0},\"reachable\":{\"count\":0,\"bytes\":0}}\n";

static void fuzz_trace(FILE* out, const uint8_t* data, size_t size) {
  rp_trace_t* traces = rp_xcalloc(1, sizeof *traces);
  rp_read_error_t err;
  if (!rp_trace_read_buffer("fuzz.json", (const char*)data, size, traces, &err)) {
    rp_trace_free(traces);
    free(traces);
    return;
  }
  /* A fresh symbolizer per input, as the tool has per run: its caches are freed each time, so a
   * leak in them is seen. Module paths in the input are opened as the tool would open them. */
  rp_symbolizer_t* sym = rp_symbolizer_create(NULL);
  rp_report_t report;
  rp_analyze(&report, traces, 1, sym, NULL);
  rp_gate_options_t gate_options;
  rp_gate_defaults(&gate_options);
  rp_gate_result_t gate = {0};
  rp_gate_run(&report, &gate_options, &gate);

  rp_render_options_t options = {.top = 10, .frames = 16, .folded_cost = RP_COST_PEAK, .title = "fuzz"};
  rp_render_json(out, &report, &gate, &options);
  rp_render_text(out, &report, &gate, &options);
  rp_render_folded(out, &report, &options);
  rp_render_html(out, &report, &gate, &options);

  rp_gate_result_free(&gate);
  rp_report_free(&report);
  rp_symbolizer_destroy(sym);
}

static void fuzz_baseline(const uint8_t* data, size_t size) {
  /* rp_baseline_load reads a path: the input goes to an anonymous file named by /proc. */
  int fd = memfd_create("baseline.json", 0);
  if (fd < 0) abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) abort();
    done += (size_t)n;
  }
  char path[64], err[1200];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  rp_baseline_t b = {0};
  bool usable = rp_baseline_load(&b, path, err, sizeof err);
  rp_baseline_free(&b);
  if (usable) { /* the gate reads it again itself, and would exit on an error */
    rp_trace_t* traces = rp_xcalloc(1, sizeof *traces);
    rp_read_error_t read_err;
    if (!rp_trace_read_buffer("fixed.json", fixed_trace, sizeof fixed_trace - 1, traces, &read_err)) abort();
    rp_symbolizer_t* sym = rp_symbolizer_create(NULL);
    rp_report_t report;
    rp_analyze(&report, traces, 1, sym, NULL);
    rp_gate_options_t gate_options;
    rp_gate_defaults(&gate_options);
    gate_options.baseline = path;
    rp_gate_result_t gate = {0};
    rp_gate_run(&report, &gate_options, &gate);
    rp_gate_result_free(&gate);
    rp_report_free(&report);
    rp_symbolizer_destroy(sym);
  }
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FILE* devnull;
  if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
  if (memmem(data, size < 256 ? size : 256, "\"ptmem-report\"", 14))
    fuzz_baseline(data, size);
  else
    fuzz_trace(devnull, data, size);
  return 0;
}
