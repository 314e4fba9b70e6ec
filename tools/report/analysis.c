/* analysis.c - see analysis.h. Three hash tables: stacks by their return-address chain (so equal
 * stacks of different processes become one), leak groups by (stack, kind), sites by stack. Each
 * trace's stack ids are mapped to the shared stacks once. Nothing here symbolizes unless
 * suppressions must be matched: renderers resolve the stacks they print. */
#define _GNU_SOURCE /* sigabbrev_np */
#include "analysis.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

/* What the stacks of one trace need to be compared and symbolized. */
typedef struct rp_stack_src_s {
  const rp_trace_t* trace;
  uint32_t* module_ids; /* trace module id -> rp_symbolize_module_id */
  rp_symbolizer_t* sym;
} rp_stack_src_t;

typedef struct table_s { /* open addressing; slots hold index + 1, 0 is empty */
  uint32_t* slot;
  size_t mask;
} table_t;

static void table_init(table_t* t, size_t expected) {
  size_t size = 64;
  while (size < expected * 2) size *= 2;
  t->slot = rp_xcalloc(size, sizeof *t->slot);
  t->mask = size - 1;
}

typedef struct builder_s {
  rp_report_t* r;
  rp_symbolizer_t* sym;
  table_t stack_table, leak_table, site_table;
  RP_VEC(rp_stack_t*) stacks;
} builder_t;

#define NO_MODULE UINT32_MAX

static uint32_t node_module(const rp_stack_src_t* src, uint32_t node) {
  int32_t m = src->trace->nodes.v[node].module;
  return m >= 0 && (size_t)m < src->trace->modules.n ? src->module_ids[m] : NO_MODULE;
}

/* Stacks without frames are two: "unknown" (id 1) and "no frames" (every other). */
static uint64_t chain_hash(const rp_stack_src_t* src, uint32_t id) {
  const rp_trace_t* t = src->trace;
  uint32_t n = id >= 2 && id < t->stacks.n ? t->stacks.v[id] : 0;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n ? 0 : id == 1 ? 2 : 1);
  for (; n; n = t->nodes.v[n].parent) {
    h = (h ^ t->nodes.v[n].offset) * 0xff51afd7ed558ccdull;
    h = (h ^ node_module(src, n)) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  return h;
}

/* The first node of a stack, 0 when it has none (ids 0 and 1, and ids a trace lacks). */
static uint32_t top_node(const rp_stack_t* s) {
  const rp_trace_t* t = s->src->trace;
  return s->id >= 2 && s->id < t->stacks.n ? t->stacks.v[s->id] : 0;
}

static int compare_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

/* Both stacks still unresolved: by their return-address chains. */
static int compare_chains(const rp_stack_t* a, const rp_stack_t* b) {
  uint32_t na = top_node(a), nb = top_node(b);
  if (!na && !nb) return compare_u64(a->id == 1, b->id == 1);
  const rp_trace_t *ta = a->src->trace, *tb = b->src->trace;
  for (; na && nb; na = ta->nodes.v[na].parent, nb = tb->nodes.v[nb].parent) {
    uint32_t ma = node_module(a->src, na), mb = node_module(b->src, nb);
    if (ma != mb) {
      int c = strcmp(rp_symbolize_module_path(a->src->sym, ma), rp_symbolize_module_path(b->src->sym, mb));
      return c ? c : compare_u64(ma, mb); /* one path, two builds */
    }
    if (ta->nodes.v[na].offset != tb->nodes.v[nb].offset)
      return compare_u64(ta->nodes.v[na].offset, tb->nodes.v[nb].offset);
  }
  return compare_u64(na != 0, nb != 0); /* the shorter one first */
}

static int compare_str(const char* a, const char* b) { return strcmp(a ? a : "", b ? b : ""); }

