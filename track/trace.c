/* trace.c - see trace.h. Stacks are written as raw return addresses with the module table:
 * symbolizing is the report's job (the preload must not load libdw into the program). */
#define _GNU_SOURCE
#include "trace.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../pools/os.h"
#include "codemap.h"
#include "jsonl.h"
#include "leaks.h"
#include "timeline.h"
#include "modules.h"
#include "tracefile.h"
#include "track.h"

static pt_jsonl_t writer; /* static, so writing at exit allocates nothing */
static pt_timeline_sample_t samples[PT_TIMELINE_SAMPLES_MAX + 1]; /* + the closing sample */

/* Text and copies of counters, never a heap address: not roots of the leak scan, which would
 * otherwise read (and fault in) their untouched pages in every process at exit. */
void pt_track_trace_exclude_buffers(void) {
  pt_track_leaks_exclude(&writer, sizeof writer);
  pt_track_leaks_exclude(samples, sizeof samples);
  pt_track_tracefile_exclude();
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t read_proc_file(const char* name, char* buf, size_t size) {
  int fd = pt__os_open_proc(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t have = 0;
  ssize_t n;
  while (have < size && (n = read(fd, buf + have, size - have)) > 0) have += (size_t)n;
  close(fd);
  return have;
}

/* The arguments as the loader gave them to the constructors: the header's argv where
 * /proc/self/cmdline cannot be read (no /proc). A program that rewrites its argv strings shows the
 * same in both. */
static int start_argc;
static char** start_argv;
__attribute__((constructor)) static void note_arguments(int argc, char** argv) {
  start_argc = argc;
  start_argv = argv;
}

bool pt_track_trace_path(const char* tmpl, char* out, size_t size) {
  char exe[512];
  pt_track_exe_path(exe, sizeof exe);
  const char* base = strrchr(exe, '/');
  base = base ? base + 1 : exe;
  char pid[24];
  int n = 0;
  for (long v = (long)getpid(); v; v /= 10) pid[n++] = (char)('0' + v % 10);
  char pid_str[24];
  for (int i = 0; i < n; i++) pid_str[i] = pid[n - 1 - i];
  pid_str[n] = 0;
  size_t used = 0;
  for (const char* t = tmpl; *t; t++) {
    const char* piece = NULL;
    char one[2] = {*t, 0};
    if (*t == '%' && t[1] == 'p') piece = pid_str, t++;
    else if (*t == '%' && t[1] == 'e') piece = base, t++;
    else if (*t == '%' && t[1] == '%') piece = "%", t++;
    else piece = one;
    size_t len = strlen(piece);
    if (used + len >= size) return false;
    memcpy(out + used, piece, len);
    used += len;
  }
  out[used] = 0;
  return used > 0;
}

static void write_header(pt_jsonl_t* w, const pt_trace_info_t* info) {
  static char buf[8192];
  pt_jsonl_begin(w, "header");
  pt_jsonl_str(w, "format", PT_TRACE_FORMAT);
  pt_jsonl_u64(w, "version", PT_TRACE_VERSION);
  pt_jsonl_str(w, "source", info->source);
  pt_jsonl_u64(w, "pid", (uint64_t)getpid());
  pt_jsonl_u64(w, "ppid", (uint64_t)getppid());
  pt_track_exe_path(buf, sizeof buf);
  pt_jsonl_str(w, "exe", buf);
  size_t n = read_proc_file("cmdline", buf, sizeof buf - 1);
  buf[n] = 0;
  pt_jsonl_array_begin(w, "argv");
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1) pt_jsonl_item_str(w, buf + i);
  for (int i = 0; !n && i < start_argc && start_argv && start_argv[i]; i++) pt_jsonl_item_str(w, start_argv[i]);
  pt_jsonl_array_end(w);
  pt_jsonl_u64(w, "start_unix_ns", info->start_unix_ns);
  pt_jsonl_str(w, "unwinder", info->unwinder);
  pt_jsonl_u64(w, "depth", info->depth);
  pt_jsonl_u64(w, "sample_bytes", pt_track_sampling()); /* 0: every allocation is recorded */
  pt_jsonl_str(w, "leak_roots", pt_track_leaks_all_mappings ? "all-mappings" : "lsan");
  pt_jsonl_u64(w, "page_size", (uint64_t)sysconf(_SC_PAGESIZE));
  pt_jsonl_end(w);
}

/* The number of modules written: the ones frames may name (the table may grow meanwhile). */
static size_t write_modules(pt_jsonl_t* w, const pt_trace_info_t* info) {
  pt_track_modules_refresh();
  size_t n = pt_track_modules_count();
  for (size_t i = 0; i < n; i++) {
    const pt_module_t* m = pt_track_module(i);
    pt_jsonl_begin(w, "module");
    pt_jsonl_u64(w, "id", i);
    pt_jsonl_str(w, "path", m->path);
    pt_jsonl_hex(w, "base", m->base);
    pt_jsonl_str(w, "build_id", m->build_id);
    pt_jsonl_array_begin(w, "segments");
    for (uint32_t s = 0; s < m->nsegments; s++) {
      pt_jsonl_object_begin(w, NULL);
      pt_jsonl_hex(w, "vaddr", m->segments[s].vaddr);
      pt_jsonl_hex(w, "size", m->segments[s].memsz);
      char perms[4] = {(m->segments[s].flags & PF_R) ? 'r' : '-', (m->segments[s].flags & PF_W) ? 'w' : '-',
                       (m->segments[s].flags & PF_X) ? 'x' : '-', 0};
      pt_jsonl_str(w, "perms", perms);
      pt_jsonl_object_end(w);
    }
    pt_jsonl_array_end(w);
    pt_jsonl_u64(w, "loaded_ns", m->loaded_ns > info->start_mono_ns ? m->loaded_ns - info->start_mono_ns : 0);
    if (m->unloaded_ns) pt_jsonl_u64(w, "unloaded_ns", m->unloaded_ns - info->start_mono_ns);
    pt_jsonl_end(w);
  }
  return n;
}

/* ---- stacks as a tree -------------------------------------------------------------------------
 * Stacks share their outer frames (main, the event loop...), so they are written as a trie rooted at
 * the outermost frame: a node is (parent node, frame), a stack is its innermost node. python3 with
 * 12,000 stacks of 29 frames writes 72,000 nodes instead of 360,000 frames. Frames are written as
 * (module, offset) pairs, shorter than absolute addresses and directly what a symbolizer needs. */
#define BATCH 512

typedef struct trie_s {
  uint64_t* keys;   /* open addressing: hash's high 32 bits << 32 | node id; 0 = empty */
  uint32_t* parent; /* per node */
  uintptr_t* frame; /* per node */
  uint32_t* node_of_stack;
  size_t cap, nodes;
  size_t bytes_keys, bytes_nodes, bytes_stacks;
} trie_t;

static uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ b;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

/* The hash's high half rides in the slot: a probe passing other nodes' slots reads no node (each
 * node read was a cache miss for cppcheck's 314 k nodes). */
static inline uint64_t key_tag(uint64_t h) { return h & ~0xFFFFFFFFull; }

#define NODES_AHEAD 8192u

static void trie_insert_key(trie_t* t, uint32_t id) {
  uint64_t h = mix(t->parent[id], t->frame[id]);
  size_t i = h & (t->cap - 1);
  while (t->keys[i]) i = (i + 1) & (t->cap - 1);
  t->keys[i] = key_tag(h) | id;
}

/* Doubles the key table at half load. Sized for the worst case (every frame a node of its own),
 * it was mostly empty and all touched: cppcheck's 3.2 M frames made 314 k nodes, and their 64 MiB
 * table was most of its peak RSS (111 MiB tracked, 12 untracked). It starts at 8 slots a stack
 * (programs here make 3-6 nodes a stack), so it rarely grows: growing from 4096 slots rehashed
 * every node several times, 4% of cppcheck's tracked time. */
static bool trie_grow(trie_t* t) {
  size_t cap = t->cap * 2, bytes = cap * sizeof *t->keys;
  uint64_t* keys = pt__os_reserve(bytes, 4096);
  if (!keys) return false;
  pt__os_populate(keys, bytes);
  pt__os_release(t->keys, t->bytes_keys);
  t->keys = keys;
  t->cap = cap;
  t->bytes_keys = bytes;
  for (uint32_t id = 1; id <= t->nodes; id++) trie_insert_key(t, id);
  return true;
}

/* Nodes [first, first + NODES_AHEAD) of both arrays, within their mapping (a populate past its
 * end would commit, or be refused by, whatever mapping lies next). */
static void populate_nodes(trie_t* t, size_t first) {
  uintptr_t end = (uintptr_t)t->parent + t->bytes_nodes;
  uintptr_t ranges[2][2] = {{(uintptr_t)&t->parent[first], (uintptr_t)&t->parent[first + NODES_AHEAD]},
                            {(uintptr_t)&t->frame[first], (uintptr_t)&t->frame[first + NODES_AHEAD]}};
  for (int i = 0; i < 2; i++) {
    uintptr_t hi = ranges[i][1] < end ? ranges[i][1] : end;
    if (ranges[i][0] < hi) pt__os_populate((void*)ranges[i][0], hi - ranges[i][0]);
  }
}

/* The node (parent, frame), made if new; 0 if out of memory. */
static uint32_t trie_child(trie_t* t, uint32_t parent, uintptr_t frame) {
  uint64_t h = mix(parent, frame);
  for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    uint64_t v = t->keys[i];
    if (v == 0) break;
    uint32_t id = (uint32_t)v;
    if (key_tag(v) == key_tag(h) && t->parent[id] == parent && t->frame[id] == frame) return id;
  }
  if (2 * (t->nodes + 1) > t->cap && !trie_grow(t)) return 0;
  uint32_t id = (uint32_t)++t->nodes;
  if (id % NODES_AHEAD == 0) populate_nodes(t, id); /* the next nodes' pages, as the store grows */
  t->parent[id] = parent;
  t->frame[id] = frame;
  trie_insert_key(t, id);
  return id;
}

