/* Unit tests of tools/report/suppress.c: LeakSanitizer's `leak:` patterns (`*`, `^`, `$`, substring
 * by default), matching any frame's function, file or module, the exact FILE:LINE:COLUMN of every
 * malformed line, and the match-everything bug class (heaptrack 1.4 suppressed every leak when
 * given a suppressions file): empty patterns, anchor-only patterns, comment-only files, and a bad
 * line after good ones. */
#include "report_check.h"
#include "suppress.h"

static void test_pattern_semantics(void) {
  /* No anchors: the pattern may match anywhere. */
  CHECK(rp_pattern_match("alloc", "my_alloc_fn"));
  CHECK(rp_pattern_match("alloc", "alloc"));
  CHECK(rp_pattern_match("alloc", "xmalloc"));
  CHECK(!rp_pattern_match("alloc", "free"));
  CHECK(!rp_pattern_match("Alloc", "alloc")); /* case matters, as in LSan */

  /* `*` is any run of characters, including none. */
  CHECK(rp_pattern_match("foo*bar", "foo_x_bar"));
  CHECK(rp_pattern_match("foo*bar", "foobar"));
  CHECK(rp_pattern_match("foo*bar", "a_foo_bar_b"));
  CHECK(!rp_pattern_match("foo*bar", "barfoo"));
  CHECK(rp_pattern_match("a*b*c", "xxaYYbZZcxx"));
  CHECK(!rp_pattern_match("a*b*c", "cba"));
  CHECK(rp_pattern_match("**", "x"));
  CHECK(rp_pattern_match("*", "anything"));

  /* Anchors. */
  CHECK(rp_pattern_match("^foo", "foobar"));
  CHECK(!rp_pattern_match("^foo", "xfoo"));
  CHECK(rp_pattern_match("foo$", "xfoo"));
  CHECK(!rp_pattern_match("foo$", "foox"));
  CHECK(rp_pattern_match("^foo$", "foo"));
  CHECK(!rp_pattern_match("^foo$", "foo2"));
  CHECK(!rp_pattern_match("^foo$", "2foo"));
  CHECK(rp_pattern_match("^foo*$", "foo_anything"));
  CHECK(rp_pattern_match("^*bar$", "foobar"));
  CHECK(!rp_pattern_match("^*bar$", "barfoo"));
  /* A literal that occurs twice: the first occurrence is not the one that ends the text.
   * TemplateMatch's greedy search misses these; backtracking finds them. */
  CHECK(rp_pattern_match("^a*b$", "abab"));
  CHECK(rp_pattern_match("a*b$", "abab"));
  CHECK(rp_pattern_match("^ab*ab$", "ababab"));
  CHECK(!rp_pattern_match("^a*b$", "abba"));
  /* `^` anywhere but the start is an ordinary character. */
  CHECK(rp_pattern_match("a^b", "xa^b"));
  CHECK(!rp_pattern_match("a^b", "ab"));

  /* Characters special elsewhere are literal here. */
  CHECK(rp_pattern_match("operator new(unsigned long)", "operator new(unsigned long)"));
  CHECK(rp_pattern_match("std::vector<int*>::push_back", "void std::vector<int*>::push_back(int* const&)"));
  CHECK(rp_pattern_match("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"));
  CHECK(!rp_pattern_match("a.c", "abc"));
  CHECK(!rp_pattern_match("a?c", "abc"));
  CHECK(!rp_pattern_match("[ab]", "a"));
  CHECK(rp_pattern_match("[ab]", "x[ab]y"));
  CHECK(rp_pattern_match("^/usr/lib/*.so", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"));

  /* Nothing to match never matches: the match-everything hole stays closed even for patterns that
   * did not come through the loader. An empty name never matches either. */
  CHECK(!rp_pattern_match("", "main"));
  CHECK(!rp_pattern_match("^", "main"));
  CHECK(!rp_pattern_match("$", "main"));
  CHECK(!rp_pattern_match("^$", "main"));
  CHECK(!rp_pattern_match("*", ""));
  CHECK(!rp_pattern_match("main", NULL));
  CHECK(!rp_pattern_match(NULL, "main"));
}

/* A three-frame stack: malloc's caller inlined into helper, helper called from main, then libc. */
static rp_frame_t frames[] = {
    {.function = "fill_buffer",
     .file = "/src/app/buffer.h",
     .line = 12,
     .module = "/opt/app/bin/app",
     .offset = 0x1234,
     .inlined = true},
    {.function = "helper",
     .file = "/src/app/helper.c",
     .line = 40,
     .module = "/opt/app/bin/app",
     .offset = 0x1234},
    {.function = NULL, .file = NULL, .line = 0, .module = "/opt/app/lib/libplugin.so", .offset = 0x99},
    {.function = "main",
     .file = "/src/app/main.c",
     .line = 7,
     .module = "/opt/app/bin/app",
     .offset = 0x2000},
    {.function = "__libc_start_call_main",
     .file = NULL,
     .line = 0,
     .module = "/lib/x86_64-linux-gnu/libc.so.6",
     .offset = 0x271ca},
};
static const rp_stack_t stack = {.frames = frames, .nframes = 5};

static void add_rule(rp_suppressions_t* s, const char* pattern) {
  rp_suppression_t r = {.pattern = rp_xstrdup(pattern), .where = rp_xstrdup("test")};
  RP_PUSH(s->rules, r);
}

static int match_one(const char* pattern) {
  rp_suppressions_t s = {0};
  add_rule(&s, pattern);
  int got = rp_suppressions_match(&s, &stack);
  rp_suppressions_free(&s);
  return got;
}

static void test_stack_matching(void) {
  CHECK_EQ(match_one("fill_buffer"), 0);    /* an inlined frame's function */
  CHECK_EQ(match_one("^helper$"), 0);       /* an outer frame's function */
  CHECK_EQ(match_one("^main$"), 0);         /* the outermost application frame */
  CHECK_EQ(match_one("buffer.h"), 0);       /* a file */
  CHECK_EQ(match_one("^/src/app/*.c$"), 0); /* a file by path */
  CHECK_EQ(match_one("libplugin.so"), 0);   /* a module, on a frame with no function or file */
  CHECK_EQ(match_one("libc.so"), 0);        /* a module */
  CHECK_EQ(match_one("^/opt/app/bin/app$"), 0);
  CHECK_EQ(match_one("nothing_like_it"), -1);
  CHECK_EQ(match_one("^buffer.h"), -1); /* anchored at the start of the file's full path */
  CHECK_EQ(match_one("^elper"), -1);

  /* The first rule in file order that matches takes the leak, even if a later rule matches an
   * inner frame. */
  rp_suppressions_t s = {0};
  add_rule(&s, "no_such_function");
  add_rule(&s, "^main$");
  add_rule(&s, "fill_buffer");
  CHECK_EQ(rp_suppressions_match(&s, &stack), 1);

  /* A stack with no frames, and a frame that knows nothing, match nothing. */
  rp_stack_t empty = {.frames = NULL, .nframes = 0};
  CHECK_EQ(rp_suppressions_match(&s, &empty), -1);
  rp_frame_t unknown = {.function = NULL, .file = NULL, .module = ""};
  rp_stack_t blank = {.frames = &unknown, .nframes = 1};
  add_rule(&s, "*");
  CHECK_EQ(rp_suppressions_match(&s, &blank), -1);
  rp_suppressions_free(&s);
  CHECK_EQ(rp_suppressions_match(&s, &stack), -1);
  CHECK_EQ(rp_suppressions_match(NULL, &stack), -1);
}

static char* write_text(const char* name, const char* text) {
  return test_write_file(name, text, strlen(text));
}

static void test_load_good_file(void) {
  char* path = write_text("good.supp", "# third-party noise\n"
                                       "\n"
                                       "leak:libfontconfig.so\n"
                                       "   leak:^g_main_context_new$   \n"
                                       "\t# indented comment\n"
                                       "leak:operator new(unsigned long)\r\n"
                                       "leak:  spaced_*_pattern\t\n"
                                       "leak:ns::Cache::instance\n"
                                       "leak:last_line_without_newline");
  rp_suppressions_t s = {0};
  char err[512] = "";
  CHECK(rp_suppressions_load(&s, path, err, sizeof err));
  CHECK_STR(err, "");
  CHECK_UEQ(s.rules.n, 6);
  CHECK_STR(s.rules.v[0].pattern, "libfontconfig.so");
  CHECK_STR(s.rules.v[1].pattern, "^g_main_context_new$");
  CHECK_STR(s.rules.v[2].pattern, "operator new(unsigned long)");
  CHECK_STR(s.rules.v[3].pattern, "spaced_*_pattern");
  CHECK_STR(s.rules.v[4].pattern, "ns::Cache::instance");
  CHECK_STR(s.rules.v[5].pattern, "last_line_without_newline");
  char* where = rp_xprintf("%s:4", path);
  CHECK_STR(s.rules.v[1].where, where);
  free(where);
  where = rp_xprintf("%s:9", path);
  CHECK_STR(s.rules.v[5].where, where);
  free(where);
  CHECK_UEQ(s.rules.v[0].matched.count, 0);

  /* A byte order mark (an editor on Windows) is not part of the first line. */
  char* bom = write_text("bom.supp", "\xEF\xBB\xBFleak:after_bom\r\n");
  rp_suppressions_t with_bom = {0};
  CHECK(rp_suppressions_load(&with_bom, bom, err, sizeof err));
  CHECK_UEQ(with_bom.rules.n, 1);
  CHECK_STR(with_bom.rules.v[0].pattern, "after_bom");
  rp_suppressions_free(&with_bom);
  free(bom);

  /* A second file appends; rule indices continue. */
  char* more = write_text("more.supp", "leak:^main$\n");
  CHECK(rp_suppressions_load(&s, more, err, sizeof err));
  CHECK_UEQ(s.rules.n, 7);
  CHECK_EQ(rp_suppressions_match(&s, &stack), 6);
  rp_suppressions_free(&s);
  free(path);
  free(more);
}

/* Loads `text` and expects failure with exactly "PATH:<suffix>". */
static void expect_error(const char* text, size_t len, const char* suffix) {
  char* path = test_write_file("bad.supp", text, len);
  rp_suppressions_t s = {0};
  char err[512] = "";
  CHECK(!rp_suppressions_load(&s, path, err, sizeof err));
  char* want = rp_xprintf("%s:%s", path, suffix);
  CHECK_STR(err, want);
  CHECK_UEQ(s.rules.n, 0);
  rp_suppressions_free(&s);
  free(want);
  free(path);
}
#define EXPECT_ERROR(text, suffix) expect_error(text, sizeof(text) - 1, suffix)

static void test_malformed_files(void) {
  EXPECT_ERROR("leak:ok\n\nrace:foo\n",
               "3:1: not a leak: suppression, only leak:PATTERN applies to leaks (race:foo)");
  EXPECT_ERROR("  interceptor_via_fun:bar\n",
               "1:3: not a leak: suppression, only leak:PATTERN applies to leaks (interceptor_via_fun:bar)");
  EXPECT_ERROR("Leak:foo\n", "1:1: not a leak: suppression, only leak:PATTERN applies to leaks (Leak:foo)");
  EXPECT_ERROR("leak :foo\n", "1:1: not a leak: suppression, only leak:PATTERN applies to leaks (leak :foo)");
  EXPECT_ERROR("# header\n  my_function\n", "2:3: not a suppression, expected leak:PATTERN (my_function)");
  EXPECT_ERROR("leak:\n", "1:6: empty pattern, it would match every leak (leak:)");
  EXPECT_ERROR("leak:   \n", "1:6: empty pattern, it would match every leak (leak:)");
  EXPECT_ERROR("\t leak:\t \r\n", "1:8: empty pattern, it would match every leak (leak:)");
  EXPECT_ERROR("leak:^$\n", "1:6: pattern has only anchors, nothing to match (leak:^$)");
  EXPECT_ERROR("leak:  ^\n", "1:8: pattern has only anchors, nothing to match (leak:  ^)");
  EXPECT_ERROR("leak:$\n", "1:6: pattern has only anchors, nothing to match (leak:$)");
  EXPECT_ERROR("leak:foo$bar\n", "1:9: `$` anchors the end and must be the last character (leak:foo$bar)");
  EXPECT_ERROR("leak:foo # known leak\n",
               "1:10: `#` inside a pattern (comments go on their own line) (leak:foo # known leak)");
  EXPECT_ERROR("leak:ok\nleak:f\0oo\n", "2:7: NUL byte: not a text file (leak:f)");
  EXPECT_ERROR("\xEF\xBB\xBFrace:x\n",
               "1:1: not a leak: suppression, only leak:PATTERN applies to leaks (race:x)");

  /* A long line is cut in the message. */
  char long_line[200];
  memset(long_line, 'x', sizeof long_line);
  memcpy(long_line, "race:", 5);
  long_line[sizeof long_line - 1] = '\n';
  expect_error(long_line, sizeof long_line,
               "1:1: not a leak: suppression, only leak:PATTERN applies to leaks (race:"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...)");

  /* Unreadable files. */
  char err[512];
  rp_suppressions_t s = {0};
  char* missing = rp_xprintf("%s/no-such.supp", test_tmpdir());
  CHECK(!rp_suppressions_load(&s, missing, err, sizeof err));
  char* want = rp_xprintf("%s: cannot open: No such file or directory", missing);
  CHECK_STR(err, want);
  free(want);
  free(missing);
  CHECK(!rp_suppressions_load(&s, test_tmpdir(), err, sizeof err));
  want = rp_xprintf("%s: read error: Is a directory", test_tmpdir());
  CHECK_STR(err, want);
  free(want);
  CHECK_UEQ(s.rules.n, 0);
  rp_suppressions_free(&s);
}

/* The bug class that made heaptrack's suppressions suppress everything. */
static void test_never_match_everything(void) {
  rp_suppressions_t s = {0};
  char err[512];

  /* A file of only comments and blank lines loads, and suppresses nothing. */
  char* comments = write_text("comments.supp", "# nothing yet\n\n   # still nothing\n\t\n");
  CHECK(rp_suppressions_load(&s, comments, err, sizeof err));
  CHECK_UEQ(s.rules.n, 0);
  CHECK_EQ(rp_suppressions_match(&s, &stack), -1);
  char* empty = write_text("empty.supp", "");
  CHECK(rp_suppressions_load(&s, empty, err, sizeof err));
  CHECK_UEQ(s.rules.n, 0);
  CHECK_EQ(rp_suppressions_match(&s, &stack), -1);

  /* Good rules loaded before keep working; a file with a bad line after good ones is an error and
   * adds none of its rules. */
  char* first = write_text("first.supp", "leak:no_such_function\n");
  CHECK(rp_suppressions_load(&s, first, err, sizeof err));
  CHECK_UEQ(s.rules.n, 1);
  char* mixed = write_text("mixed.supp", "leak:^main$\nleak:helper\nleak:\n");
  CHECK(!rp_suppressions_load(&s, mixed, err, sizeof err));
  char* want = rp_xprintf("%s:3:6: empty pattern, it would match every leak (leak:)", mixed);
  CHECK_STR(err, want);
  CHECK_UEQ(s.rules.n, 1);
  CHECK_STR(s.rules.v[0].pattern, "no_such_function");
  CHECK_EQ(rp_suppressions_match(&s, &stack), -1);
  rp_suppressions_free(&s);
  free(want);
  free(comments);
  free(empty);
  free(first);
  free(mixed);
}

int main(void) {
  test_pattern_semantics();
  test_stack_matching();
  test_load_good_file();
  test_malformed_files();
  test_never_match_everything();
  test_remove_tmpdir();
  return 0;
}
