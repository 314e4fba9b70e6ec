// cxx_new.cpp - the C++ allocation contract, run under libptmem.so (api_cxx_new) and against
// libstdc++'s own operators on glibc (api_cxx_new_glibc): every operator new/delete form works and
// honours its alignment; an impossible size throws std::bad_alloc (nothrow forms: nullptr); the
// new_handler is called until it gives up, as [new.delete.single] requires.
//
// Usage: api_cxx_new [--expect=ptmem|--expect=glibc] [section...]. Each section runs in a forked
// child: a nothrow operator that lets an exception escape ends in std::terminate, which must be
// reported as that section's failure, not take the whole program down.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <malloc.h>
#include <new>

#include "check.h"

namespace {

constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;
bool under_ptmem;

// Sizes and pointers pass through these so the compiler can neither fold nor elide an allocation.
inline std::size_t hide(std::size_t n) {
  __asm__ volatile("" : "+r"(n));
  return n;
}
inline void escape(void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

// Writes the whole block and reads it back: the block is really n bytes of the caller's memory.
void use_block(void* p, std::size_t n, std::size_t align, unsigned char byte) {
  CHECK(p != nullptr);
  CHECK_ALIGNED(p, align < 16 ? 16 : align);
  std::memset(p, byte, n);
  escape(p);
  const unsigned char* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; i++)
    if (b[i] != byte) CHECK_UEQ(i, n);
}

const std::size_t sizes[] = {0, 1, 24, 1000, 40 * KiB, 600 * KiB, 5 * MiB};

// ---- exports: every operator resolves into libptmem.so under the preload -------------------------

void section_exports() {
  static const char* const names[] = {
      "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t",
      "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
      "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
      "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
      "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t"};
  // With the preload, ptmem must win over libstdc++ for every form; without it libstdc++ defines
  // them all (its operators are the reference this program also runs against).
  const char* want = under_ptmem ? "libptmem.so" : "libstdc++";
  for (const char* name : names) {
    void* sym = dlsym(RTLD_DEFAULT, name);
    if (!sym) std::fprintf(stderr, "missing: %s\n", name);
    CHECK(sym != nullptr);
    Dl_info info;
    CHECK(dladdr(sym, &info) != 0 && info.dli_fname != nullptr);
    if (!std::strstr(info.dli_fname, want)) std::fprintf(stderr, "%s is in %s\n", name, info.dli_fname);
    CHECK(std::strstr(info.dli_fname, want) != nullptr);
  }
  // The program's own calls reach that definition.
  void* (*plain)(std::size_t) = &::operator new;
  CHECK_PTR_EQ(reinterpret_cast<void*>(plain), dlsym(RTLD_DEFAULT, "_Znwm"));
}

// ---- every form, with its matching delete -----------------------------------------------------------

void section_forms() {
  for (std::size_t n : sizes) {
    n = hide(n);
    void* p = ::operator new(n);
    use_block(p, n, 16, 1);
    ::operator delete(p);
    p = ::operator new[](n);
    use_block(p, n, 16, 2);
    ::operator delete[](p);
    p = ::operator new(n);
    use_block(p, n, 16, 3);
    ::operator delete(p, n);  // sized
    p = ::operator new[](n);
    use_block(p, n, 16, 4);
    ::operator delete[](p, n);
    p = ::operator new(n, std::nothrow);
    use_block(p, n, 16, 5);
    ::operator delete(p, std::nothrow);
    p = ::operator new[](n, std::nothrow);
    use_block(p, n, 16, 6);
    ::operator delete[](p, std::nothrow);
    // The block is malloc_usable_size-known: new and malloc are one allocator.
    p = ::operator new(n);
    CHECK_UGE(malloc_usable_size(p), n);
    ::operator delete(p);
  }
  for (std::size_t a = 1; a <= 4 * MiB; a <<= 1) {
    const std::align_val_t al{a};
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, a - 1, a, a + 1, 3 * a, std::size_t{1000}}) {
      n = hide(n);
      void* p = ::operator new(n, al);
      use_block(p, n, a, 7);
      ::operator delete(p, al);
      p = ::operator new[](n, al);
      use_block(p, n, a, 8);
      ::operator delete[](p, al);
      p = ::operator new(n, al);
      use_block(p, n, a, 9);
      ::operator delete(p, n, al);  // sized + aligned
      p = ::operator new[](n, al);
      use_block(p, n, a, 10);
      ::operator delete[](p, n, al);
      p = ::operator new(n, al, std::nothrow);
      use_block(p, n, a, 11);
      ::operator delete(p, al, std::nothrow);
      p = ::operator new[](n, al, std::nothrow);
      use_block(p, n, a, 12);
      ::operator delete[](p, al, std::nothrow);
    }
  }
  // new-expressions: an over-aligned type goes through the align_val_t forms and the sized deletes.
  struct alignas(256) Big {
    unsigned char bytes[300];
  };
  for (int round = 0; round < 100; round++) {
    Big* b = new Big;
    use_block(b, sizeof *b, 256, 13);
    delete b;
    Big* arr = new Big[hide(17)];
    use_block(arr, 17 * sizeof *arr, 256, 14);
    delete[] arr;
    long* l = new long[hide(1000)]();
    for (int i = 0; i < 1000; i++) CHECK_EQ(l[i], 0);
    delete[] l;
  }
}