/* The frames of stack `id` that are written, innermost first. A frame-pointer walk through code
 * without frame pointers can read junk: the stack ends at the first address in no module's code
 * (return addresses point after the call: -1). */
static unsigned stack_keep(uint32_t id, const pt_codemap_t* map, const uintptr_t** f) {
  unsigned n = pt_track_stack_frames(id, f), keep = 0;
  while (keep < n && keep < PT_TRACK_DEPTH_MAX && pt_codemap_code(map, (*f)[keep] - 1)) keep++;
  return keep;
}

static bool trie_build(trie_t* t, uint32_t count, const pt_codemap_t* map) {
  size_t frames = 0;
  for (uint32_t id = 2; id < count; id++) {
    const uintptr_t* f;
    frames += pt_track_stack_frames(id, &f);
  }
  t->cap = 4096;
  while (t->cap < (size_t)count * 8 && t->cap < ((size_t)1 << 26)) t->cap *= 2;
  t->bytes_keys = t->cap * sizeof *t->keys;
  t->bytes_nodes = (frames + 2) * (sizeof *t->parent + sizeof *t->frame);
  t->bytes_stacks = (size_t)count * sizeof *t->node_of_stack;
  t->keys = pt__os_reserve(t->bytes_keys, 4096);
  uint8_t* nodes = pt__os_reserve(t->bytes_nodes, 4096);
  t->node_of_stack = pt__os_reserve(t->bytes_stacks, 4096);
  if (!t->keys || !nodes || !t->node_of_stack) return false;
  t->parent = (uint32_t*)nodes;
  t->frame = (uintptr_t*)(nodes + (frames + 2) * sizeof *t->parent);
  t->nodes = 0;
  /* All written soon, and a fault costs ten times what populating does (pt__os_populate). */
  pt__os_populate(t->keys, t->bytes_keys);
  pt__os_populate(t->node_of_stack, t->bytes_stacks);
  populate_nodes(t, 0);
  /* Stacks interned one after the other mostly come from the same code, so the previous stack's
   * path (outermost first) gives the shared outer frames' nodes without a hash probe each. */
  uint32_t path[PT_TRACK_DEPTH_MAX];
  const uintptr_t* prev = NULL;
  unsigned prev_keep = 0;
  for (uint32_t id = 2; id < count; id++) {
    const uintptr_t* f;
    unsigned keep = stack_keep(id, map, &f);
    unsigned shared = 0;
    while (shared < keep && shared < prev_keep && f[keep - 1 - shared] == prev[prev_keep - 1 - shared]) shared++;
    uint32_t node = shared ? path[shared - 1] : 0;
    for (unsigned depth = shared; depth < keep; depth++) {
      if (!(node = trie_child(t, node, f[keep - 1 - depth]))) return false;
      path[depth] = node;
    }
    t->node_of_stack[id] = node;
    prev = f;
    prev_keep = keep;
  }
  return true;
}

