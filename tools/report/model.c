/* model.c - see model.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

static const char* const kind_names[RP_KINDS] = {"definite", "indirect", "reachable"};

const char* rp_kind_name(rp_kind_t kind) { return kind < RP_KINDS ? kind_names[kind] : "?"; }

bool rp_kind_parse(const char* name, size_t len, rp_kind_t* out) {
  for (int k = 0; k < RP_KINDS; k++)
    if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0) {
      *out = (rp_kind_t)k;
      return true;
    }
  return false;
}

unsigned rp_trace_stack_nodes(const rp_trace_t* t, uint32_t stack, uint32_t* out, unsigned max) {
  if (stack < 2 || stack >= t->stacks.n) return 0;
  unsigned n = 0;
  /* The reader guarantees parents come before children, so this walk ends at the root. */
  for (uint32_t node = t->stacks.v[stack]; node != 0 && n < max; node = t->nodes.v[node].parent) out[n++] = node;
  return n;
}

const char* rp_trace_program(const rp_trace_t* t) {
  if (t->exe && *t->exe) return rp_basename(t->exe);
  if (t->argv.n && *t->argv.v[0]) return rp_basename(t->argv.v[0]);
  return "?";
}

void rp_trace_free(rp_trace_t* t) {
  free(t->path);
  free(t->incomplete);
  free(t->source);
  free(t->exe);
  free(t->unwinder);
  free(t->leak_roots);
  free(t->exit_call);
  for (size_t i = 0; i < t->argv.n; i++) free(t->argv.v[i]);
  free(t->argv.v);
  for (size_t i = 0; i < t->modules.n; i++) {
    free(t->modules.v[i].path);
    free(t->modules.v[i].build_id);
    free(t->modules.v[i].segments.v);
  }
  free(t->modules.v);
  free(t->nodes.v);
  free(t->stacks.v);
  free(t->sites.v);
  free(t->leaks.v);
  free(t->timeline.v);
  memset(t, 0, sizeof *t);
}
