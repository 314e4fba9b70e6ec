// variety_new.cpp - the C++ half of the variety corpus program: leaks from operator new and
// operator new[] (a type without a destructor, so new[] asks for exactly 25 * 4 bytes, no cookie).
#include <cstring>

#include "corpus.h"

struct Widget {
  long a[7]; // 56 bytes
};

extern "C" __attribute__((noinline)) void leak_new(void);
extern "C" __attribute__((noinline)) void leak_new_array(void);

// The allocating functions are C++ ones, so the checker sees demangled names (addr2line -C gives
// "make_widget()" and "make_ints(int)"); the extern "C" entry points only let variety.c call them.
__attribute__((noinline)) static void make_widget() {
  Widget* w = new Widget;
  std::memset(w->a, 0, sizeof w->a);
  w = nullptr;
}

__attribute__((noinline)) static void make_ints(int n) {
  int* v = new int[n];
  touch(v, n * sizeof *v);
  v = nullptr;
}

void leak_new(void) { make_widget(); }
void leak_new_array(void) { make_ints(25); }