static void trie_free(trie_t* t) {
  if (t->keys) pt__os_release(t->keys, t->bytes_keys);
  if (t->parent) pt__os_release(t->parent, t->bytes_nodes);
  if (t->node_of_stack) pt__os_release(t->node_of_stack, t->bytes_stacks);
}

/* Nodes on their way out, BATCH to a line: from the trie, or from the stacks themselves. */
typedef struct node_batch_s {
  uint64_t first; /* the id of parent[0]'s node */
  size_t n;
  uint64_t parent[BATCH];
  uintptr_t frame[BATCH];
  int module[BATCH];
} node_batch_t;
static node_batch_t batch; /* static: 10 KiB would crowd a signal handler's alternate stack */

static void flush_nodes(pt_jsonl_t* w, node_batch_t* b, const pt_codemap_t* map) {
  if (!b->n) return;
  for (size_t i = 0; i < b->n; i++) b->module[i] = pt_codemap_module(map, b->frame[i] - 1);
  pt_jsonl_begin(w, "nodes");
  pt_jsonl_u64(w, "first", b->first);
  pt_jsonl_array_begin(w, "parent");
  for (size_t i = 0; i < b->n; i++) pt_jsonl_item_u64(w, b->parent[i]);
  pt_jsonl_array_end(w);
  pt_jsonl_array_begin(w, "module");
  for (size_t i = 0; i < b->n; i++) pt_jsonl_item_i64(w, b->module[i]);
  pt_jsonl_array_end(w);
  pt_jsonl_array_begin(w, "offset");
  for (size_t i = 0; i < b->n; i++) {
    int m = b->module[i];
    pt_jsonl_item_hex(w, m < 0 ? b->frame[i] : b->frame[i] - pt_track_module((size_t)m)->base);
  }
  pt_jsonl_array_end(w);
  pt_jsonl_end(w);
  b->first += b->n;
  b->n = 0;
}

