/* tracefile.c - see tracefile.h. */
#define _GNU_SOURCE
#include "tracefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "leaks.h"

/* A regular file is written beside itself and renamed over, so a reader (or a crash) always finds a
 * complete trace. Never over a symlink, though: renaming over it replaces the link itself (as root,
 * PTMEM_OUT=/dev/stderr replaced the system's /dev/stderr with a regular file). */
typedef enum { VIA_TEMP, IN_PLACE, ON_STD_STREAM } target_how_t;

typedef struct target_s {
  target_how_t how;
  int std_fd;             /* ON_STD_STREAM: 1 or 2 */
  char file[PATH_MAX];    /* VIA_TEMP: the file renamed over */
  char tmp[PATH_MAX + 8]; /* VIA_TEMP: file + ".tmp" */
  char link[PATH_MAX];    /* resolve_link's scratch */
} target_t;
static target_t target; /* static: PATH_MAX buffers on a signal handler's alternate stack would not fit */

/* stdout or stderr (writable) when it is the file `st` describes; 0 if neither is. */
static int std_stream_of(const struct stat* st) {
  for (int fd = 2; fd >= 1; fd--) {
    struct stat s;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY || fstat(fd, &s) != 0) continue;
    if (s.st_dev == st->st_dev && s.st_ino == st->st_ino) return fd;
  }
  return 0;
}

/* Into t->file, the end of the chain of symlinks starting at `path`: a path whose last component is
 * no link (directories on the way may be links: a rename inside them replaces none), and its lstat.
 * readlink step by step, not realpath: glibc's (2.33 on) mallocs when a path outgrows its 1 KiB
 * scratch buffers, even given a buffer. False if the chain cannot be followed. */
static bool resolve_link(target_t* t, const char* path, struct stat* st) {
  size_t len = strlen(path);
  if (len >= sizeof t->file) return false;
  memcpy(t->file, path, len + 1);
  for (int hops = 0; hops < 40; hops++) { /* the kernel's own limit (ELOOP) */
    if (lstat(t->file, st) != 0) return false;
    if (!S_ISLNK(st->st_mode)) return true;
    ssize_t n = readlink(t->file, t->link, sizeof t->link);
    if (n <= 0 || (size_t)n >= sizeof t->link) return false;
    /* A relative target is relative to the link's directory: the kernel resolves "dir/target"
     * exactly as it resolves the link. */
    const char* slash = strrchr(t->file, '/');
    size_t dir = t->link[0] == '/' || !slash ? 0 : (size_t)(slash - t->file) + 1;
    if (dir + (size_t)n >= sizeof t->file) return false;
    memcpy(t->file + dir, t->link, (size_t)n);
    t->file[dir + (size_t)n] = 0;
  }
  return false;
}

static target_how_t via_temp(target_t* t) {
  size_t len = strlen(t->file);
  memcpy(t->tmp, t->file, len);
  memcpy(t->tmp + len, ".tmp", 5);
  return VIA_TEMP;
}

/* How `path` is written, and the files it takes. */
static target_how_t choose_target(target_t* t, const char* path) {
  struct stat st, end;
  if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) { /* new, or a regular file */
    memcpy(t->file, path, strlen(path) + 1);
    return via_temp(t);
  }
  /* PTMEM_OUT=/dev/null, a FIFO or a terminal is written in place: a file renamed over it would
   * replace the device with a regular file (as root, /dev/null itself, for every process after).
   * So is a dangling link (open creates its target through it). */
  if (!S_ISLNK(st.st_mode) || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return IN_PLACE;
  /* /dev/stderr with stderr redirected to a file: that file is the program's output, which a new
   * trace renamed over it (or truncating it) would throw away. */
  if ((t->std_fd = std_stream_of(&st))) return ON_STD_STREAM;
  /* The chain's end must be the file the link opens (a /proc/PID/fd link's text may not be). */
  if (resolve_link(t, path, &end) && end.st_dev == st.st_dev && end.st_ino == st.st_ino &&
      strlen(t->file) + 8 <= sizeof t->file)
    return via_temp(t);
  return IN_PLACE;
}

/* After the program's own output, in its order: a duplicate shares the stream's offset, so what the
 * program writes next comes after the trace (a descriptor of our own, even with O_APPEND, would
 * have the program's next write land over a snapshot). */
static int open_std_stream(const char* path, int std_fd) {
  int fd = fcntl(std_fd, F_DUPFD_CLOEXEC, 3);
  return fd >= 0 ? fd : open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
}

/* A FIFO nobody reads holds open() until a reader comes. At exit that is what PTMEM_OUT on a FIFO
 * asks for (the reader may start later). A process that a signal ends must end, though: its final
 * trace is written in the signal's handler, every signal blocked, and SIGTERM to a program whose
 * exit waited on such a FIFO left it waiting there for ever (only SIGKILL ended it). There the wait
 * is bounded, as the other waits of a process ending by a signal are. */
#define FIFO_WAIT_MS 2000
static bool fifo_wait_bounded;
void pt_track_tracefile_bound_waits(bool bounded) { fifo_wait_bounded = bounded; }

static bool open_fifo_bounded(pt_jsonl_t* w, const char* path) {
  for (int waited = 0;; waited += 10) {
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      int flags = fcntl(fd, F_GETFL);
      if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK); /* the writes may wait for the reader */
      return pt_jsonl_attach(w, fd, path);
    }
    if (errno != ENXIO) return pt_jsonl_attach(w, -1, path);
    if (waited >= FIFO_WAIT_MS) break;
    nanosleep(&(struct timespec){0, 10000000L}, NULL);
  }
  const char* parts[] = {"ptmem: nothing opened the trace FIFO ", path, " for reading within 2 s of the signal that "
                         "ends the process; it ends without its final trace\n"};
  pt_jsonl_report_parts(parts, sizeof parts / sizeof parts[0]);
  return pt_jsonl_attach(w, -1, path); /* failed, without a second warning */
}

static bool open_target(pt_jsonl_t* w, target_t* t, const char* path) {
  struct stat st;
  switch (t->how = choose_target(t, path)) {
  case VIA_TEMP: return pt_jsonl_open(w, t->tmp, path);
  case ON_STD_STREAM: return pt_jsonl_attach(w, open_std_stream(path, t->std_fd), path);
  default:
    if (fifo_wait_bounded && stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) return open_fifo_bounded(w, path);
    return pt_jsonl_open(w, path, path);
  }
}

/* The finished trace into place; false (reported) if it could not be. */
static bool close_target(pt_jsonl_t* w, const target_t* t, const char* path) {
  pt_jsonl_close(w);
  bool renames = t->how == VIA_TEMP;
  if (w->failed) {
    if (renames) unlink(t->tmp);
    return false;
  }
  if (!renames || rename(t->tmp, t->file) == 0) return true;
  int saved = errno;
  pt_jsonl_report("rename into place", path); /* the finished trace stays at tmp: nothing lost */
  errno = saved;
  return false;
}

bool pt_track_tracefile_open(pt_jsonl_t* w, const char* path) {
  return strlen(path) + 8 <= sizeof target.file && open_target(w, &target, path);
}

bool pt_track_tracefile_close(pt_jsonl_t* w, const char* path) { return close_target(w, &target, path); }

void pt_track_tracefile_exclude(void) { pt_track_leaks_exclude(&target, sizeof target); }
