/* check.h - the project's tiny test assertions: on failure print both sides, the expression and the
 * place, then exit(1). Exit 77 means "skipped" to CTest (SKIP_RETURN_CODE). */
#ifndef PTMEM_TESTS_CHECK_H
#define PTMEM_TESTS_CHECK_H
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                  \
  do {                                                                                               \
    if (!(cond)) {                                                                                   \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                       \
      exit(1);                                                                                       \
    }                                                                                                \
  } while (0)

#define CHECK_OP_(a, op, b, fmt, type)                                                               \
  do {                                                                                               \
    type check_a_ = (type)(a);                                                                       \
    type check_b_ = (type)(b);                                                                       \
    if (!(check_a_ op check_b_)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK(%s %s %s) failed: " fmt " vs " fmt "\n", __FILE__, __LINE__, #a, \
              #op, #b, check_a_, check_b_);                                                          \
      exit(1);                                                                                       \
    }                                                                                                \
  } while (0)

#define CHECK_EQ(a, b) CHECK_OP_(a, ==, b, "%" PRIdMAX, intmax_t)
#define CHECK_NE(a, b) CHECK_OP_(a, !=, b, "%" PRIdMAX, intmax_t)
#define CHECK_LE(a, b) CHECK_OP_(a, <=, b, "%" PRIdMAX, intmax_t)
#define CHECK_LT(a, b) CHECK_OP_(a, <, b, "%" PRIdMAX, intmax_t)
#define CHECK_GE(a, b) CHECK_OP_(a, >=, b, "%" PRIdMAX, intmax_t)
#define CHECK_UEQ(a, b) CHECK_OP_(a, ==, b, "%" PRIuMAX, uintmax_t)
#define CHECK_UGE(a, b) CHECK_OP_(a, >=, b, "%" PRIuMAX, uintmax_t)
#define CHECK_PTR_EQ(a, b) CHECK_OP_(a, ==, b, "%p", const void*)
#define CHECK_PTR_NE(a, b) CHECK_OP_(a, !=, b, "%p", const void*)
#define CHECK_ALIGNED(p, a)                                                                          \
  CHECK_OP_(((uintptr_t)(p)) % (uintptr_t)(a), ==, 0, "%" PRIuMAX, uintmax_t)

#define SKIP(why)                                                                                    \
  do {                                                                                               \
    fprintf(stderr, "skipped: %s\n", why);                                                           \
    exit(77);                                                                                        \
  } while (0)

#endif