// ---- impossible sizes: bad_alloc, or nullptr for nothrow -----------------------------------------------

template <class F>
bool throws_bad_alloc(F f) {
  try {
    void* p = f();
    escape(p);
    std::fprintf(stderr, "no exception, got %p\n", p);
    return false;
  } catch (const std::bad_alloc&) {
    return true;
  }
}

void section_bad_alloc() {
  CHECK(std::get_new_handler() == nullptr);
  const std::size_t huge[] = {SIZE_MAX / 2, SIZE_MAX / 2 + 1, SIZE_MAX, SIZE_MAX - 8,
                              std::size_t{PTRDIFF_MAX}, std::size_t{1} << 48};
  const std::align_val_t al{64}, big_al{2 * MiB};
  for (std::size_t n : huge) {
    n = hide(n);
    CHECK(throws_bad_alloc([&] { return ::operator new(n); }));
    CHECK(throws_bad_alloc([&] { return ::operator new[](n); }));
    CHECK_PTR_EQ(::operator new(n, std::nothrow), nullptr);
    CHECK_PTR_EQ(::operator new[](n, std::nothrow), nullptr);
    // libstdc++ 12 rounds n up to the alignment without an overflow check, so its aligned new
    // returns a tiny block for n > SIZE_MAX - align: those sizes are checked on ptmem only.
    if (!under_ptmem && n > SIZE_MAX - 2 * MiB) continue;
    CHECK(throws_bad_alloc([&] { return ::operator new(n, al); }));
    CHECK(throws_bad_alloc([&] { return ::operator new[](n, big_al); }));
    CHECK_PTR_EQ(::operator new(n, al, std::nothrow), nullptr);
    CHECK_PTR_EQ(::operator new[](n, big_al, std::nothrow), nullptr);
  }
  // The program carries on normally after all those failures.
  void* p = ::operator new(hide(1000));
  use_block(p, 1000, 16, 1);
  ::operator delete(p, std::size_t{1000});
}

// ---- new_handler ---------------------------------------------------------------------------------

int handler_calls;
int handler_limit;

// Called on every failed attempt; after handler_limit calls it removes itself, so the next failure
// throws (or returns nullptr for nothrow).
void uninstalling_handler() {
  handler_calls++;
  if (handler_calls >= handler_limit) std::set_new_handler(nullptr);
}
// Gives up by throwing bad_alloc, the other way the standard allows.
void throwing_handler() {
  handler_calls++;
  if (handler_calls >= handler_limit) throw std::bad_alloc();
}

void arm(std::new_handler h, int limit) {
  handler_calls = 0;
  handler_limit = limit;
  std::set_new_handler(h);
}