/* Resolved stacks: by their frames, as they read. */
static int compare_frames(const rp_stack_t* a, const rp_stack_t* b) {
  for (uint32_t i = 0; i < a->nframes && i < b->nframes; i++) {
    const rp_frame_t *x = &a->frames[i], *y = &b->frames[i];
    int c = compare_str(x->module, y->module);
    if (!c) c = compare_u64(x->offset, y->offset);
    if (!c) c = compare_str(x->function, y->function);
    if (!c) c = compare_str(x->file, y->file);
    if (!c) c = compare_u64(x->line, y->line);
    if (c) return c;
  }
  if (a->nframes != b->nframes) return compare_u64(a->nframes, b->nframes);
  return compare_str(a->label, b->label);
}

int rp_stack_compare(const rp_stack_t* a, const rp_stack_t* b) {
  if (a == b) return 0;
  if (a->src && b->src) return compare_chains(a, b);
  return compare_frames(rp_stack_resolve(a), rp_stack_resolve(b));
}

/* Same return addresses: a trace's stack ids are distinct address arrays, but a library loaded
 * again at another address gives the same chain under two ids. */
static bool same_chain(const rp_stack_t* s, const rp_stack_src_t* src, uint32_t id) {
  if (s->src == src && s->id == id) return true;
  rp_stack_t probe = {.src = src, .id = id};
  return compare_chains(s, &probe) == 0;
}

const rp_stack_t* rp_stack_resolve(const rp_stack_t* stack) {
  if (!stack || !stack->src || stack->resolved) return stack;
  rp_stack_t* s = (rp_stack_t*)stack; /* allocated mutable by stack_of: filling the cache is fine */
  const rp_trace_t* t = s->src->trace;
  RP_VEC(rp_frame_t) frames = {0};
  for (uint32_t n = top_node(s); n; n = t->nodes.v[n].parent) {
    const rp_location_t* loc = rp_symbolize(s->src->sym, t, n);
    if (loc->nframes == 0) RP_PUSH(frames, ((rp_frame_t){NULL, NULL, 0, loc->module, loc->offset, false}));
    for (uint32_t k = 0; k < loc->nframes; k++) {
      const rp_symframe_t* f = &loc->frames[k];
      RP_PUSH(frames, ((rp_frame_t){f->function, f->file, f->line, loc->module, loc->offset, f->inlined}));
    }
  }
  s->frames = frames.v;
  s->nframes = (uint32_t)frames.n;
  s->resolved = true;
  return s;
}

/* The shared stack for stack id `id` of a trace. */
static rp_stack_t* stack_of(builder_t* b, const rp_stack_src_t* src, uint32_t id) {
  uint64_t h = chain_hash(src, id);
  table_t* tab = &b->stack_table;
  size_t i = h & tab->mask;
  for (; tab->slot[i]; i = (i + 1) & tab->mask) {
    rp_stack_t* s = b->stacks.v[tab->slot[i] - 1];
    if (s->hash == h && same_chain(s, src, id)) return s;
  }
  rp_stack_t* s = rp_xcalloc(1, sizeof *s);
  *s = (rp_stack_t){.src = src, .id = id, .hash = h};
  if (!top_node(s)) s->label = id == 1 ? "(unknown stack)" : "(no frames)";
  RP_PUSH(b->stacks, s);
  tab->slot[i] = (uint32_t)b->stacks.n;
  if (b->stacks.n * 2 > tab->mask) { /* grow: rehash every stack */
    table_t bigger;
    table_init(&bigger, b->stacks.n * 2);
    for (size_t k = 0; k < b->stacks.n; k++) {
      size_t j = b->stacks.v[k]->hash & bigger.mask;
      while (bigger.slot[j]) j = (j + 1) & bigger.mask;
      bigger.slot[j] = (uint32_t)k + 1;
    }
    free(tab->slot);
    *tab = bigger;
  }
  return s;
}

