/* analysis.c - see analysis.h. Three hash tables: symbolized stacks by their key (so equal stacks
 * of different processes become one), leak groups by (stack, kind), sites by stack. Each trace's
 * stack ids are mapped to the shared stacks once; symbolization is cached per address by the
 * symbolizer, so the cost follows the number of distinct frames, not of findings. */
#include "analysis.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

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

typedef struct stacks_s {
  table_t table;
  RP_VEC(rp_stack_t*) all;
  RP_VEC(uint64_t) hashes; /* of each stack's key, compared before the keys */
} stacks_t;

/* What one address of the trace at hand contributes to a stack: its frames and its part of the
 * grouping key, made once per address rather than once per stack it appears in (a python3 trace has
 * 20k stacks of up to 32 nodes, 115k nodes, 5k distinct addresses). */
typedef struct node_part_s {
  int32_t module;             /* the address: module id and offset, as in rp_node_t */
  uint64_t offset;
  uint32_t first, nframes;    /* in builder_t.part_frames */
  uint32_t key_at, key_len;   /* in builder_t.part_keys */
} node_part_t;

typedef struct builder_s {
  rp_report_t* r;
  rp_symbolizer_t* sym;
  stacks_t stacks;
  table_t leak_table, site_table;
  rp_str_t key;
  /* of the trace at hand: */
  RP_VEC(node_part_t) parts;
  table_t part_table;      /* parts by address */
  uint32_t* part_of_node;  /* index + 1 in parts, 0 until the node is first met */
  RP_VEC(rp_frame_t) part_frames;
  rp_str_t part_keys;
} builder_t;

static void add_frame_key(rp_str_t* key, const rp_frame_t* f) {
  if (key->n) rp_str_add(key, "|");
  if (f->function)
    rp_str_addf(key, "%s@%s:%" PRIu32, f->function, f->file ? f->file : "", f->line);
  else
    rp_str_addf(key, "%s+0x%" PRIx64, f->module, f->offset);
}

/* The frames of node `id` of trace `t`, symbolized, and their keys: an index in b->parts. */
static uint32_t node_part(builder_t* b, const rp_trace_t* t, uint32_t id) {
  if (b->part_of_node[id]) return b->part_of_node[id] - 1;
  const rp_node_t* node = &t->nodes.v[id];
  table_t* tab = &b->part_table;
  uint64_t h = (node->offset ^ (uint64_t)(uint32_t)node->module << 40) * 0x9e3779b97f4a7c15ull;
  size_t i = (h >> 20) & tab->mask;
  for (; tab->slot[i]; i = (i + 1) & tab->mask) {
    const node_part_t* p = &b->parts.v[tab->slot[i] - 1];
    if (p->module == node->module && p->offset == node->offset) {
      b->part_of_node[id] = tab->slot[i];
      return tab->slot[i] - 1;
    }
  }
  /* the table was sized for one address per node: it never fills */
  node_part_t p = {.module = node->module, .offset = node->offset, .first = (uint32_t)b->part_frames.n};
  const rp_location_t* loc = rp_symbolize(b->sym, t, id);
  const char* module = node->module >= 0 ? t->modules.v[node->module].path : "";
  if (!loc || loc->nframes == 0) {
    RP_PUSH(b->part_frames, ((rp_frame_t){NULL, NULL, 0, module, node->offset, false}));
  } else {
    for (uint32_t k = 0; k < loc->nframes; k++) {
      const rp_symframe_t* s = &loc->frames[k];
      RP_PUSH(b->part_frames, ((rp_frame_t){s->function, s->file, s->line, module, node->offset, s->inlined}));
    }
  }
  p.nframes = (uint32_t)b->part_frames.n - p.first;
  rp_str_t key = {0};
  for (uint32_t k = 0; k < p.nframes; k++) add_frame_key(&key, &b->part_frames.v[p.first + k]);
  p.key_at = (uint32_t)b->part_keys.n;
  p.key_len = (uint32_t)key.n;
  rp_str_addn(&b->part_keys, key.s, key.n);
  rp_str_free(&key);
  RP_PUSH(b->parts, p);
  tab->slot[i] = b->part_of_node[id] = (uint32_t)b->parts.n;
  return (uint32_t)b->parts.n - 1;
}

