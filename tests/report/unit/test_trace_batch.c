/* Unit tests of tools/report/trace_batch.c, the reader's fast path for column batches. What a user
 * relies on: a trace reads into the same model whichever path takes a line (the fast path is
 * checked against jansson's on the same records, which a space after each ':' sends down the slow
 * path), and every line the fast path must not accept - bad references, fractions, long addresses,
 * columns of different lengths, duplicate or unknown keys - still gets the reader's message with
 * its line, leaving the trace as it was. */
#include "report_check.h"
#include "trace_batch.h"
#include "trace_read.h"

static const char header[] =
    "{\"type\":\"header\",\"format\":\"ptmem-trace\",\"version\":1,\"source\":\"malloc\",\"pid\":7,\"ppid\":1,"
    "\"exe\":\"/bin/app\",\"argv\":[\"app\"],\"depth\":32}\n"
    "{\"type\":\"module\",\"id\":0,\"path\":\"/bin/app\",\"base\":\"0x1000\",\"build_id\":\"\"}\n"
    "{\"type\":\"module\",\"id\":1,\"path\":\"/lib/libc.so.6\",\"base\":\"0x7f0000000000\",\"build_id\":\"\"}\n";

/* Batches in the writer's shape, with the edge values both paths must agree on: module -1, upper-
 * case and 16-digit addresses, -0, negative live and peak figures (clamped), 18-digit integers,
 * an empty batch, and "first" after the columns. */
static const char batches[] =
    "{\"type\":\"nodes\",\"first\":1,\"parent\":[0,1,2,0,4],\"module\":[0,1,-1,1,0],"
    "\"offset\":[\"0x1081\",\"0X7FFF\",\"0xffffffffffffffff\",\"0x0\",\"0xAbC\"]}\n"
    "{\"type\":\"nodes\",\"parent\":[],\"module\":[],\"offset\":[],\"first\":6}\n"
    "{\"type\":\"stacks\",\"first\":2,\"node\":[3,4,5,-0]}\n"
    "{\"type\":\"sites\",\"stack\":[2,3,1,5],\"allocs\":[5,1,999999999999999999,0],\"frees\":[4,0,1,0],"
    "\"alloc_bytes\":[240,8,999999999999999999,0],\"live_bytes\":[48,-16,0,0],\"live_count\":[1,-1,0,0],"
    "\"peak_bytes\":[96,-8,7,0],\"temporary\":[3,0,0,0]}\n"
    "{\"type\":\"timeline\",\"t_ns\":[10,20],\"heap_bytes\":[100,-5],\"rss_bytes\":[4096,8192]}\n";

/* `text` with a space after every ':' of its batch lines: jansson reads it, the fast path refuses. */
static char* spaced(const char* text) {
  char* out = malloc(2 * strlen(text) + 1);
  CHECK(out != NULL);
  char* o = out;
  for (const char* p = text; *p; p++) {
    *o++ = *p;
    if (*p == ':') *o++ = ' ';
  }
  *o = 0;
  return out;
}

static char* joined(const char* a, const char* b) {
  char* s = malloc(strlen(a) + strlen(b) + 1);
  CHECK(s != NULL);
  strcpy(s, a);
  strcat(s, b);
  return s;
}

static void read_ok(const char* text, rp_trace_t* t) {
  rp_read_error_t err = {{0}};
  if (!rp_trace_read_buffer("t.json", text, strlen(text), t, &err)) {
    fprintf(stderr, "unexpected error: %s\n", err.text);
    exit(1);
  }
}

#define CHECK_SAME_VEC(a, b)                                                                   \
  do {                                                                                         \
    CHECK_UEQ((a).n, (b).n);                                                                   \
    CHECK((a).n == 0 || memcmp((a).v, (b).v, (a).n * sizeof *(a).v) == 0);                     \
  } while (0)