/* The entry of `vec` for (stack, kind), found through `tab` (which grows with the vector). */
static rp_entry_t* entry_for(table_t* tab, void* vec_ptr, const rp_stack_t* stack, rp_kind_t kind) {
  RP_VEC(rp_entry_t)* vec = vec_ptr;
  uint64_t h = ((uint64_t)(uintptr_t)stack * 0x9e3779b97f4a7c15ull) ^ (uint64_t)kind;
  size_t i = (h >> 7) & tab->mask;
  for (; tab->slot[i]; i = (i + 1) & tab->mask) {
    rp_entry_t* e = &vec->v[tab->slot[i] - 1];
    if (e->stack == stack && e->kind == kind) return e;
  }
  RP_PUSH(*vec, ((rp_entry_t){.stack = stack, .kind = kind, .suppressed_by = -1}));
  tab->slot[i] = (uint32_t)vec->n;
  if (vec->n * 2 > tab->mask) {
    table_t bigger;
    table_init(&bigger, vec->n * 2);
    for (size_t k = 0; k < vec->n; k++) {
      uint64_t hk = ((uint64_t)(uintptr_t)vec->v[k].stack * 0x9e3779b97f4a7c15ull) ^ (uint64_t)vec->v[k].kind;
      size_t j = (hk >> 7) & bigger.mask;
      while (bigger.slot[j]) j = (j + 1) & bigger.mask;
      bigger.slot[j] = (uint32_t)k + 1;
    }
    free(tab->slot);
    *tab = bigger;
  }
  return &vec->v[vec->n - 1];
}

static void note_trace(rp_entry_t* e, uint32_t trace) {
  if (e->traces.n && e->traces.v[e->traces.n - 1] == trace) return; /* traces are added in order */
  RP_PUSH(e->traces, trace);
}

static void add_trace(builder_t* b, uint32_t ti) {
  rp_report_t* r = b->r;
  const rp_trace_t* t = &r->traces[ti];
  rp_stack_src_t* src = &r->srcs[ti];
  src->trace = t;
  src->sym = b->sym;
  src->module_ids = rp_xmalloc((t->modules.n + 1) * sizeof *src->module_ids);
  for (size_t m = 0; m < t->modules.n; m++) src->module_ids[m] = rp_symbolize_module_id(b->sym, t, (int32_t)m);
  rp_stack_t** map = rp_xcalloc(t->stacks.n + 2, sizeof *map);
  /* ids the trace does not define (a trace cut short) all mean "unknown": one slot past the end */
  size_t unknown = t->stacks.n + 1;
  for (size_t i = 0; i < t->leaks.n; i++) {
    const rp_leak_t* l = &t->leaks.v[i];
    size_t k = l->stack < t->stacks.n ? l->stack : unknown;
    if (!map[k]) map[k] = stack_of(b, src, l->stack);
    rp_entry_t* e = entry_for(&b->leak_table, &r->leaks, map[k], l->kind);
    e->count += l->count;
    e->bytes += l->bytes;
    note_trace(e, ti);
  }
  for (size_t i = 0; i < t->sites.n; i++) {
    const rp_site_t* s = &t->sites.v[i];
    size_t k = s->stack < t->stacks.n ? s->stack : unknown;
    if (!map[k]) map[k] = stack_of(b, src, s->stack);
    rp_entry_t* e = entry_for(&b->site_table, &r->sites, map[k], RP_DEFINITE);
    e->allocs += s->allocs;
    e->frees += s->frees;
    e->alloc_bytes += s->alloc_bytes;
    e->live_bytes += s->live_bytes;
    e->peak_bytes += s->peak_bytes;
    e->temporary += s->temporary;
    note_trace(e, ti);
  }
  free(map);
}

/* A module's problem is the same in every process that loaded it: said once. */
static void add_note_once(rp_report_t* r, char* note) {
  for (size_t i = 0; i < r->notes.n; i++)
    if (strcmp(r->notes.v[i], note) == 0) {
      free(note);
      return;
    }
  RP_PUSH(r->notes, note);
}

/* A runtime that keeps objects in arenas of its own, mapped outside malloc (CPython's pymalloc, the
 * JVM's heap): the malloc'd blocks those objects point to are reached from no root LeakSanitizer
 * reads, and come out leaked. Its name, or NULL. */
