// Unit test of track/unwind.c and cfi.c through C++ frames: functions with a personality routine
// and an LSDA (destructors to run, try/catch) have a "zPLR" CIE, and a frame that has just caught
// an exception thrown through others. The walk must read those frames itself (not give up) and
// give exactly libunwind's frames.
#include <dlfcn.h>
#include <string.h>

#include <stdexcept>
#include <string>

#include "check.h"
extern "C" {
#include "track.h"
}

namespace {
typedef int (*backtrace_fn)(void**, int);
backtrace_fn unw_backtrace_fn;
unsigned walked;

struct Guard {  // a destructor: the frames holding one get a personality and an LSDA
  std::string name;
  explicit Guard(const char* n) : name(n) {}
  ~Guard() { __asm__ volatile("" : : "r"(name.data()) : "memory"); }
};

__attribute__((noinline)) void compare_here() {
  enum { MAX = 64 };
  uintptr_t own[MAX];
  void* ref[MAX];
  unsigned n = pt_track_unwind(own, MAX, nullptr);
  int m = unw_backtrace_fn(ref, MAX);
  __asm__ volatile("" ::: "memory");
  CHECK_GE(n, 3);  // no fallback: the walk read every frame
  CHECK_EQ(n, (unsigned)m);
  for (unsigned i = 1; i < n; i++) CHECK_EQ(own[i], (uintptr_t)ref[i]);
  walked++;
}

__attribute__((noinline)) void thrower(int depth) {
  Guard g("thrower");
  if (depth == 0) throw std::runtime_error("through the frames");
  thrower(depth - 1);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void with_guards(int depth) {
  Guard g("with_guards");
  if (depth == 0) {
    compare_here();
    try {
      thrower(3);
    } catch (const std::exception& e) {
      CHECK(strcmp(e.what(), "through the frames") == 0);
      compare_here();  // in the handler, after the unwinder rewrote the frames below
    }
    compare_here();
    return;
  }
  with_guards(depth - 1);
  __asm__ volatile("" ::: "memory");
}
}  // namespace

int main() {
  void* lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  void* sym = lib ? dlsym(lib, "unw_backtrace") : nullptr;
  if (!sym) {
    puts("track_unwind_cxx: libunwind.so.8 not found, skipped");
    return 77;
  }
  memcpy(&unw_backtrace_fn, &sym, sizeof sym);
  for (int i = 0; i < 2; i++) with_guards(4);
  CHECK_EQ(walked, 6);
  puts("track_unwind_cxx: walks through C++ frames (personality, LSDA, a caught exception) agree with libunwind");
  return 0;
}
