/* fuzz_report.c - libFuzzer target: the input is one trace file, taken through everything a trace
 * reaches in ptmem-report: the reader (rp_trace_read_buffer), symbolization and analysis, the gate
 * and every renderer (to /dev/null). A crash, a sanitizer report, a leak or an exit() anywhere on
 * that path is a bug: bad input must end as a read error, never anything else.
 * Seeded with real traces and the bad-input cases (tests/report/fuzz/CMakeLists.txt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "gate.h"
#include "render.h"
#include "symbolize.h"
#include "trace_read.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FILE* devnull;
  if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();

  rp_trace_t* traces = rp_xcalloc(1, sizeof *traces);
  rp_read_error_t err;
  if (!rp_trace_read_buffer("fuzz.json", (const char*)data, size, traces, &err)) {
    rp_trace_free(traces);
    free(traces);
    return 0;
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
  rp_render_json(devnull, &report, &gate, &options);
  rp_render_text(devnull, &report, &gate, &options);
  rp_render_folded(devnull, &report, &options);
  rp_render_html(devnull, &report, &gate, &options);

  rp_gate_result_free(&gate);
  rp_report_free(&report);
  rp_symbolizer_destroy(sym);
  return 0;
}