static const char* runtime_with_arenas(const rp_trace_t* t) {
  static const struct {
    const char* module_prefix;
    const char* name;
  } runtimes[] = {{"libpython", "CPython's pymalloc"}, {"python", "CPython's pymalloc"}, {"libjvm.so", "the JVM"}};
  for (size_t m = 0; m < t->modules.n; m++) {
    const char* slash = t->modules.v[m].path ? strrchr(t->modules.v[m].path, '/') : NULL;
    const char* file = slash ? slash + 1 : t->modules.v[m].path ? t->modules.v[m].path : "";
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
      if (strncmp(file, runtimes[i].module_prefix, strlen(runtimes[i].module_prefix)) == 0) return runtimes[i].name;
  }
  return NULL;
}

static void add_notes(rp_report_t* r, rp_symbolizer_t* sym) {
  for (uint32_t ti = 0; ti < r->ntraces; ti++) {
    const rp_trace_t* t = &r->traces[ti];
    const char* prog = rp_trace_program(t);
    if (t->incomplete)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ", %s) is incomplete: %s", prog, t->pid, t->path, t->incomplete));
    else if (t->summary.signal)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ") %s (signal %" PRIu64 ", SIG%s): its trace was written as it died, "
                                   "%s", prog, t->pid, rp_signal_death(t->summary.signal), t->summary.signal,
                                   t->summary.signal < 65 && sigabbrev_np((int)t->summary.signal)
                                       ? sigabbrev_np((int)t->summary.signal) : "?",
                                   t->summary.leak_scan     ? "with a leak scan"
                                   : t->summary.forked_child ? "without a leak scan (a forked child: its heap was its parent's copy)"
                                                             : "without a leak scan"));
    else if (!t->summary.final)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ") is a snapshot taken while it ran, not its final trace", prog, t->pid));
    if (t->summary.present && t->exit_call)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ") ended through %s: its trace has no leak scan (as LeakSanitizer, "
                                   "which checks nothing there)", prog, t->pid, t->exit_call));
    else if (t->summary.present && !t->summary.leak_scan && t->summary.final && !t->summary.signal)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): no leak scan ran", prog, t->pid));
    if (t->summary.leak_scan && t->summary.threads_unheld)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): %" PRIu64 " running thread(s) could not be stopped for the leak "
                                   "scan (they block every signal and ptrace was refused): a block only their registers "
                                   "point to shows as leaked", prog, t->pid, t->summary.threads_unheld));
    if (t->summary.leak_scan && !t->summary.leak_scan_complete)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): the leak scan is incomplete (part of memory vanished during "
                                   "it, or, without /proc, a thread running at exit could not be held)",
                                   prog, t->pid));
    const char* arenas = runtime_with_arenas(t);
    if (arenas && t->summary.leak_scan && !(t->leak_roots && strcmp(t->leak_roots, "all-mappings") == 0) &&
        t->summary.kinds[RP_DEFINITE].count + t->summary.kinds[RP_INDIRECT].count > 0)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ") keeps objects in arenas of its own (%s), which LeakSanitizer's "
                                   "roots leave out: a block only they point to shows as leaked. PTMEM_LEAK_ALL_MAPPINGS=1 "
                                   "reads every writable mapping", prog, t->pid, arenas));
    /* The user chose it, for a runtime whose own arenas hold heap pointers; say what it hides. */
    if (t->summary.leak_scan && t->leak_roots && strcmp(t->leak_roots, "all-mappings") == 0)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): every writable mapping was a leak root (PTMEM_LEAK_ALL_MAPPINGS=1): "
                                   "a block only the program's own mappings point to counts as reachable", prog, t->pid));
    if (t->summary.approximate || t->sample_bytes)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ") was sampled every %" PRIu64
                                   " bytes: counts are estimates and leaks approximate", prog, t->pid, t->sample_bytes));
    if (t->summary.dropped_lines)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): the writer dropped %" PRIu64 " over-long lines", prog, t->pid, t->summary.dropped_lines));
    /* Only modules some frame is in (and the program) are asked about: a module no stack uses has
     * nothing to show as module+offset, and asking would load its debug info (libm's, libz's...). */
    bool* in_stacks = rp_xcalloc(t->modules.n, sizeof *in_stacks);
    for (size_t n = 1; n < t->nodes.n; n++)
      if (t->nodes.v[n].module >= 0) in_stacks[t->nodes.v[n].module] = true;
    for (size_t m = 0; m < t->modules.n; m++) {
      if (m && !in_stacks[m]) continue;
      rp_symstatus_t st = rp_symbolize_module_status(sym, t, (int32_t)m);
      if (st == RP_SYM_BUILD_ID_CHANGED || (st == RP_SYM_FILE_MISSING && m == 0))
        add_note_once(r, rp_xprintf("%s: %s: stacks in it show module+offset", t->modules.v[m].path, rp_symstatus_text(st)));
    }
    free(in_stacks);
  }
}

