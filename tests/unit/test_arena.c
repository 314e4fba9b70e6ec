/* Unit tests of arena.c: span claims, alignment, in-place grow/shrink, reuse of freed slices and the
 * purge that gives memory back to the OS (RSS falls). */
#include <string.h>
#include <time.h>

#include "check.h"
#include "internal.h"

static size_t rss_now(void) { return pt__os_rss(); }

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int main(void) {
  bool zero;
  pt_desc_t* a = pt__span_claim(1, 1, &zero);
  CHECK(a != NULL);
  CHECK(zero);
  CHECK_ALIGNED(a->start, PT_SLICE_SIZE);
  CHECK_PTR_EQ(pt__pagemap_lookup(a->start), a);
  CHECK_PTR_EQ(pt__pagemap_lookup(a->start + PT_SLICE_SIZE - 1), a);
  CHECK(pt__arena_contains(a->start));

  /* Aligned claims for every power of two up to 4 MiB. */
  for (uint32_t al = 1; al <= 64; al *= 2) {
    pt_desc_t* d = pt__span_claim(al < 3 ? 3 : al, al, &zero);
    CHECK(d != NULL);
    CHECK_ALIGNED(d->start, (size_t)al * PT_SLICE_SIZE);
    pt_store_release(&d->xowner, (uintptr_t)PT_KIND_LARGE);
    pt__span_free(d);
  }

  /* A whole-word span, then freed: the slices come back and are dirty (not zero). */
  pt_desc_t* big = pt__span_claim(64, 1, &zero);
  CHECK(big != NULL);
  uint8_t* start = big->start;
  memset(start, 0x5A, 64 * PT_SLICE_SIZE);
  pt__span_free(big);
  CHECK_PTR_EQ(pt__pagemap_lookup(start), NULL);
  pt_desc_t* again = pt__span_claim(64, 1, &zero);
  CHECK_PTR_EQ(again->start, start); /* first fit reuses the freed, still resident slices */
  CHECK(!zero);

  /* Shrink and grow in place. */
  pt__span_shrink(again, 10);
  CHECK_EQ(again->nslices, 10);
  CHECK_PTR_EQ(pt__pagemap_lookup(start + 10 * PT_SLICE_SIZE), NULL);
  CHECK(pt__span_grow(again, 40));
  CHECK_PTR_EQ(pt__pagemap_lookup(start + 39 * PT_SLICE_SIZE), again);
  CHECK(!pt__span_grow(again, 65));

  /* Purge: 256 MiB touched, freed, purged -> RSS falls by most of it. */
  enum { N = 64 };
  pt_desc_t* spans[N];
  for (int i = 0; i < N; i++) {
    spans[i] = pt__span_claim(64, 1, &zero);
    CHECK(spans[i] != NULL);
    memset(spans[i]->start, 1, 64 * PT_SLICE_SIZE);
  }
  size_t before = rss_now();
  for (int i = 0; i < N; i++) pt__span_free(spans[i]);
  pt__arena_purge(true);
  size_t after = rss_now();
  if (before == 0) SKIP("/proc/self/statm unreadable");
  CHECK_LT(after + 200 * PT_MiB, before);
  pt_arena_stats_t st;
  pt__arena_stats(&st);
  CHECK_LT(st.dirty_free, 8 * PT_MiB);

  /* The delay policy: a freed span is purged only after it stayed free across a whole delay, never
   * by a deadline that an earlier free armed (a program rebuilding a structure it just freed would
   * fault it all back in). */
  pt__settings.purge_delay_ms = 40;
  pt_desc_t* kept = pt__span_claim(64, 1, &zero);
  CHECK(kept != NULL);
  memset(kept->start, 1, 64 * PT_SLICE_SIZE);
  pt_desc_t* early = pt__span_claim(1, 1, &zero);
  CHECK(early != NULL);
  memset(early->start, 1, PT_SLICE_SIZE);
  pt__span_free(early); /* arms the deadline */
  sleep_ms(50);
  pt__arena_purge(false);
  pt__arena_stats(&st);
  CHECK_GE(st.dirty_free, PT_SLICE_SIZE); /* `early` was freed since the last purge: kept */
  sleep_ms(50);
  pt__span_free(kept); /* just before the next deadline */
  pt__arena_purge(false);
  pt__arena_stats(&st);
  CHECK_GE(st.dirty_free, 64 * PT_SLICE_SIZE); /* `kept` is still resident: freed a moment ago */
  CHECK_LT(st.dirty_free, 65 * PT_SLICE_SIZE); /* `early` stayed free across a whole delay: purged */
  sleep_ms(50);
  pt__arena_purge(false);
  pt__arena_stats(&st);
  CHECK_LT(st.dirty_free, PT_SLICE_SIZE); /* one delay later `kept` goes too */

  pt__span_free(again);
  pt__span_free(a);
  puts("arena: ok");
  return 0;
}
