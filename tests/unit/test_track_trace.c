/* Unit tests of track/trace.c's stack lines written without memory for the stack tree: a child
 * process lowers RLIMIT_AS to its own size (no new mapping: neither the trie nor the code map can
 * be built, as in a program that did so itself) and writes the trace. Every stack must read back
 * as the same frames as in the trace written with the tree, each as a chain of nodes of its own
 * (so more nodes), with node ids in order, parents before children, at most 512 to a line, each
 * stack's node written before it, and the summary last. Its sites used to name stacks never
 * written. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "modules.h"
#include "trace.h"
#include "track.h"

enum { STACKS = 700, JUNK = 0x10 /* in no module: a stack ends before it */ };

typedef struct parsed_s {
  uint64_t* parent; /* per node id; node 0 is the root */
  uint64_t* module;
  uint64_t* offset;
  size_t nodes;
  uint64_t* node_of; /* per stack id - 2 */
  size_t stacks;
  bool summary_last;
} parsed_t;

static uint64_t* grown(uint64_t* v, size_t n) {
  v = realloc(v, n * sizeof *v);
  CHECK(v != NULL);
  return v;
}

/* The numbers of the line's array `key` (plain or quoted, decimal or 0x): a batch, at most 512. */
static size_t read_array(const char* line, const char* key, uint64_t out[512]) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  const char* p = strstr(line, pat);
  CHECK(p != NULL);
  p += strlen(pat);
  size_t n = 0;
  while (*p != ']') {
    CHECK_LT(n, 512);
    if (*p == '"') p++;
    char* end;
    out[n++] = *p == '-' ? (uint64_t)strtoll(p, &end, 10) : strtoull(p, &end, 0);
    CHECK(end != p);
    p = end + (*end == '"');
    if (*p == ',') p++;
  }
  CHECK_GE(n, 1);
  return n;
}

static uint64_t field(const char* line, const char* key) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char* p = strstr(line, pat);
  CHECK(p != NULL);
  return strtoull(p + strlen(pat), NULL, 10);
}

static void parse_nodes(parsed_t* t, const char* line) {
  static uint64_t parent[512], module[512], offset[512];
  CHECK_UEQ(field(line, "first"), t->nodes);
  size_t n = read_array(line, "parent", parent);
  CHECK_UEQ(read_array(line, "module", module), n);
  CHECK_UEQ(read_array(line, "offset", offset), n);
  t->parent = grown(t->parent, t->nodes + n);
  t->module = grown(t->module, t->nodes + n);
  t->offset = grown(t->offset, t->nodes + n);
  for (size_t i = 0; i < n; i++, t->nodes++) {
    CHECK_LT(parent[i], t->nodes); /* parents first */
    t->parent[t->nodes] = parent[i];
    t->module[t->nodes] = module[i];
    t->offset[t->nodes] = offset[i];
  }
}

static void parse_stacks(parsed_t* t, const char* line) {
  static uint64_t node[512];
  CHECK_UEQ(field(line, "first"), t->stacks + 2);
  size_t n = read_array(line, "node", node);
  t->node_of = grown(t->node_of, t->stacks + n);
  for (size_t i = 0; i < n; i++) {
    CHECK_LT(node[i], t->nodes); /* written before the stack */
    t->node_of[t->stacks++] = node[i];
  }
}

static void parse(parsed_t* t, const char* path) {
  *t = (parsed_t){.nodes = 1}; /* the root */
  t->parent = grown(NULL, 1);
  t->module = grown(NULL, 1);
  t->offset = grown(NULL, 1);
  FILE* f = fopen(path, "r");
  CHECK(f != NULL);
  char* line = NULL;
  size_t size = 0;
  while (getline(&line, &size, f) > 0) {
    t->summary_last = strncmp(line, "{\"type\":\"summary\"", 17) == 0;
    if (strncmp(line, "{\"type\":\"nodes\"", 15) == 0) parse_nodes(t, line);
    if (strncmp(line, "{\"type\":\"stacks\"", 16) == 0) parse_stacks(t, line);
  }
  free(line);
  fclose(f);
}

/* Stack `id`'s frames as (module, offset), innermost first; the count. */
static size_t frames_of(const parsed_t* t, uint32_t id, uint64_t out[][2]) {
  size_t n = 0;
  for (uint64_t node = t->node_of[id - 2]; node; node = t->parent[node]) {
    CHECK_LT(n, PT_TRACK_DEPTH_MAX);
    out[n][0] = t->module[node];
    out[n++][1] = t->offset[node];
  }
  return n;
}

