/* last_realloc: blocks lost by the last calls before main returns, realloc's results, with nothing
 * clearing the stack after them (the other programs call corpus.h's clobber_stack). The frames of
 * exit() and the destructors are laid over realloc's dead frames, where it left copies of its
 * result: both blocks came out reachable (LeakSanitizer: definite). Expected: both definite. */
#include <stdlib.h>
#include <string.h>

static void lose_reallocated(void) {
  char* p = malloc(100000);
  memset(p, 1, 100000);
  p = realloc(p, 10); /* moved to a smaller class */
  p = 0;
  char* q = malloc(5000);
  q = realloc(q, 3000); /* in place */
  q = 0;
  (void)p;
  (void)q;
}

int main(void) {
  lose_reallocated();
  return 0;
}