static void add_node(pt_jsonl_t* w, node_batch_t* b, const pt_codemap_t* map, uint64_t parent, uintptr_t frame) {
  b->parent[b->n] = parent;
  b->frame[b->n] = frame;
  if (++b->n == BATCH) flush_nodes(w, b, map);
}

static void write_nodes(pt_jsonl_t* w, const trie_t* t, const pt_codemap_t* map) {
  batch = (node_batch_t){.first = 1};
  for (size_t i = 1; i <= t->nodes; i++) add_node(w, &batch, map, t->parent[i], t->frame[i]);
  flush_nodes(w, &batch, map);
}

/* Without memory for the trie (a program that lowered RLIMIT_AS below its size, say), every stack
 * is a chain of nodes of its own, outermost first: larger, as no frame is shared, but the same
 * lines, and every stack and frame kept. Stack id's chain is the `keep` nodes after the chains of
 * the stacks before it, so write_stacks finds its node again by counting: nothing is stored. */
static void write_chains(pt_jsonl_t* w, uint32_t count, const pt_codemap_t* map) {
  batch = (node_batch_t){.first = 1};
  uint64_t next = 1; /* the id of the next node */
  for (uint32_t id = 2; id < count; id++) {
    const uintptr_t* f;
    unsigned keep = stack_keep(id, map, &f);
    for (unsigned depth = 0; depth < keep; depth++, next++)
      add_node(w, &batch, map, depth ? next - 1 : 0, f[keep - 1 - depth]);
  }
  flush_nodes(w, &batch, map);
}

/* Each stack's innermost node: the trie's, or (t NULL) the last of its chain (write_chains). The
 * map answers as it did for the chains: it is the same map, of the same modules. */