static void test_same_model_both_paths(void) {
  char* slow_batches = spaced(batches);
  char* slow_text = joined(header, slow_batches);
  rp_trace_t fast, slow;
  read_ok(slow_text, &slow);
  /* every batch line through the fast path itself, so the comparison cannot be jansson's twice */
  read_ok(header, &fast);
  rp_batch_t b = {0};
  for (const char *line = batches, *nl; (nl = strchr(line, '\n')); line = nl + 1)
    CHECK(rp_batch_read(&b, &fast, line, (size_t)(nl - line)));
  rp_batch_free(&b);
  /* and the whole text through the reader, as a trace is read */
  char* fast_text = joined(header, batches);
  rp_trace_t whole;
  read_ok(fast_text, &whole);
  CHECK_SAME_VEC(whole.nodes, slow.nodes);
  CHECK_SAME_VEC(whole.sites, slow.sites);
  CHECK_UEQ(whole.lines, slow.lines);
  rp_trace_free(&whole);
  CHECK_UEQ(fast.nodes.n, 6);
  CHECK_UEQ(fast.stacks.n, 6);
  CHECK_UEQ(fast.sites.n, 4);
  CHECK_UEQ(fast.timeline.n, 2);
  CHECK_SAME_VEC(fast.nodes, slow.nodes);
  CHECK_SAME_VEC(fast.stacks, slow.stacks);
  CHECK_SAME_VEC(fast.sites, slow.sites);
  CHECK_SAME_VEC(fast.timeline, slow.timeline);
  /* spot checks against the text, so both paths cannot be wrong alike */
  CHECK_EQ(fast.nodes.v[3].module, -1);
  CHECK_UEQ(fast.nodes.v[3].offset, UINT64_MAX);
  CHECK_UEQ(fast.nodes.v[2].offset, 0x7fff);
  CHECK_UEQ(fast.stacks.v[5], 0);
  CHECK_UEQ(fast.sites.v[1].live_bytes, 0);
  CHECK_UEQ(fast.sites.v[1].live_count, 0);
  CHECK_UEQ(fast.sites.v[1].peak_bytes, 0);
  CHECK_UEQ(fast.sites.v[2].allocs, 999999999999999999ull);
  CHECK_UEQ(fast.timeline.v[1].heap_bytes, 0);
  rp_trace_free(&fast);
  rp_trace_free(&slow);
  free(fast_text);
  free(slow_batches);
  free(slow_text);
}

/* A trace of the header, one good node batch and `bad` as line 5 must fail with `message` there. */
static void check_rejected(const char* bad, const char* message) {
  char* text = joined(header, "{\"type\":\"nodes\",\"first\":1,\"parent\":[0],\"module\":[0],\"offset\":[\"0x10\"]}\n");
  char* all = joined(text, bad);
  rp_trace_t t;
  rp_read_error_t err = {{0}};
  CHECK(!rp_trace_read_buffer("t.json", all, strlen(all), &t, &err));
  CHECK_CONTAINS(err.text, "t.json:5:");
  CHECK_CONTAINS(err.text, message);
  rp_trace_free(&t);
  free(text);
  free(all);
}

static void test_bad_batches_keep_their_messages(void) {
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[0,3],\"module\":[0,0],\"offset\":[\"0x1\",\"0x2\"]}\n",
                 "node 3 has parent 3, which is not defined before it");
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[1],\"module\":[2],\"offset\":[\"0x1\"]}\n",
                 "node 2 is in module 2, but the trace has 2 modules");
  check_rejected("{\"type\":\"nodes\",\"first\":3,\"parent\":[1],\"module\":[0],\"offset\":[\"0x1\"]}\n",
                 "batch starts at 3, expected 2");
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[1.0],\"module\":[0],\"offset\":[\"0x1\"]}\n",
                 "entry 0 of \"parent\" is a number with a fraction, expected an integer");
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[1],\"module\":[0],\"offset\":[\"0x1ffffffffffffffff\"]}\n",
                 "is not a hexadecimal address");
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[1],\"module\":[0],\"offset\":[\"1f\"]}\n",
                 "is not a \"0x...\" address");
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[1,1],\"module\":[0],\"offset\":[\"0x1\",\"0x2\"]}\n",
                 "column \"module\" has 1 entries, \"parent\" has 2");
  check_rejected("{\"type\":\"stacks\",\"first\":2,\"node\":[2]}\n", "stack 2 is node 2, which does not exist (2 nodes)");
  check_rejected("{\"type\":\"sites\",\"stack\":[0],\"allocs\":[1],\"frees\":[0],\"alloc_bytes\":[8],\"live_bytes\":[0],"
                 "\"live_count\":[0],\"peak_bytes\":[0],\"temporary\":[0]}\n",
                 "stack 0 is not defined");
  check_rejected("{\"type\":\"sites\",\"stack\":[1],\"allocs\":[-1],\"frees\":[0],\"alloc_bytes\":[8],\"live_bytes\":[0],"
                 "\"live_count\":[0],\"peak_bytes\":[0],\"temporary\":[0]}\n",
                 "entry 0 of \"allocs\" is -1, expected at least 0");
  check_rejected("{\"type\":\"timeline\",\"t_ns\":[1],\"heap_bytes\":[1]}\n", "has no field \"rss_bytes\"");
  check_rejected("{\"type\":\"nodes\",\"first\":2,\"parent\":[1,],\"module\":[0],\"offset\":[\"0x1\"]}\n", "not JSON");
}