static int by_leak(const void* a, const void* b) {
  const rp_entry_t *x = a, *y = b;
  bool xr = x->kind == RP_REACHABLE, yr = y->kind == RP_REACHABLE; /* leaks first, then what is still referenced */
  if (xr != yr) return xr ? 1 : -1;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  return rp_stack_compare(x->stack, y->stack);
}

void rp_analyze(rp_report_t* r, rp_trace_t* traces, uint32_t ntraces, rp_symbolizer_t* sym, rp_suppressions_t* supp) {
  memset(r, 0, sizeof *r);
  r->traces = traces;
  r->ntraces = ntraces;
  r->srcs = rp_xcalloc(ntraces + 1, sizeof *r->srcs);
  builder_t b = {.r = r, .sym = sym};
  table_init(&b.stack_table, 1024);
  table_init(&b.leak_table, 256);
  table_init(&b.site_table, 1024);
  for (uint32_t i = 0; i < ntraces; i++) {
    const rp_trace_t* t = &traces[i];
    add_trace(&b, i);
    r->allocs += t->summary.allocs;
    r->frees += t->summary.frees;
    if (t->summary.peak_bytes > r->peak_bytes || i == 0) {
      r->peak_bytes = t->summary.peak_bytes;
      r->peak_trace = i;
    }
    for (size_t k = 0; k < t->timeline.n; k++)
      if (t->timeline.v[k].rss_bytes > r->peak_rss) r->peak_rss = t->timeline.v[k].rss_bytes;
    r->approximate |= t->summary.approximate || t->sample_bytes;
  }
  if (r->leaks.n) qsort(r->leaks.v, r->leaks.n, sizeof *r->leaks.v, by_leak); /* never qsort(NULL, 0): UB */
  for (size_t i = 0; i < r->leaks.n; i++) {
    rp_entry_t* e = &r->leaks.v[i];
    e->suppressed_by = supp ? rp_suppressions_match(supp, e->stack) : -1;
    rp_count_t* c = e->suppressed_by >= 0 ? &r->suppressed[e->kind] : &r->leaked[e->kind];
    c->count += e->count;
    c->bytes += e->bytes;
    if (e->suppressed_by >= 0) {
      supp->rules.v[e->suppressed_by].matched.count += e->count;
      supp->rules.v[e->suppressed_by].matched.bytes += e->bytes;
    }
  }
  r->suppressions = supp;
  add_notes(r, sym);
  r->stacks_owned = b.stacks.v;
  r->nstacks = (uint32_t)b.stacks.n;
  free(b.stack_table.slot);
  free(b.leak_table.slot);
  free(b.site_table.slot);
}

void rp_report_free(rp_report_t* r) {
  for (uint32_t i = 0; i < r->nstacks; i++) {
    rp_stack_t* s = r->stacks_owned[i];
    free(s->frames);
    free(s);
  }
  free(r->stacks_owned);
  for (uint32_t i = 0; r->srcs && i < r->ntraces; i++) free(r->srcs[i].module_ids);
  free(r->srcs);
  for (size_t i = 0; i < r->leaks.n; i++) free(r->leaks.v[i].traces.v);
  for (size_t i = 0; i < r->sites.n; i++) free(r->sites.v[i].traces.v);
  free(r->leaks.v);
  free(r->sites.v);
  for (size_t i = 0; i < r->notes.n; i++) free(r->notes.v[i]);
  free(r->notes.v);
  for (uint32_t i = 0; i < r->ntraces; i++) rp_trace_free(&r->traces[i]);
  free(r->traces);
  memset(r, 0, sizeof *r);
}