/* The executable segment holding this test's code. */
static void own_text(uintptr_t* lo, uintptr_t* hi) {
  pt_track_modules_refresh();
  for (size_t i = 0; i < pt_track_modules_count(); i++) {
    const pt_module_t* m = pt_track_module(i);
    for (uint32_t s = 0; s < m->nsegments; s++) {
      *lo = m->base + m->segments[s].vaddr;
      *hi = *lo + m->segments[s].memsz;
      if ((m->segments[s].flags & PF_X) && (uintptr_t)&own_text >= *lo && (uintptr_t)&own_text < *hi) return;
    }
  }
  CHECK(!"no executable segment holds this test's code");
}

/* Stacks sharing their outer frames (the tree shares them, chains do not), some cut short by a
 * junk frame, one with no frame kept at all. Return addresses: one past a byte of code. */
static void make_stacks(void) {
  uintptr_t lo, hi;
  own_text(&lo, &hi);
  size_t span = hi - lo - 1;
  CHECK_GE(span, 64);
#define AT(k) (lo + 1 + ((size_t)(k)*7) % span)
  for (unsigned i = 0; i < STACKS; i++) {
    uintptr_t f[] = {AT(1000 + i), AT(200 + i % 7), AT(100 + i % 3), AT(1), AT(2)};
    if (i % 50 == 0) f[2] = JUNK;
    if (i == STACKS - 1) f[0] = JUNK;
    CHECK_GE(pt_track_stack_intern(f, sizeof f / sizeof f[0]), 2);
  }
#undef AT
}

static void write_trace(const char* path) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  pt_trace_info_t info = {.source = "malloc", .unwinder = "frame-pointers", .depth = 32,
                          .start_mono_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec};
  CHECK(pt_track_trace_write(path, &info, NULL, true));
}

/* This process's address space now, in bytes, without stdio (it would map its buffer). */
static rlim_t address_space(void) {
  char buf[64] = {0};
  int fd = open("/proc/self/statm", O_RDONLY);
  CHECK_GE(fd, 0);
  CHECK(read(fd, buf, sizeof buf - 1) > 0);
  close(fd);
  return (rlim_t)strtoull(buf, NULL, 10) * (rlim_t)sysconf(_SC_PAGESIZE);
}

/* The stack's pages made now: under the limit, growing it would be refused too. */
__attribute__((noinline)) static void grow_stack(void) {
  volatile char pages[256 * 1024];
  for (size_t i = 0; i < sizeof pages; i += 4096) pages[i] = 1;
}

static void write_without_memory(const char* path) {
  pid_t child = fork();
  CHECK_GE(child, 0);
  if (child == 0) {
    grow_stack();
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) != 0) _exit(2);
    lim.rlim_cur = address_space();
    if (setrlimit(RLIMIT_AS, &lim) != 0) _exit(3);
    if (mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) _exit(4);
    write_trace(path);
    _exit(0);
  }
  int status;
  CHECK_EQ(waitpid(child, &status, 0), child);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0); /* 4: the limit did not stop new mappings */
}

static void parsed_free(parsed_t* t) {
  free(t->parent);
  free(t->module);
  free(t->offset);
  free(t->node_of);
}

int main(void) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* Their runtimes map memory of their own as they go: under a limit at the process's size, what
   * fails is theirs, not the trace writer's. */
  SKIP("the address space limit is for builds without a sanitizer");
#endif
  make_stacks();
  char dir[] = "/tmp/ptmem-unit-trace-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char with_tree[64], without[64];
  snprintf(with_tree, sizeof with_tree, "%s/tree.json", dir);
  snprintf(without, sizeof without, "%s/chains.json", dir);
  write_trace(with_tree);
  write_without_memory(without);

  parsed_t tree, chains;
  parse(&tree, with_tree);
  parse(&chains, without);
  CHECK(tree.summary_last && chains.summary_last);
  uint32_t count = pt_track_stack_count();
  CHECK_UEQ(tree.stacks, count - 2);
  CHECK_UEQ(chains.stacks, count - 2);
  static uint64_t a[PT_TRACK_DEPTH_MAX][2], b[PT_TRACK_DEPTH_MAX][2];
  size_t frames = 0, empty = 0;
  for (uint32_t id = 2; id < count; id++) {
    size_t n = frames_of(&tree, id, a);
    CHECK_UEQ(frames_of(&chains, id, b), n);
    CHECK(memcmp(a, b, n * sizeof a[0]) == 0);
    frames += n;
    empty += n == 0;
  }
  CHECK_UEQ(empty, 1);                  /* the stack whose first frame is junk */
  CHECK_UEQ(chains.nodes - 1, frames); /* no node shared */
  CHECK_LT(tree.nodes, chains.nodes);
  printf("trace: %u stacks, %zu frames: %zu nodes shared in a tree, %zu as chains without memory\n",
         count - 2, frames, tree.nodes - 1, chains.nodes - 1);
  parsed_free(&tree);
  parsed_free(&chains);
  unlink(with_tree);
  unlink(without);
  rmdir(dir);
  return 0;
}