/* Lines the fast path leaves alone although they are valid: the jansson path reads them. */
static void test_valid_but_unusual_lines_still_read(void) {
  static const char unusual[] =
      "{\"type\":\"stacks\",\"first\":2,\"node\":[1],\"node\":[1]}\n"            /* duplicate key: the last wins */
      "{\"type\":\"stacks\",\"first\":3,\"node\":[1],\"note\":\"x\"}\n"          /* unknown field */
      "{\"type\":\"stacks\",\"first\":4,\"node\":[1234567890123456789]}\n";     /* 19 digits */
  char* text = joined(header, "{\"type\":\"nodes\",\"first\":1,\"parent\":[0],\"module\":[0],\"offset\":[\"0x10\"]}\n");
  char* all = joined(text, unusual);
  rp_trace_t t;
  rp_read_error_t err = {{0}};
  /* the 19-digit node id is valid JSON but no node: the reader's message, on line 7 */
  CHECK(!rp_trace_read_buffer("t.json", all, strlen(all), &t, &err));
  CHECK_CONTAINS(err.text, "t.json:7:");
  CHECK_CONTAINS(err.text, "stack 4 is node 1234567890123456789, which does not exist");
  CHECK_UEQ(t.stacks.n, 4);
  rp_trace_free(&t);
  free(text);
  free(all);
}

/* A refused line leaves the trace as it was, even when its first rows were good. */
static void test_refusal_changes_nothing(void) {
  rp_trace_t t;
  char* text = joined(header, "{\"type\":\"nodes\",\"first\":1,\"parent\":[0],\"module\":[0],\"offset\":[\"0x10\"]}\n");
  read_ok(text, &t);
  CHECK_UEQ(t.nodes.n, 2);
  rp_batch_t b = {0};
  static const char half_good[] = "{\"type\":\"nodes\",\"first\":2,\"parent\":[1,1,9],\"module\":[0,0,0],\"offset\":[\"0x1\",\"0x2\",\"0x3\"]}";
  CHECK(!rp_batch_read(&b, &t, half_good, strlen(half_good)));
  CHECK_UEQ(t.nodes.n, 2);
  static const char good[] = "{\"type\":\"nodes\",\"first\":2,\"parent\":[1,1,2],\"module\":[0,0,0],\"offset\":[\"0x1\",\"0x2\",\"0x3\"]}";
  CHECK(rp_batch_read(&b, &t, good, strlen(good)));
  CHECK_UEQ(t.nodes.n, 5);
  CHECK_UEQ(t.nodes.v[4].parent, 2);
  CHECK_UEQ(t.nodes.v[4].offset, 3);
  rp_batch_free(&b);
  rp_trace_free(&t);
  free(text);
}

int main(void) {
  test_same_model_both_paths();
  test_bad_batches_keep_their_messages();
  test_valid_but_unusual_lines_still_read();
  test_refusal_changes_nothing();
  puts("trace_batch: ok");
  return 0;
}
