/* Unit tests of track/stack.c and stacktab.c: the captured stack starts at the caller, both
 * unwinders agree on it, identical stacks intern to one id and different ones to different ids,
 * across threads, and the frames of an id read back unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "track.h"

static const char* symbol_of(uintptr_t ip) {
  Dl_info info;
  return dladdr((void*)(ip - 1), &info) && info.dli_sname ? info.dli_sname : "?";
}

__attribute__((noinline, visibility("default"))) unsigned leaf_capture(uintptr_t* frames, unsigned max) {
  unsigned n = pt_track_stack_capture(frames, max);
  __asm__ volatile("" ::: "memory"); /* keep this frame: no tail call */
  return n;
}
__attribute__((noinline, visibility("default"))) unsigned middle_capture(uintptr_t* frames, unsigned max) {
  unsigned n = leaf_capture(frames, max);
  __asm__ volatile("" ::: "memory");
  return n;
}

__attribute__((noinline, visibility("default"))) uint32_t site_a(void) {
  uintptr_t f[32];
  unsigned n = leaf_capture(f, 32);
  __asm__ volatile("" ::: "memory");
  return pt_track_stack_intern(f, n);
}
__attribute__((noinline, visibility("default"))) uint32_t site_b(void) {
  uintptr_t f[32];
  unsigned n = leaf_capture(f, 32);
  __asm__ volatile("" ::: "memory");
  return pt_track_stack_intern(f, n);
}

__attribute__((noinline, visibility("default"))) void check_capture(bool fp);
void check_capture(bool fp) {
  pt_track_config_t c = {.depth = 16, .frame_pointers = fp};
  pt_track_stack_configure(&c);
  uintptr_t f[16];
  unsigned n = middle_capture(f, 16);
  CHECK_GE(n, 3);
  CHECK(strcmp(symbol_of(f[0]), "leaf_capture") == 0);
  CHECK(strcmp(symbol_of(f[1]), "middle_capture") == 0);
  CHECK(strcmp(symbol_of(f[2]), "check_capture") == 0);
  /* Depth is honoured, and the embedder's own range is skipped. */
  c.depth = 2;
  pt_track_stack_configure(&c);
  CHECK_EQ(middle_capture(f, 16), 2);
  uintptr_t own = f[0];
  c.depth = 16;
  c.skip_lo = own - 1;
  c.skip_hi = own + 1;
  pt_track_stack_configure(&c);
  n = middle_capture(f, 16);
  CHECK(strcmp(symbol_of(f[0]), "middle_capture") == 0);
  c.skip_lo = c.skip_hi = 0;
  pt_track_stack_configure(&c);
}

/* Threads intern the same new stacks at the same time: each stack must get one id everywhere.
 * (Synthetic frames: the point is the lock-free table, and libunwind's per-thread cache does not
 * survive ThreadSanitizer's thread teardown.) */
enum { SHARED_STACKS = 5000 };
static _Atomic uint32_t shared_ids[SHARED_STACKS];
static void* intern_in_thread(void* arg) {
  (void)arg;
  pt_track_stack_reset_for_tests();
  for (uint32_t i = 0; i < SHARED_STACKS; i++) {
    uintptr_t f[4] = {0x7000 + i, 0x8000, 0x9000 + i * 3, 0xA000};
    uint32_t id = pt_track_stack_intern(f, 4);
    uint32_t expected = 0;
    if (!atomic_compare_exchange_strong(&shared_ids[i], &expected, id)) CHECK_EQ(id, expected);
  }
  return NULL;
}

int main(void) {
  CHECK(pt_track_stack_load_libunwind());
  CHECK(pt_track_stack_unwinder_loaded());
  check_capture(false);
  check_capture(true);
  puts("track_stack: capture (libunwind and frame pointers)");
  /* Back to libunwind: a frame-pointer walk past code without frame pointers (libc's or a
   * sanitizer's thread start) reads whatever rbp holds there, so stacks of threads would vary. */
  pt_track_config_t defaults = {.depth = 32};
  pt_track_stack_configure(&defaults);

  uint32_t ids[2];
  for (volatile int i = 0; i < 2; i++) ids[i] = site_a(); /* one call site (not unrolled): one stack */
  uint32_t a = ids[0], b = site_b();
  CHECK_GE(a, 2);
  CHECK_EQ(ids[1], a);
  CHECK_NE(a, b);
  const uintptr_t* frames;
  unsigned n = pt_track_stack_frames(a, &frames);
  CHECK_GE(n, 2);
  CHECK(strcmp(symbol_of(frames[0]), "leaf_capture") == 0);
  CHECK(strcmp(symbol_of(frames[1]), "site_a") == 0);
  CHECK_EQ(pt_track_stack_intern(frames, 0), PT_STACK_UNKNOWN);

  /* Many distinct synthetic stacks: ids are unique, dense, and read back. */
  uint32_t first = 0;
  for (uintptr_t i = 0; i < 100000; i++) {
    uintptr_t f[3] = {0x1000 + i, 0x2000 + i * 7, 0x3000};
    uint32_t id = pt_track_stack_intern(f, 3);
    if (i == 0) first = id;
    CHECK_EQ(id, first + i);
  }
  for (uintptr_t i = 0; i < 100000; i += 997) {
    uintptr_t f[3] = {0x1000 + i, 0x2000 + i * 7, 0x3000};
    pt_track_stack_reset_for_tests(); /* bypass the per-thread cache */
    CHECK_EQ(pt_track_stack_intern(f, 3), first + i);
    CHECK_EQ(pt_track_stack_frames(first + (uint32_t)i, &frames), 3);
    CHECK_UEQ(frames[0], 0x1000 + i);
  }

  pthread_t t[4];
  for (int k = 0; k < 4; k++) CHECK_EQ(pthread_create(&t[k], NULL, intern_in_thread, (void*)(uintptr_t)k), 0);
  for (int k = 0; k < 4; k++) CHECK_EQ(pthread_join(t[k], NULL), 0);
  for (uint32_t i = 1; i < SHARED_STACKS; i++) CHECK_NE(atomic_load(&shared_ids[i]), atomic_load(&shared_ids[i - 1]));
  puts("track_stack: interning");
  return 0;
}
