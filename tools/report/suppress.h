/* suppress.h - LeakSanitizer's suppression files: one `leak:PATTERN` per line, `#` comments and
 * blank lines ignored. A pattern matches a stack when it matches the function, the source file or
 * the module path of any frame (inlined frames included). `*` matches any run of characters, `^`
 * and `$` anchor at the start and end; without anchors the pattern may match anywhere, as in
 * LSan's TemplateMatch. An empty pattern, another suppression type or an unreadable file is an
 * error, never a pattern that matches everything (heaptrack 1.4's bug). */
#ifndef PTMEM_REPORT_SUPPRESS_H
#define PTMEM_REPORT_SUPPRESS_H
#include <stdbool.h>
#include <stdint.h>

#include "analysis.h"

typedef struct rp_suppression_s {
  char* pattern;
  char* where;            /* "FILE:LINE", for messages */
  rp_count_t matched;     /* leaks it suppressed (the first matching rule takes a leak) */
} rp_suppression_t;

typedef struct rp_suppressions_s {
  RP_VEC(rp_suppression_t) rules;
} rp_suppressions_t;

/* Appends the rules of `path`; false with "FILE:LINE:COLUMN: message" in err (size errsize). */
bool rp_suppressions_load(rp_suppressions_t* s, const char* path, char* err, size_t errsize);
/* Index of the first rule matching the stack, or -1. */
int rp_suppressions_match(const rp_suppressions_t* s, const rp_stack_t* stack);
bool rp_pattern_match(const char* pattern, const char* text);
void rp_suppressions_free(rp_suppressions_t* s);

#endif
