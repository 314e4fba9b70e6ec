/* maintenance.c - the periodic work no fast path should pay for: purge slices whose delay expired,
 * unmap old cached huge blocks, release medium chunks that stayed empty, give back abandoned pages
 * that drained. Threads call pt__maintenance() from slow paths (every 256 slab refills, every large
 * or huge operation); it reads a coarse clock and does nothing until half the purge delay passed
 * since the last run. There is no background thread: a process that stops allocating keeps its
 * free memory until it allocates again or calls malloc_trim(). */
#include "internal.h"

pt_settings_t pt__settings = {
    .purge_delay_ms = 250, /* between mimalloc v2 (10 ms) and v3 (1 s): docs/design.md */
    .huge_cache_mb = 64,
};

static _Atomic uint64_t last_run_ms;
static _Atomic int running;

void pt__maintenance(bool force) {
  uint64_t now = pt__os_now_ms();
  uint64_t last = pt_load_relaxed(&last_run_ms);
  uint64_t period = pt__settings.purge_delay_ms / 2 + 1;
  /* The first call starts the clock: nothing freed can have waited out the delay yet, and a run
   * would read every class's tables, first-touch faults in every short process. */
  if (!last && !force && pt__settings.purge_delay_ms) {
    pt_cas_strong_acq_rel(&last_run_ms, &last, now);
    return;
  }
  if (!force && now - last < period) return;
  int expected = 0;
  if (!pt_cas_strong_acq_rel(&running, &expected, 1)) return; /* one thread at a time is enough */
  pt_store_relaxed(&last_run_ms, now);
  pt__abandoned_sweep();
  pt__medium_release_empty(force);
  pt__huge_purge(force);
  pt__arena_purge(force);
  pt_store_release(&running, 0);
}

/* A thread running maintenance when another forked does not exist in the child. */
void pt__maintenance_fork_child(void) { pt_store_relaxed(&running, 0); }
