/* gate.h - the CI gate: rules evaluated on a report, one failure line per rule that failed.
 * Without a baseline: leaks of the --fail-on kinds above --max-leak-bytes (default 0, so any leak)
 * fail, and a process whose peak heap exceeds --max-peak fails. With --baseline OLD.json only
 * regressions fail: a leak site not in the baseline, leaked bytes or peak up by more than
 * --max-increase percent. A trace without a leak scan fails the leak rules (unless
 * --allow-incomplete); a sampled trace's own leaks are left out of them (estimates), with a note. */
#ifndef PTMEM_REPORT_GATE_H
#define PTMEM_REPORT_GATE_H
#include <stdbool.h>
#include <stdint.h>

#include "analysis.h"

typedef struct rp_gate_options_s {
  bool fail_on[RP_KINDS];     /* default definite, indirect */
  bool max_leak_set;
  uint64_t max_leak_bytes;    /* leaked bytes of the fail_on kinds allowed */
  bool max_peak_set;
  uint64_t max_peak_bytes;
  const char* baseline;       /* path of a previous `--format json` report, or NULL */
  double max_increase_pct;    /* baseline tolerance, default 10 */
  bool allow_incomplete;      /* do not fail on traces without a leak scan */
} rp_gate_options_t;

typedef struct rp_gate_result_s {
  RP_VEC(char*) failures;     /* one line per failed rule */
  RP_VEC(char*) notes;        /* what was compared, rules skipped */
} rp_gate_result_t;

void rp_gate_defaults(rp_gate_options_t* o);
/* Evaluates the rules; a baseline that cannot be read is a usage error (exit 2, via rp_die). */
void rp_gate_run(const rp_report_t* r, const rp_gate_options_t* o, rp_gate_result_t* out);
void rp_gate_result_free(rp_gate_result_t* g);

#endif
