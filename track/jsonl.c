/* jsonl.c - see jsonl.h. */
#define _GNU_SOURCE /* strerrordesc_np */
#include "jsonl.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../pools/os.h"

static _Atomic int reported; /* one warning per process: snapshots retry every few seconds */

/* A forked child's trace is another file, perhaps failing for its own reason: the parent's
 * warning named the parent's. */
void pt_jsonl_fork_child(void) { atomic_store_explicit(&reported, 0, memory_order_relaxed); }

void pt_jsonl_report_parts(const char* const* parts, size_t nparts) {
  if (atomic_exchange(&reported, 1)) return;
  char msg[600];
  size_t n = 0;
  for (size_t i = 0; i < nparts; i++) {
    size_t len = strlen(parts[i]);
    if (n + len >= sizeof msg) len = sizeof msg - 1 - n;
    memcpy(msg + n, parts[i], len);
    n += len;
  }
  msg[n] = 0;
  pt__os_write_stderr(msg);
}

/* The warning may come from a crash handler or a snapshot signal's: strerror translates through
 * gettext, which takes a lock (and may allocate) that the interrupted code could hold;
 * strerrordesc_np is the English text from a table. */
void pt_jsonl_report(const char* what, const char* path) {
  if (atomic_load(&reported)) return;
  const char* reason = strerrordesc_np(errno);
  const char* parts[] = {"ptmem: cannot ", what, " the trace ", path ? path : "", ": ", reason ? reason : "unknown error",
                         "; the program goes on without it\n"};
  pt_jsonl_report_parts(parts, sizeof parts / sizeof parts[0]);
}

static void xfsz_only(sigset_t* set) {
  sigemptyset(set);
  sigaddset(set, SIGXFSZ);
}

static bool xfsz_pending(void) {
  sigset_t pending;
  return sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ);
}

/* A write past RLIMIT_FSIZE raises SIGXFSZ, whose default action ends the process: blocked, the
 * write fails with EFBIG, the writer's ordinary failure. Once per trace, not per write(); the
 * program's disposition is left alone. */
static void xfsz_block(pt_jsonl_t* w) {
  sigset_t xfsz;
  xfsz_only(&xfsz);
  pthread_sigmask(SIG_BLOCK, &xfsz, &w->saved_mask);
  w->xfsz_was_pending = xfsz_pending();
  w->efbig = false;
}

/* The SIGXFSZ our write raised is taken before the mask comes back, or it would kill the program
 * (or run its handler) then. One the program had pending already stays: it is the program's. */
static void xfsz_restore(pt_jsonl_t* w) {
  sigset_t xfsz;
  xfsz_only(&xfsz);
  if (w->efbig && !w->xfsz_was_pending && xfsz_pending()) {
    static const struct timespec now = {0, 0};
    while (sigtimedwait(&xfsz, NULL, &now) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &w->saved_mask, NULL);
}

bool pt_jsonl_open(pt_jsonl_t* w, const char* path, const char* shown_as) {
  int saved = errno;
  bool ok = pt_jsonl_attach(w, open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), shown_as);
  errno = saved;
  return ok;
}

bool pt_jsonl_attach(pt_jsonl_t* w, int fd, const char* shown_as) {
  w->shown_as = shown_as;
  w->used = w->line_start = 0;
  w->failed = w->overflow = false;
  w->dropped = 0;
  w->fd = fd;
  if (fd < 0) {
    int saved = errno;
    pt_jsonl_report("create", shown_as);
    w->failed = true;
    errno = saved;
  } else {
    xfsz_block(w); /* after open: a FIFO nobody reads holds open() for as long as it likes */
  }
  return !w->failed;
}

static void write_out(pt_jsonl_t* w, size_t n) {
  int saved = errno;
  const char* p = w->buf;
  size_t left = n;
  while (left && !w->failed) {
    ssize_t r = write(w->fd, p, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = ENOSPC;
      if (errno == EFBIG) w->efbig = true;
      pt_jsonl_report("write", w->shown_as);
      w->failed = true;
      break;
    }
    p += r;
    left -= (size_t)r;
  }
  memmove(w->buf, w->buf + n, w->used - n);
  w->used -= n;
  w->line_start -= n;
  errno = saved;
}

void pt_jsonl_flush(pt_jsonl_t* w) {
  if (w->line_start) write_out(w, w->line_start);
}

void pt_jsonl_close(pt_jsonl_t* w) {
  pt_jsonl_flush(w);
  int saved = errno;
  if (w->fd >= 0 && close(w->fd) != 0 && errno != EINTR && !w->failed) {
    pt_jsonl_report("write", w->shown_as);
    w->failed = true;
  }
  if (w->fd >= 0) xfsz_restore(w);
  errno = saved;
  w->fd = -1;
}