static void write_stacks(pt_jsonl_t* w, const trie_t* t, uint32_t count, const pt_codemap_t* map) {
  uint64_t chained = 0; /* nodes the chains of the stacks so far took */
  for (uint32_t first = 2; first < count; first += BATCH) {
    uint32_t last = first + BATCH - 1 < count - 1 ? first + BATCH - 1 : count - 1;
    pt_jsonl_begin(w, "stacks");
    pt_jsonl_u64(w, "first", first);
    pt_jsonl_array_begin(w, "node");
    for (uint32_t id = first; id <= last; id++) {
      const uintptr_t* f;
      unsigned keep = t ? 0 : stack_keep(id, map, &f);
      chained += keep;
      pt_jsonl_item_u64(w, t ? t->node_of_stack[id] : keep ? chained : 0);
    }
    pt_jsonl_array_end(w);
    pt_jsonl_end(w);
  }
}

/* Sites in columns, BATCH at a time: one line per field would be unbounded, one line per site
 * repeats every field name (a third of the bytes). */
static void write_sites(pt_jsonl_t* w, uint32_t count) {
  static pt_site_t rows[BATCH];
  static uint32_t ids[BATCH];
  uint32_t n = 0;
  for (uint32_t id = 1; id <= count; id++) {
    if (id < count) {
      pt_track_site(id, &rows[n]);
      if (!rows[n].allocs && !rows[n].frees) continue;
      ids[n++] = id;
      if (n < BATCH) continue;
    }
    if (!n) break;
    pt_jsonl_begin(w, "sites");
#define COLUMN(name, expr, kind)                                                                        \
  pt_jsonl_array_begin(w, name);                                                                     \
  for (uint32_t i = 0; i < n; i++) pt_jsonl_item_##kind(w, expr);                                    \
  pt_jsonl_array_end(w);
    COLUMN("stack", ids[i], u64)
    COLUMN("allocs", rows[i].allocs, u64)
    COLUMN("frees", rows[i].frees, u64)
    COLUMN("alloc_bytes", rows[i].alloc_bytes, u64)
    COLUMN("live_bytes", rows[i].live_bytes, i64)
    COLUMN("live_count", rows[i].live_count, i64)
    COLUMN("peak_bytes", rows[i].peak_bytes, i64)
    COLUMN("temporary", rows[i].temporary, u64)
#undef COLUMN
    pt_jsonl_end(w);
    n = 0;
  }
}

static void write_leak_site(pt_jsonl_t* w, uint32_t id, const pt_leak_site_t* ls) {
  for (int kind = 0; kind < PT_LEAK_KINDS; kind++) {
    if (!ls->count[kind]) continue;
    pt_jsonl_begin(w, "leak");
    pt_jsonl_u64(w, "stack", id);
    pt_jsonl_str(w, "kind", pt_leak_kind_name(kind));
    pt_jsonl_u64(w, "count", ls->count[kind]);
    pt_jsonl_u64(w, "bytes", ls->bytes[kind]);
    pt_jsonl_array_begin(w, "examples");
    for (unsigned e = 0; e < ls->examples[kind]; e++) pt_jsonl_item_hex(w, ls->example[kind][e]);
    pt_jsonl_array_end(w);
    pt_jsonl_end(w);
  }
}

/* Only the sites the bitmap names: reading every site's entry faulted in 150 bytes a stack of
 * untouched pages (cppcheck: 15 MB, 3,700 faults, 3% of its tracked time). */
static void write_leaks(pt_jsonl_t* w, const pt_leak_result_t* leaks, uint32_t count) {
  if (!leaks || !leaks->sites) return;
  for (uint32_t word = 0; word < (leaks->nsites + 63) / 64; word++)
    for (uint64_t bits = leaks->used[word]; bits; bits &= bits - 1) {
      uint32_t id = word * 64 + (uint32_t)__builtin_ctzll(bits);
      if (id && id < count) write_leak_site(w, id, &leaks->sites[id]);
    }
}

