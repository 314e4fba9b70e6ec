// cookie: C++ new[] of a class with a destructor puts an 8-byte array cookie (the element count)
// before the elements and returns the address past it. keep_three's global points 8 bytes into its
// block (an interior pointer: reachable); keep_empty's `new Counted[0]` is a block of the cookie
// alone, holding 0, and the program keeps only the address one past its end, which LeakSanitizer
// counts as pointing into it (its IsSpecialCaseOfOperatorNew0): reachable too, and also when the
// only such pointer is in a leaked block (lose_holder: the holder is definite, its empty array
// indirect). lose_two drops a 2-element array: 2 * 8 + 8 bytes. A plain 8-byte malloc'd block
// pointed at only one past its end, and not holding 0, stays a leak (lose_past_end).
// Expected: definite lose_two 1 24, definite lose_holder 1 16, indirect lose_holder 1 8,
// definite lose_past_end 1 8.
#include <cstdlib>
#include <cstring>

#include "corpus.h"

struct Counted {
  long v;
  ~Counted() { v = 0; }
};

struct Holder {
  Counted* empty;
  long pad;
};

Counted* g_three;
Counted* g_empty;
char* g_past_end;

__attribute__((noinline)) static void keep_three() { g_three = new Counted[3]; }
__attribute__((noinline)) static void keep_empty() { g_empty = new Counted[0]; }

__attribute__((noinline)) static void lose_two() {
  Counted* a = new Counted[2];
  a = nullptr;
  (void)a;
}

__attribute__((noinline)) static void lose_holder() {
  Holder* h = new Holder;
  h->empty = new Counted[0];
  h->pad = 0;
  h = nullptr;
  (void)h;
}

__attribute__((noinline)) static void lose_past_end() {
  char* p = static_cast<char*>(std::malloc(8));
  std::memset(p, 'x', 8);
  g_past_end = p + 8;
}

int main() {
  keep_three();
  keep_empty();
  lose_two();
  lose_holder();
  lose_past_end();
  clobber_stack();
  return 0;
}