uint64_t rp_site_cost(const rp_entry_t* e, rp_cost_t cost) {
  switch (cost) {
    case RP_COST_LEAKED: return e->suppressed_by < 0 && e->kind != RP_REACHABLE ? e->bytes : 0;
    case RP_COST_PEAK: return e->peak_bytes;
    case RP_COST_ALLOCS: return e->allocs;
    case RP_COST_TEMPORARY: return e->temporary;
  }
  return 0;
}

static const rp_entry_t* sort_base;
static rp_cost_t sort_cost;
static int by_cost(const void* a, const void* b) {
  const rp_entry_t* x = &sort_base[*(const uint32_t*)a];
  const rp_entry_t* y = &sort_base[*(const uint32_t*)b];
  uint64_t cx = rp_site_cost(x, sort_cost), cy = rp_site_cost(y, sort_cost);
  if (cx != cy) return cx > cy ? -1 : 1;
  return rp_stack_compare(x->stack, y->stack);
}

static void swap_idx(uint32_t* a, uint32_t* b) {
  uint32_t t = *a;
  *a = *b;
  *b = t;
}

/* Reorders a[0..n) so that its first `want` elements are the `want` first in by_cost order (in no
 * order among themselves): quickselect, O(n) comparisons where sorting 20k sites for the 10 a
 * section prints took 20% of a report. by_cost is a strict order (ties go by stack), so the
 * partition always shrinks. */
static void select_first(uint32_t* a, uint32_t n, uint32_t want) {
  uint32_t lo = 0, hi = n;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2, last = hi - 1;
    /* median of three as the pivot, moved to the end */
    if (by_cost(&a[mid], &a[lo]) < 0) swap_idx(&a[mid], &a[lo]);
    if (by_cost(&a[last], &a[lo]) < 0) swap_idx(&a[last], &a[lo]);
    if (by_cost(&a[mid], &a[last]) < 0) swap_idx(&a[mid], &a[last]);
    uint32_t store = lo;
    for (uint32_t i = lo; i < last; i++)
      if (by_cost(&a[i], &a[last]) < 0) swap_idx(&a[i], &a[store++]);
    swap_idx(&a[store], &a[last]);
    if (store == want || store + 1 == want) return;
    if (store > want) hi = store;
    else lo = store + 1;
  }
}

uint32_t* rp_sites_by(const rp_report_t* r, rp_cost_t cost, uint32_t top, uint32_t* count) {
  const rp_entry_t* base = cost == RP_COST_LEAKED ? r->leaks.v : r->sites.v;
  size_t n = cost == RP_COST_LEAKED ? r->leaks.n : r->sites.n;
  uint32_t* idx = rp_xmalloc((n + 1) * sizeof *idx);
  uint32_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (rp_site_cost(&base[i], cost)) idx[k++] = (uint32_t)i;
  sort_base = base;
  sort_cost = cost;
  uint32_t sorted = top && top < k ? top : k;
  if (sorted < k) select_first(idx, k, sorted);
  qsort(idx, sorted, sizeof *idx, by_cost);
  *count = k;
  return idx;
}

bool rp_cost_parse(const char* name, rp_cost_t* out) {
  static const struct { const char* name; rp_cost_t cost; } names[] = {
      {"leaked", RP_COST_LEAKED}, {"peak", RP_COST_PEAK}, {"allocations", RP_COST_ALLOCS}, {"temporary", RP_COST_TEMPORARY}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(name, names[i].name) == 0) {
      *out = names[i].cost;
      return true;
    }
  return false;
}
