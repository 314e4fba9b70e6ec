/* Unit tests of tools/report/analysis.c: one small trace read and analysed. A stack's function key
 * (the identity a --baseline matches leak sites by) is rp_frames_fn_key of its frames, for a
 * symbolized stack, an unsymbolizable one and the trace's "unknown" stack alike, so a leak of
 * today's run and the same leak read back from a saved report get the same key. */
#include "analysis.h"
#include "baseline.h"
#include "report_check.h"
#include "trace_read.h"

/* Two leak sites: two frames in a module that does not exist (module+offset), and the "unknown"
 * stack (id 1). */
static const char trace_text[] =
    "{\"type\":\"header\",\"format\":\"ptmem-trace\",\"version\":1,\"source\":\"malloc\",\"pid\":100,\"ppid\":1,"
    "\"exe\":\"/nonexistent/app\",\"argv\":[\"app\"],\"start_unix_ns\":1,\"unwinder\":\"frame-pointers\","
    "\"depth\":32,\"sample_bytes\":0,\"page_size\":4096}\n"
    "{\"type\":\"module\",\"id\":0,\"path\":\"/nonexistent/app\",\"base\":\"0x555555554000\",\"build_id\":\"\","
    "\"segments\":[{\"vaddr\":\"0x1000\",\"size\":\"0x200\",\"perms\":\"r-x\"}],\"loaded_ns\":1}\n"
    "{\"type\":\"nodes\",\"first\":1,\"parent\":[0,1],\"module\":[0,0],\"offset\":[\"0x1100\",\"0x1150\"]}\n"
    "{\"type\":\"stacks\",\"first\":2,\"node\":[2]}\n"
    "{\"type\":\"leak\",\"stack\":2,\"kind\":\"definite\",\"count\":1,\"bytes\":10,\"examples\":[]}\n"
    "{\"type\":\"leak\",\"stack\":1,\"kind\":\"definite\",\"count\":2,\"bytes\":20,\"examples\":[]}\n";

static void test_fn_key_is_the_baselines(void) {
  char* path = test_write_file("trace.json", trace_text, sizeof trace_text - 1);
  rp_trace_t* traces = rp_xcalloc(1, sizeof *traces);
  rp_read_error_t err;
  if (!rp_trace_read(path, traces, &err)) {
    fprintf(stderr, "%s\n", err.text);
    exit(1);
  }
  rp_symbolizer_t* sym = rp_symbolizer_create(NULL);
  rp_report_t r;
  rp_analyze(&r, traces, 1, sym, NULL);
  CHECK_UEQ(r.leaks.n, 2);
  unsigned empty = 0;
  for (size_t i = 0; i < r.leaks.n; i++) {
    const rp_stack_t* s = rp_stack_resolve(r.leaks.v[i].stack);
    char* key = rp_frames_fn_key(s->frames, s->nframes); /* what the gate matches a baseline by */
    if (s->nframes == 0) {
      empty++;
      CHECK_STR(key, "(no frames)");
    } else {
      CHECK_STR(key, "?app;?app");
    }
    free(key);
  }
  CHECK_UEQ(empty, 1);
  rp_report_free(&r);
  rp_symbolizer_destroy(sym);
  free(path);
}

/* A section's first `top` sites, picked without sorting them all, are those a full sort puts first,
 * in the same order: costs with many ties (broken by stack), every top from 0 to past the end. */
static void test_top_sites_are_the_sorted_ones(void) {
  enum { SITES = 300 };
  static rp_frame_t frames[SITES];
  static rp_stack_t stacks[SITES];
  rp_report_t r = {0};
  uint32_t seed = 12345;
  for (uint32_t i = 0; i < SITES; i++) {
    frames[i] = (rp_frame_t){.module = "/m", .offset = (i * 7919u) % SITES};
    stacks[i] = (rp_stack_t){.frames = &frames[i], .nframes = 1};
    seed = seed * 1103515245u + 12345u;
    RP_PUSH(r.sites, ((rp_entry_t){.stack = &stacks[i], .allocs = (seed >> 16) % 9, .suppressed_by = -1}));
  }
  uint32_t all_n;
  uint32_t* all = rp_sites_by(&r, RP_COST_ALLOCS, 0, &all_n);
  CHECK(all_n > 200 && all_n < SITES); /* cost 0 is left out */
  for (uint32_t i = 1; i < all_n; i++) CHECK(r.sites.v[all[i - 1]].allocs >= r.sites.v[all[i]].allocs);
  for (uint32_t top = 1; top <= all_n + 1; top += top < 20 ? 1 : 37) {
    uint32_t n;
    uint32_t* some = rp_sites_by(&r, RP_COST_ALLOCS, top, &n);
    CHECK_UEQ(n, all_n);
    for (uint32_t i = 0; i < top && i < n; i++) CHECK_UEQ(some[i], all[i]);
    free(some);
  }
  free(all);
  free(r.sites.v);
}

int main(void) {
  test_fn_key_is_the_baselines();
  test_top_sites_are_the_sorted_ones();
  test_remove_tmpdir();
  return 0;
}