/* A word at a time: the stack keys are kilobytes long, and FNV-1a's byte loop showed in profiles. */
static uint64_t key_hash(const char* s, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  memcpy(&tail, s + i, n - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

/* The shared stack for stack id `id` of trace `t`, made and interned on first use. */
static const rp_stack_t* stack_of(builder_t* b, const rp_trace_t* t, uint32_t id) {
  uint32_t nodes[256];
  unsigned n = rp_trace_stack_nodes(t, id, nodes, 256);
  uint32_t parts[256];
  size_t nframes = 0;
  rp_str_clear(&b->key);
  for (unsigned i = 0; i < n; i++) {
    parts[i] = node_part(b, t, nodes[i]);
    const node_part_t* p = &b->parts.v[parts[i]];
    nframes += p->nframes;
    if (b->key.n) rp_str_addn(&b->key, "|", 1);
    rp_str_addn(&b->key, b->part_keys.s + p->key_at, p->key_len);
  }
  if (!n) rp_str_add(&b->key, id == 1 ? "(unknown stack)" : "(no frames)");
  uint64_t h = key_hash(b->key.s, b->key.n);
  table_t* tab = &b->stacks.table;
  size_t i = h & tab->mask;
  for (; tab->slot[i]; i = (i + 1) & tab->mask) {
    uint32_t k = tab->slot[i] - 1;
    if (b->stacks.hashes.v[k] == h && strcmp(b->stacks.all.v[k]->key, b->key.s) == 0) return b->stacks.all.v[k];
  }
  rp_stack_t* s = rp_xcalloc(1, sizeof *s);
  s->frames = rp_xmalloc(nframes * sizeof *s->frames);
  for (unsigned k = 0; k < n; k++) {
    const node_part_t* p = &b->parts.v[parts[k]];
    memcpy(s->frames + s->nframes, &b->part_frames.v[p->first], p->nframes * sizeof *s->frames);
    s->nframes += p->nframes;
  }
  s->key = rp_xstrndup(b->key.s, b->key.n);
  RP_PUSH(b->stacks.all, s);
  RP_PUSH(b->stacks.hashes, h);
  tab->slot[i] = (uint32_t)b->stacks.all.n;
  if (b->stacks.all.n * 2 > tab->mask) { /* grow: rehash every stack */
    table_t bigger;
    table_init(&bigger, b->stacks.all.n * 2);
    for (size_t k = 0; k < b->stacks.all.n; k++) {
      size_t j = b->stacks.hashes.v[k] & bigger.mask;
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
  const rp_stack_t** map = rp_xcalloc(t->stacks.n + 1, sizeof *map);
  b->parts.n = 0;
  table_init(&b->part_table, t->nodes.n);
  b->part_of_node = rp_xcalloc(t->nodes.n, sizeof *b->part_of_node);
  b->part_frames.n = 0;
  rp_str_clear(&b->part_keys);
  for (size_t i = 0; i < t->leaks.n; i++) {
    const rp_leak_t* l = &t->leaks.v[i];
    if (!map[l->stack]) map[l->stack] = stack_of(b, t, l->stack);
    rp_entry_t* e = entry_for(&b->leak_table, &r->leaks, map[l->stack], l->kind);
    e->count += l->count;
    e->bytes += l->bytes;
    note_trace(e, ti);
  }
  for (size_t i = 0; i < t->sites.n; i++) {
    const rp_site_t* s = &t->sites.v[i];
    if (!map[s->stack]) map[s->stack] = stack_of(b, t, s->stack);
    rp_entry_t* e = entry_for(&b->site_table, &r->sites, map[s->stack], RP_DEFINITE);
    e->allocs += s->allocs;
    e->frees += s->frees;
    e->alloc_bytes += s->alloc_bytes;
    e->live_bytes += s->live_bytes;
    e->peak_bytes += s->peak_bytes;
    e->temporary += s->temporary;
    note_trace(e, ti);
  }
  free(map);
  free(b->part_table.slot);
  free(b->part_of_node);
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

static void add_notes(rp_report_t* r, rp_symbolizer_t* sym) {
  for (uint32_t ti = 0; ti < r->ntraces; ti++) {
    const rp_trace_t* t = &r->traces[ti];
    const char* prog = rp_trace_program(t);
    if (t->incomplete)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ", %s) is incomplete: %s", prog, t->pid, t->path, t->incomplete));
    else if (!t->summary.final)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 ") is a snapshot taken while it ran, not its final trace", prog, t->pid));
    if (t->summary.present && !t->summary.leak_scan && t->summary.final)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): no leak scan ran", prog, t->pid));
    if (t->summary.leak_scan && !t->summary.leak_scan_complete)
      RP_PUSH(r->notes, rp_xprintf("%s (pid %" PRId64 "): part of memory vanished during the leak scan", prog, t->pid));
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
  return strcmp(x->stack->key, y->stack->key);
}

void rp_analyze(rp_report_t* r, rp_trace_t* traces, uint32_t ntraces, rp_symbolizer_t* sym, rp_suppressions_t* supp) {
  memset(r, 0, sizeof *r);
  r->traces = traces;
  r->ntraces = ntraces;
  builder_t b = {.r = r, .sym = sym};
  table_init(&b.stacks.table, 1024);
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
  r->stacks_owned = b.stacks.all.v;
  r->nstacks = (uint32_t)b.stacks.all.n;
  free(b.stacks.table.slot);
  free(b.leak_table.slot);
  free(b.site_table.slot);
  free(b.stacks.hashes.v);
  rp_str_free(&b.key);
  free(b.parts.v);
  free(b.part_frames.v);
  rp_str_free(&b.part_keys);
}

void rp_report_free(rp_report_t* r) {
  for (uint32_t i = 0; i < r->nstacks; i++) {
    rp_stack_t* s = r->stacks_owned[i];
    free(s->frames);
    free(s->key);
    free(s);
  }
  free(r->stacks_owned);
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
  return strcmp(x->stack->key, y->stack->key);
}

uint32_t* rp_sites_by(const rp_report_t* r, rp_cost_t cost, uint32_t* count) {
  const rp_entry_t* base = cost == RP_COST_LEAKED ? r->leaks.v : r->sites.v;
  size_t n = cost == RP_COST_LEAKED ? r->leaks.n : r->sites.n;
  uint32_t* idx = rp_xmalloc((n + 1) * sizeof *idx);
  uint32_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (rp_site_cost(&base[i], cost)) idx[k++] = (uint32_t)i;
  sort_base = base;
  sort_cost = cost;
  qsort(idx, k, sizeof *idx, by_cost);
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