static void put(pt_jsonl_t* w, const char* s, size_t n) {
  if (w->used + n > sizeof w->buf) pt_jsonl_flush(w); /* complete lines out; this one moves down */
  if (w->used + n > sizeof w->buf) {                  /* one line bigger than the buffer */
    w->overflow = true;
    return;
  }
  memcpy(w->buf + w->used, s, n);
  w->used += n;
}
static void putc_(pt_jsonl_t* w, char c) { put(w, &c, 1); }

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at s (RFC 3629), or 0. Overlongs (C0, C1,
 * E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and code points past U+10FFFF (F4 90-BF, F5-FF) are
 * not valid: a strict reader (jansson) rejects the whole trace for one of them. A NUL is not a
 * continuation byte, so the check never reads past the string's end. */
static size_t utf8_len(const unsigned char* s) {
  unsigned char lo = 0x80, hi = 0xBF;
  size_t n;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) {
    n = 2;
  } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    n = 3;
    if (s[0] == 0xE0) lo = 0xA0;
    if (s[0] == 0xED) hi = 0x9F;
  } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    n = 4;
    if (s[0] == 0xF0) lo = 0x90;
    if (s[0] == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

/* One byte that cannot go out as it is: a quote, a backslash, a control character, or a byte of no
 * valid sequence, which becomes U+FFFD (paths and arguments are bytes, in whatever encoding). */
static void put_escaped(pt_jsonl_t* w, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  if (c >= 0x80) {
    put(w, "\xEF\xBF\xBD", 3);
  } else if (c == '"' || c == '\\') {
    char esc[2] = {'\\', (char)c};
    put(w, esc, 2);
  } else {
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    put(w, esc, 6);
  }
}

/* Cut at a byte budget, never inside a sequence. Bytes that need nothing go out in runs, one put()
 * each: most strings are paths, all plain. */
static void put_string(pt_jsonl_t* w, const char* str) {
  const unsigned char* s = (const unsigned char*)str;
  const unsigned char* plain = s; /* the run not yet written: from here to s */
  size_t budget = PT_JSONL_LINE_MAX / 2;
  putc_(w, '"');
  while (*s) {
    size_t n = *s < 0x80 ? 1 : utf8_len(s);
    if ((n ? n : 1) > budget) break;
    if (n > 1 || (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')) {
      s += n;
      budget -= n;
      continue;
    }
    put(w, (const char*)plain, (size_t)(s - plain));
    put_escaped(w, *s);
    s++;
    budget--;
    plain = s;
  }
  put(w, (const char*)plain, (size_t)(s - plain));
  if (*s) put(w, "...", 3);
  putc_(w, '"');
}

static void put_u64(pt_jsonl_t* w, uint64_t v) {
  char tmp[24];
  put(w, tmp, pt__fmt_u64(tmp, v));
}

static void key(pt_jsonl_t* w, const char* k) {
  if (!w->first_field) putc_(w, ',');
  w->first_field = false;
  if (k) {
    put_string(w, k);
    putc_(w, ':');
  }
}

void pt_jsonl_begin(pt_jsonl_t* w, const char* type) {
  if (w->used > sizeof w->buf - PT_JSONL_LINE_MAX) pt_jsonl_flush(w);
  w->line_start = w->used;
  putc_(w, '{');
  w->first_field = true;
  pt_jsonl_str(w, "type", type);
}

void pt_jsonl_end(pt_jsonl_t* w) {
  put(w, "}\n", 2);
  if (w->overflow) { /* never write half a line: drop it and count it */
    w->used = w->line_start;
    w->overflow = false;
    w->dropped++;
    return;
  }
  w->line_start = w->used; /* complete: may be written */
}

void pt_jsonl_str(pt_jsonl_t* w, const char* k, const char* v) {
  key(w, k);
  put_string(w, v);
}
void pt_jsonl_u64(pt_jsonl_t* w, const char* k, uint64_t v) {
  key(w, k);
  put_u64(w, v);
}
void pt_jsonl_i64(pt_jsonl_t* w, const char* k, int64_t v) {
  key(w, k);
  char tmp[24];
  put(w, tmp, pt__fmt_i64(tmp, v));
}
void pt_jsonl_bool(pt_jsonl_t* w, const char* k, bool v) {
  key(w, k);
  put(w, v ? "true" : "false", v ? 4 : 5);
}
static void put_hex(pt_jsonl_t* w, uint64_t v) {
  char tmp[24];
  size_t n = pt__fmt_hex(tmp, v);
  putc_(w, '"');
  put(w, tmp, n);
  putc_(w, '"');
}
void pt_jsonl_hex(pt_jsonl_t* w, const char* k, uint64_t v) {
  key(w, k);
  put_hex(w, v);
}
void pt_jsonl_array_begin(pt_jsonl_t* w, const char* k) {
  key(w, k);
  putc_(w, '[');
  w->first_field = true;
}
void pt_jsonl_array_end(pt_jsonl_t* w) {
  putc_(w, ']');
  w->first_field = false;
}
void pt_jsonl_object_begin(pt_jsonl_t* w, const char* k) {
  key(w, k);
  putc_(w, '{');
  w->first_field = true;
}
void pt_jsonl_object_end(pt_jsonl_t* w) {
  putc_(w, '}');
  w->first_field = false;
}
void pt_jsonl_item_hex(pt_jsonl_t* w, uint64_t v) {
  key(w, NULL);
  put_hex(w, v);
}
void pt_jsonl_item_str(pt_jsonl_t* w, const char* v) {
  key(w, NULL);
  put_string(w, v);
}
void pt_jsonl_item_u64(pt_jsonl_t* w, uint64_t v) { pt_jsonl_u64(w, NULL, v); }
void pt_jsonl_item_i64(pt_jsonl_t* w, int64_t v) { pt_jsonl_i64(w, NULL, v); }
