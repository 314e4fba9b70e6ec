/* Unit tests of track/jsonl.c, on the bytes it writes. Strings: a trace is read by strict JSON
 * readers (jansson, Python), which reject the whole file for one byte that is not UTF-8, while
 * arguments and paths are bytes in any encoding. So valid sequences go out as they are, every byte
 * of no valid sequence (RFC 3629: no overlongs, surrogates or code points past U+10FFFF) becomes
 * U+FFFD, and a long string is cut on a character boundary. Checked against a reference that
 * decodes code points (another way to the same rule) on hand-picked and random strings. And a
 * trace larger than the file size limit fails to write instead of SIGXFSZ killing the process. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jsonl.h"

static pt_jsonl_t writer; /* 256 KiB: not on the stack */
static char dir[] = "/tmp/ptmem-jsonl-XXXXXX";
static char got[1 << 20];

static const char fffd[] = "\xEF\xBF\xBD";

/* The writer's whole output for one line {"type":"t","s":value}, with the framing checked and
 * removed: the string's contents, as written. */
static size_t written(const char* value, char* out, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "%s/line.json", dir);
  unlink(path); /* truncating a written file makes ext4 flush it at close: 2 ms a string */
  CHECK(pt_jsonl_open(&writer, path, path));
  pt_jsonl_begin(&writer, "t");
  pt_jsonl_str(&writer, "s", value);
  pt_jsonl_end(&writer);
  pt_jsonl_close(&writer);
  CHECK(!writer.failed);
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  ssize_t n = read(fd, got, sizeof got);
  close(fd);
  static const char head[] = "{\"type\":\"t\",\"s\":\"", tail[] = "\"}\n";
  CHECK(n >= (ssize_t)(sizeof head + sizeof tail - 2));
  CHECK(memcmp(got, head, sizeof head - 1) == 0);
  CHECK(memcmp(got + n - (sizeof tail - 1), tail, sizeof tail - 1) == 0);
  size_t len = (size_t)n - (sizeof head - 1) - (sizeof tail - 1);
  CHECK(len < size);
  memcpy(out, got + sizeof head - 1, len);
  out[len] = 0;
  return len;
}

/* The code point of a well-formed sequence at s, its length in *len; -1 if none. By the code
 * point, not by RFC 3629's table of byte ranges as the writer does. */
