/* options.h - ptmem's environment options: one table (X-macro) generates the storage, the parser,
 * the range checks and the PTMEM_LOG listing. Read once, on the first allocation (pt__embedder_init), before the hooks serve
 * any thread but the first; parsing walks `environ` (or /proc/self/environ when the C library has
 * not set it up yet) and never allocates. */
#ifndef PTMEM_PRELOAD_OPTIONS_H
#define PTMEM_PRELOAD_OPTIONS_H
#include <stdint.h>

/* X(NAME, field, default, min, max, what) - NAME is read from PTMEM_<NAME>. */
#define PTMEM_OPTIONS(X)                                                                               \
  X(PURGE_DELAY_MS, purge_delay_ms, 250, 0, 600000, "milliseconds before freed memory returns to the OS") \
  X(HUGE_CACHE_MB, huge_cache_mb, 64, 0, 65536, "MiB of freed blocks above 4 MiB kept for reuse")         \
  X(LOG, log, 0, 0, 1, "1 prints the options in effect on stderr")             \
  X(STATS, stats, 0, 0, 1, "1 prints the allocator's statistics on stderr when the program exits")       \
  X(TRACK, track, 1, 0, 1, "1 records every allocation's stack and writes a trace at exit")              \
  X(DEPTH, depth, 32, 1, 128, "stack frames recorded per allocation")                                       \
  X(FRAME_POINTERS, frame_pointers, 0, 0, 1, "1 walks frame pointers instead of the unwind tables")      \
  X(SNAPSHOT_SIGNAL, snapshot_signal, 0, 0, 64, "signal number that writes a trace snapshot (0: none)")    \
  X(SAMPLE, sample, 0, 0, 1073741824, "sample one allocation per this many bytes on average (0: record all)") \
  X(LEAK_ALL_MAPPINGS, leak_all_mappings, 0, 0, 1, "1 counts every writable mapping as a leak root, not only LeakSanitizer's")

/* String options: X(NAME, field, default, what); values longer than the field are refused. */
#define PTMEM_STRING_OPTIONS(X)                                                                        \
  X(OUT, out, "ptmem.%e.%p.json", "trace path; %p is the pid, %e the program name")

typedef struct ptmem_options_s {
#define PTMEM_OPTION_FIELD(NAME, field, def, lo, hi, what) int64_t field;
  PTMEM_OPTIONS(PTMEM_OPTION_FIELD)
#undef PTMEM_OPTION_FIELD
#define PTMEM_STRING_FIELD(NAME, field, def, what) char field[1024];
  PTMEM_STRING_OPTIONS(PTMEM_STRING_FIELD)
#undef PTMEM_STRING_FIELD
} ptmem_options_t;

extern ptmem_options_t ptmem_options;
/* Parse the environment into ptmem_options; an invalid value is reported once on stderr with the
 * accepted range and the default is kept. */
void ptmem_options_load(void);

#endif
