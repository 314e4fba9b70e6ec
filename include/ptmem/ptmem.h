/* ptmem/ptmem.h - runtime control of ptmem from inside the program (libptmem.so exports these; a
 * program can call them through weak declarations or dlsym and keep working without ptmem).
 *
 * Long-running servers: write a snapshot of the trace (sites, live bytes, peak, timeline; no leak
 * classification while threads run) whenever you like, or send the signal named by
 * PTMEM_SNAPSHOT_SIGNAL (e.g. PTMEM_SNAPSHOT_SIGNAL=10 for SIGUSR1): the snapshot is then written by
 * the next allocation of any thread. */
#ifndef PTMEM_PTMEM_H
#define PTMEM_PTMEM_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PTMEM_API __attribute__((visibility("default")))
#else
#define PTMEM_API
#endif

/* 1 if allocations are being tracked (PTMEM_TRACK=1), else 0. */
PTMEM_API int ptmem_tracking_enabled(void);
/* Writes a snapshot of the trace to `path` (NULL: the PTMEM_OUT path, which the final trace replaces
 * at exit). Returns 0; ENOTSUP if tracking is off; EBUSY if another trace is being written, the
 * final trace has been written already (the process is exiting), or the call comes from a signal
 * handler that interrupted the tracker; ENAMETOOLONG if path has 1200 bytes or more; EINVAL if
 * PTMEM_OUT expands to an empty or too long path; EIO if the file could not be written (also
 * reported once on stderr). */
PTMEM_API int ptmem_snapshot(const char* path);

#ifdef __cplusplus
}
#endif
#endif