static long decode(const unsigned char* s, size_t* len) {
  static const long min[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (!n) return -1;
  long cp = n == 1 ? s[0] : s[0] & (0x7F >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return -1;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *len = n;
  return cp;
}

/* What the writer must write for s: the rule, spelled out on decoded code points. */
static size_t expected(const char* str, char* out) {
  const unsigned char* s = (const unsigned char*)str;
  size_t o = 0, budget = PT_JSONL_LINE_MAX / 2;
  while (*s) {
    size_t n = 1;
    long cp = decode(s, &n);
    if (n > budget) break;
    if (cp < 0) {
      memcpy(out + o, fffd, 3), o += 3;
    } else if (cp == '"' || cp == '\\') {
      out[o++] = '\\', out[o++] = (char)cp;
    } else if (cp < 0x20 || cp == 0x7f) {
      o += (size_t)sprintf(out + o, "\\u%04lx", cp);
    } else {
      memcpy(out + o, s, n), o += n;
    }
    s += n;
    budget -= n;
  }
  if (*s) memcpy(out + o, "...", 3), o += 3;
  out[o] = 0;
  return o;
}

/* Strictly valid UTF-8, nothing else (a JSON reader's view, minus the escapes). */
static bool valid_utf8(const char* str, size_t len) {
  const unsigned char* s = (const unsigned char*)str;
  for (size_t i = 0, n; i < len; i += n)
    if (decode(s + i, &n) < 0 || i + n > len) return false;
  return true;
}

static char out_buf[1 << 16], want_buf[1 << 16];

static void check_string(const char* in, const char* want) {
  size_t n = written(in, out_buf, sizeof out_buf);
  if (!valid_utf8(out_buf, n)) {
    fprintf(stderr, "not UTF-8 for input of %zu bytes: %.80s\n", strlen(in), out_buf);
    exit(1);
  }
  if (!want) want = want_buf, expected(in, want_buf);
  if (strcmp(out_buf, want) != 0) {
    fprintf(stderr, "input of %zu bytes %.40s: wrote %zu bytes %.80s, expected %zu bytes %.80s\n", strlen(in), in, n,
            out_buf, strlen(want), want);
    exit(1);
  }
}

static void hand_picked(void) {
  check_string("x\xe9y", "x\xEF\xBF\xBDy");                                  /* Latin-1 */
  check_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"); /* é € 😀 */
  check_string("\xc2\x80\xdf\xbf", "\xc2\x80\xdf\xbf");                      /* 2-byte bounds */
  check_string("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80");      /* around the surrogates */
  check_string("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");                      /* U+10FFFF */
  check_string("\xc0\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD");                      /* overlong '/' */
  check_string("\xc1\xbf", "\xEF\xBF\xBD\xEF\xBF\xBD");
  check_string("\xe0\x80\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");      /* overlong, 3 bytes */
  check_string("\xf0\x80\x80\xaf", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  check_string("\xed\xa0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");      /* surrogate U+D800 */
  check_string("\xf4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* U+110000 */
  check_string("\xf5\x80", "\xEF\xBF\xBD\xEF\xBF\xBD");
  check_string("\xff\xfe", "\xEF\xBF\xBD\xEF\xBF\xBD");
  check_string("a\xe2\x82", "a\xEF\xBF\xBD\xEF\xBF\xBD");                    /* cut short by the end */
  check_string("\xe2\x82(", "\xEF\xBF\xBD\xEF\xBF\xBD(");                    /* ... by another byte */
  check_string("\x80z", "\xEF\xBF\xBDz");                                    /* a lone continuation */
  check_string("q\"b\\\x01\x1f\x7f", "q\\\"b\\\\\\u0001\\u001f\\u007f");
  check_string("", "");
}

/* A string cut at the budget keeps only whole characters and says it was cut. */
static void truncation(void) {
  static char in[3 * PT_JSONL_LINE_MAX], want[3 * PT_JSONL_LINE_MAX];
  const size_t budget = PT_JSONL_LINE_MAX / 2;
  static const char* const seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (size_t k = 0; k < 3; k++) {
    size_t n = strlen(seqs[k]);
    for (size_t pad = budget - 2 * n; pad <= budget; pad++) { /* the sequence around the budget's end */
      memset(in, 'a', pad);
      strcpy(in + pad, seqs[k]);
      strcat(in, "b");
      memset(want, 'a', pad);
      size_t o = pad;
      if (pad + n <= budget) memcpy(want + o, seqs[k], n), o += n;
      if (pad + n + 1 <= budget) want[o++] = 'b';
      want[o] = 0;
      if (pad + n + 1 > budget) strcat(want, "...");
      check_string(in, want);
    }
    size_t o = 0; /* a long string of that character only */
    while (o + n < sizeof in / 2) memcpy(in + o, seqs[k], n), o += n;
    in[o] = 0;
    size_t keep = budget / n * n;
    memcpy(want, in, keep);
    strcpy(want + keep, "...");
    check_string(in, want);
  }
}

/* Random bytes, biased towards the interesting ones (leads, continuations, limits). */
static void random_strings(void) {
  static const unsigned char pick[] = {0x01, 'a', '"', '\\', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
                                       0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5,
                                       0xf8, 0xfe, 0xff};
  static char in[PT_JSONL_LINE_MAX];
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int round = 0; round < 20000; round++) {
    size_t len = round < 19990 ? 1 + round % 13 : PT_JSONL_LINE_MAX - 1; /* a few longer than the budget */
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      in[i] = (char)(x % 3 ? pick[(x >> 8) % sizeof pick] : (unsigned char)(1 + (x >> 16) % 255));
    }
    in[len] = 0;
    check_string(in, NULL);
  }
}

static bool xfsz_pending(void) {
  sigset_t pending;
  CHECK(sigpending(&pending) == 0);
  return sigismember(&pending, SIGXFSZ);
}

/* A trace that outgrows RLIMIT_FSIZE: the write fails (EFBIG), the process is not killed by
 * SIGXFSZ, no SIGXFSZ of the writer's is left pending, and the thread's mask is as it was, with
 * SIGXFSZ unblocked or, the second time, blocked and holding one the program raised itself. */
static void file_size_limit(void) {
  struct rlimit old, small;
  CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
  small = old;
  small.rlim_cur = 4096;
  CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  static char long_str[3000];
  memset(long_str, 'x', sizeof long_str - 1);
  char path[64];
  snprintf(path, sizeof path, "%s/big.json", dir);
  sigset_t xfsz;
  sigemptyset(&xfsz);
  sigaddset(&xfsz, SIGXFSZ);
  for (int own_pending = 0; own_pending < 2; own_pending++) {
    if (own_pending) {
      CHECK(pthread_sigmask(SIG_BLOCK, &xfsz, NULL) == 0);
      raise(SIGXFSZ);
    }
    sigset_t before, after;
    CHECK(pthread_sigmask(SIG_SETMASK, NULL, &before) == 0);
    CHECK(pt_jsonl_open(&writer, path, path));
    for (int i = 0; i < 10; i++) {
      pt_jsonl_begin(&writer, "t");
      pt_jsonl_str(&writer, "s", long_str);
      pt_jsonl_end(&writer);
      pt_jsonl_flush(&writer);
    }
    pt_jsonl_close(&writer);
    CHECK(writer.failed);
    CHECK(pthread_sigmask(SIG_SETMASK, NULL, &after) == 0);
    for (int sig = 1; sig < NSIG; sig++) CHECK_EQ(sigismember(&after, sig), sigismember(&before, sig));
    CHECK_EQ(xfsz_pending(), own_pending);
    unlink(path);
  }
  static const struct timespec now = {0, 0};
  CHECK_EQ(sigtimedwait(&xfsz, NULL, &now), SIGXFSZ); /* the program's own, taken back */
  CHECK(pthread_sigmask(SIG_UNBLOCK, &xfsz, NULL) == 0);
  CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
}

int main(void) {
  CHECK(mkdtemp(dir));
  hand_picked();
  truncation();
  random_strings();
  file_size_limit();
  char path[64];
  snprintf(path, sizeof path, "%s/line.json", dir);
  unlink(path);
  rmdir(dir);
  printf("jsonl: strings are UTF-8, cut on character boundaries; a file size limit fails the write\n");
  return 0;
}