void section_new_handler() {
  const std::size_t n = hide(SIZE_MAX / 2);
  const std::align_val_t al{128};
  arm(uninstalling_handler, 3);
  CHECK(throws_bad_alloc([&] { return ::operator new(n); }));
  CHECK_EQ(handler_calls, 3);
  arm(uninstalling_handler, 5);
  CHECK(throws_bad_alloc([&] { return ::operator new[](n); }));
  CHECK_EQ(handler_calls, 5);
  arm(uninstalling_handler, 2);
  CHECK(throws_bad_alloc([&] { return ::operator new(n, al); }));
  CHECK_EQ(handler_calls, 2);
  arm(throwing_handler, 4);
  CHECK(throws_bad_alloc([&] { return ::operator new(n); }));
  CHECK_EQ(handler_calls, 4);
  arm(throwing_handler, 1);
  CHECK(throws_bad_alloc([&] { return ::operator new[](n, al); }));
  CHECK_EQ(handler_calls, 1);
  std::set_new_handler(nullptr);
  // A handler that is installed but never needed is never called.
  arm(uninstalling_handler, 1);
  void* p = ::operator new(hide(100));
  ::operator delete(p);
  CHECK_EQ(handler_calls, 0);
  std::set_new_handler(nullptr);
}

// nothrow forms: the handler loop runs too; when the handler uninstalls itself the result is nullptr.
void section_nothrow_handler() {
  const std::size_t n = hide(SIZE_MAX / 2);
  const std::align_val_t al{256};
  arm(uninstalling_handler, 3);
  CHECK_PTR_EQ(::operator new(n, std::nothrow), nullptr);
  CHECK_EQ(handler_calls, 3);
  arm(uninstalling_handler, 2);
  CHECK_PTR_EQ(::operator new[](n, al, std::nothrow), nullptr);
  CHECK_EQ(handler_calls, 2);
}

// nothrow forms with a handler that throws bad_alloc: [new.delete.single]/ the nothrow version
// "returns a null pointer" if operator new(size) would exit with bad_alloc; the exception must not
// escape a noexcept function (that is std::terminate).
void section_nothrow_throwing_handler() {
  const std::size_t n = hide(SIZE_MAX / 2);
  const std::align_val_t al{64};
  arm(throwing_handler, 2);
  CHECK_PTR_EQ(::operator new(n, std::nothrow), nullptr);
  CHECK_EQ(handler_calls, 2);
  arm(throwing_handler, 1);
  CHECK_PTR_EQ(::operator new[](n, std::nothrow), nullptr);
  CHECK_EQ(handler_calls, 1);
  arm(throwing_handler, 1);
  CHECK_PTR_EQ(::operator new(n, al, std::nothrow), nullptr);
  CHECK_EQ(handler_calls, 1);
  arm(throwing_handler, 1);
  CHECK_PTR_EQ(::operator new[](n, al, std::nothrow), nullptr);
  CHECK_EQ(handler_calls, 1);
  std::set_new_handler(nullptr);
}

struct Section {
  const char* name;
  void (*fn)();
};
const Section sections[] = {
    {"exports", section_exports},
    {"forms", section_forms},
    {"bad_alloc", section_bad_alloc},
    {"new_handler", section_new_handler},
    {"nothrow_handler", section_nothrow_handler},
    {"nothrow_throwing_handler", section_nothrow_throwing_handler},
};

int run_section(const Section& s) {
  std::fflush(nullptr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    s.fn();
    std::exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  std::fprintf(stderr, "section %s killed by signal %d\n", s.name, WTERMSIG(status));
  return 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char** argv) {
  const char* expect = nullptr;
  int nonly = 0;
  for (int i = 1; i < argc; i++)
    if (std::strncmp(argv[i], "--expect=", 9) == 0) expect = argv[i] + 9;
    else nonly++;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  under_ptmem = dlsym(RTLD_DEFAULT, "pt_pool_create") != nullptr;
  std::printf("allocator: %s\n", under_ptmem ? "ptmem (libptmem.so preloaded)" : "libstdc++/glibc");
  if (expect) CHECK_EQ(std::strcmp(expect, under_ptmem ? "ptmem" : "glibc"), 0);
  int failed = 0;
  for (const Section& s : sections) {
    bool wanted = nonly == 0;
    for (int i = 1; i < argc; i++) wanted |= std::strcmp(argv[i], s.name) == 0;
    if (!wanted) continue;
    int rc = run_section(s);
    if (rc == 0) std::printf("PASS %s\n", s.name);
    else {
      std::printf("FAIL %s (status %d)\n", s.name, rc);
      failed++;
    }
  }
  std::printf("%d section(s) failed\n", failed);
  return failed ? 1 : 0;
}
