/* Unit tests of stats.c: in-use and mapped bytes follow allocations in every backend. */
#include "alloc.h"
#include "check.h"

int main(void) {
  pt_stats_t s0, s1, s2;
  pt__stats_collect(&s0);
  enum { N = 10000 };
  static void* p[N];
  for (int i = 0; i < N; i++) p[i] = pt__alloc(1000); /* class 1024 */
  void* medium = pt__alloc(200 * 1024);
  void* large = pt__alloc(3 * PT_MiB);
  void* huge = pt__alloc(40 * PT_MiB);
  pt__stats_collect(&s1);
  size_t expected = (size_t)N * 1024 + 224 * 1024 + 3 * PT_MiB + 40 * PT_MiB;
  CHECK_UGE(s1.in_use - s0.in_use, expected);
  CHECK_LE(s1.in_use - s0.in_use, expected + PT_MiB);
  CHECK_UGE(s1.mapped, s1.in_use);
  CHECK_UEQ(s1.huge, 40 * PT_MiB);
  CHECK_UGE(s1.heaps, 1);
  for (int i = 0; i < N; i++) pt__free(p[i]);
  pt__free(medium);
  pt__free(large);
  pt__free(huge);
  pt__stats_collect(&s2);
  CHECK_LE(s2.in_use, s0.in_use + 64 * 1024);
  puts("stats: ok");
  return 0;
}
