/* Unit tests of medium.c: every medium class, blocks are page aligned and hold their contents,
 * cross-thread frees, double-free detection, and empty chunks released after the purge delay. */
#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "check.h"

enum { LIVE = 64 };
static void* blocks[LIVE];

static void* free_all(void* arg) {
  (void)arg;
  for (int i = 0; i < LIVE; i++) CHECK(pt__free(blocks[i]));
  return NULL;
}

static void* mixed(void* arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void* mine[16] = {0};
  for (int i = 0; i < 20000; i++) {
    seed = seed * 1103515245u + 12345u;
    int k = (int)(seed >> 16) % 16;
    if (mine[k]) CHECK(pt__free(mine[k]));
    size_t n = 32 * 1024 + (seed >> 8) % (480 * 1024);
    mine[k] = pt__alloc(n);
    CHECK(mine[k] != NULL);
    ((uint8_t*)mine[k])[n - 1] = 1;
  }
  for (int k = 0; k < 16; k++) pt__free(mine[k]);
  return NULL;
}

int main(void) {
  pt__settings.purge_delay_ms = 0;
  for (unsigned cls = PT_SLAB_CLASSES; cls < PT_SLAB_CLASSES + PT_MEDIUM_CLASSES; cls++) {
    size_t size = pt__class_size(cls);
    for (int i = 0; i < LIVE; i++) {
      blocks[i] = pt__alloc(size - (size_t)i);
      CHECK(blocks[i] != NULL);
      CHECK_ALIGNED(blocks[i], 8192);
      CHECK_UEQ(pt__usable_size(blocks[i]), size);
      memset(blocks[i], i, size - (size_t)i);
    }
    for (int i = 0; i < LIVE; i++) CHECK_EQ(((uint8_t*)blocks[i])[size - (size_t)i - 1], i);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, free_all, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
  }
  /* Empty chunks go back to the arena once maintenance runs. */
  pt__maintenance(true);
  pt_arena_stats_t st;
  pt__arena_stats(&st);
  CHECK_LT(st.claimed, 2 * PT_MiB);

  pthread_t t[3];
  for (int k = 0; k < 3; k++) CHECK_EQ(pthread_create(&t[k], NULL, mixed, (void*)(uintptr_t)(k + 1)), 0);
  for (int k = 0; k < 3; k++) CHECK_EQ(pthread_join(t[k], NULL), 0);

  /* A double free is reported and ignored, not corrupting the bitmap. */
  void* p = pt__alloc(100 * 1024);
  void* q = pt__alloc(100 * 1024);
  CHECK(pt__free(p));
  CHECK(pt__free(p));
  void* r = pt__alloc(100 * 1024);
  void* s = pt__alloc(100 * 1024);
  CHECK(r != s && r != q && s != q);
  pt__free(q);
  pt__free(r);
  pt__free(s);
  puts("medium: ok");
  return 0;
}