bool pt_track_trace_write(const char* path, const pt_trace_info_t* info, const pt_leak_result_t* leaks, bool final) {
  pt_jsonl_t* w = &writer;
  if (!pt_track_tracefile_open(w, path)) return false;
  write_header(w, info);
  size_t modules = write_modules(w, info);
  /* Stacks whose frames are in place, all of them read twice below (sizing, then writing): one
   * published in between would overflow what the first pass sized. */
  uint32_t count = pt_track_stack_count_published();
  trie_t trie = {0};
  pt_codemap_t map;
  pt_codemap_build(&map, modules); /* without memory, lookups go through the table: slower, same answers */
  bool shared = trie_build(&trie, count, &map);
  if (shared) write_nodes(w, &trie, &map);
  else write_chains(w, count, &map);
  write_stacks(w, shared ? &trie : NULL, count, &map);
  trie_free(&trie);
  pt_codemap_free(&map);
  write_sites(w, count);
  write_leaks(w, leaks, count);
  pt_track_totals_t t;
  pt_track_totals(&t);
  /* The last sample is taken now: a run shorter than the sampling interval has its RSS too. The
   * clock is read after the buffer, so no buffered sample is later than the closing one. */
  size_t ns = pt_track_timeline_read(samples, PT_TIMELINE_SAMPLES_MAX);
  uint64_t now = mono_ns();
  samples[ns++] = pt_track_timeline_closing(now, t.live_bytes);
  for (size_t first = 0; first < ns; first += BATCH) { /* columns, like sites: a third of the bytes */
    size_t last = first + BATCH < ns ? first + BATCH : ns;
    pt_jsonl_begin(w, "timeline");
    pt_jsonl_array_begin(w, "t_ns");
    for (size_t i = first; i < last; i++)
      pt_jsonl_item_u64(w, samples[i].t_ns > info->start_mono_ns ? samples[i].t_ns - info->start_mono_ns : 0);
    pt_jsonl_array_end(w);
    pt_jsonl_array_begin(w, "heap_bytes");
    for (size_t i = first; i < last; i++) pt_jsonl_item_i64(w, samples[i].heap_bytes);
    pt_jsonl_array_end(w);
    pt_jsonl_array_begin(w, "rss_bytes");
    for (size_t i = first; i < last; i++) pt_jsonl_item_u64(w, samples[i].rss_bytes);
    pt_jsonl_array_end(w);
    pt_jsonl_end(w);
  }
  pt_jsonl_begin(w, "summary");
  pt_jsonl_u64(w, "duration_ns", now - info->start_mono_ns);
  pt_jsonl_u64(w, "allocs", t.allocs);
  pt_jsonl_u64(w, "frees", t.frees);
  pt_jsonl_i64(w, "live_bytes", t.live_bytes);
  pt_jsonl_i64(w, "peak_bytes", t.peak_bytes);
  pt_jsonl_u64(w, "peak_time_ns", t.peak_time_ns > info->start_mono_ns ? t.peak_time_ns - info->start_mono_ns : 0);
  pt_jsonl_u64(w, "stacks", count > 2 ? count - 2 : 0);
  pt_jsonl_bool(w, "leak_scan", leaks != NULL);
  pt_jsonl_bool(w, "approximate", pt_track_sampling() != 0); /* sampled: counts are estimates */
  if (leaks) {
    pt_jsonl_bool(w, "leak_scan_complete", leaks->complete);
    pt_jsonl_u64(w, "threads_unheld", leaks->threads_unheld);
    for (int kind = 0; kind < PT_LEAK_KINDS; kind++) {
      pt_jsonl_object_begin(w, pt_leak_kind_name(kind));
      pt_jsonl_u64(w, "count", leaks->count[kind]);
      pt_jsonl_u64(w, "bytes", leaks->bytes[kind]);
      pt_jsonl_object_end(w);
    }
  }
  pt_jsonl_u64(w, "dropped_lines", w->dropped);
  if (info->crash_signal) pt_jsonl_u64(w, "signal", (uint64_t)info->crash_signal);
  if (info->exit_call) pt_jsonl_str(w, "exit_call", info->exit_call);
  if (info->forked_child) pt_jsonl_bool(w, "forked_child", true);
  pt_jsonl_bool(w, "final", final);
  pt_jsonl_end(w);
  return pt_track_tracefile_close(w, path);
}
