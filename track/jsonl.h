/* jsonl.h - writing the trace: JSON Lines formatted into a fixed buffer and written with write(2),
 * with no malloc and no stdio, so it is safe inside the allocator and at exit. A line is only ever
 * written whole (the buffer flushes between lines, never inside one), so a trace cut short by a
 * crash ends with complete lines. The first error (disk full, EBADF, a file size limit) is reported
 * once on stderr and turns the writer off; the program goes on. */
#ifndef PTMEM_TRACK_JSONL_H
#define PTMEM_TRACK_JSONL_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_JSONL_LINE_MAX 8192 /* strings are cut to half of it with "..."; lines longer than the
                                  buffer are dropped whole and counted */

typedef struct pt_jsonl_s {
  int fd;
  const char* shown_as; /* the path warnings name */
  bool failed;
  bool first_field;
  bool overflow;    /* the line being built no longer fits: it will be dropped */
  bool efbig;       /* a write went past RLIMIT_FSIZE, which raised SIGXFSZ in this thread */
  bool xfsz_was_pending; /* a SIGXFSZ of the program's own: not ours to take */
  sigset_t saved_mask;   /* the thread's signal mask before open, restored by close */
  uint64_t dropped; /* lines dropped for being longer than the buffer */
  size_t used;
  size_t line_start;
  char buf[256 * 1024]; /* holds the longest batch line (512 rows of 8 integers) with room to spare */
} pt_jsonl_t;

/* Opens `path` for writing (truncating); false (and a warning on stderr) if it cannot. Warnings
 * name `shown_as` (the file the user asked for, when `path` is a temporary one renamed into place
 * later), which must outlive the writer's use. Until close, SIGXFSZ is blocked in the calling
 * thread: a trace that outgrows RLIMIT_FSIZE fails with EFBIG instead of killing the program, so
 * open and close must be called by the same thread. */
bool pt_jsonl_open(pt_jsonl_t* w, const char* path, const char* shown_as);
/* The same on a descriptor opened by the caller (-1: its open failed, errno says why); the writer
 * closes it. */
bool pt_jsonl_attach(pt_jsonl_t* w, int fd, const char* shown_as);
/* Flushes and closes; a write error that only close() reports (NFS, quotas) marks it failed. */
void pt_jsonl_close(pt_jsonl_t* w);
/* The one warning per process, naming `path`, with errno's text: for failures after the writer's
 * own (renaming the finished trace into place). */
void pt_jsonl_report(const char* what, const char* path);
/* The same one warning, of these parts joined (for a failure errno does not say). */
void pt_jsonl_report_parts(const char* const* parts, size_t nparts);
void pt_jsonl_fork_child(void); /* the child warns once for its own trace */
void pt_jsonl_flush(pt_jsonl_t* w);

void pt_jsonl_begin(pt_jsonl_t* w, const char* type); /* {"type":"<type>" */
void pt_jsonl_end(pt_jsonl_t* w);                     /* }\n */
/* Always valid UTF-8, as strict readers require: each byte of no valid sequence (a path or argument
 * in another encoding) becomes U+FFFD, and a cut falls between characters. */
void pt_jsonl_str(pt_jsonl_t* w, const char* key, const char* value);
void pt_jsonl_u64(pt_jsonl_t* w, const char* key, uint64_t value);
void pt_jsonl_i64(pt_jsonl_t* w, const char* key, int64_t value);
void pt_jsonl_bool(pt_jsonl_t* w, const char* key, bool value);
void pt_jsonl_hex(pt_jsonl_t* w, const char* key, uint64_t value); /* "0x..." string */
/* Arrays and nested objects: key (NULL inside an array) then items, then the closing call. */
void pt_jsonl_array_begin(pt_jsonl_t* w, const char* key);
void pt_jsonl_array_end(pt_jsonl_t* w);
void pt_jsonl_object_begin(pt_jsonl_t* w, const char* key);
void pt_jsonl_object_end(pt_jsonl_t* w);
void pt_jsonl_item_hex(pt_jsonl_t* w, uint64_t value);
void pt_jsonl_item_str(pt_jsonl_t* w, const char* value);
void pt_jsonl_item_u64(pt_jsonl_t* w, uint64_t value);
void pt_jsonl_item_i64(pt_jsonl_t* w, int64_t value);

#endif
