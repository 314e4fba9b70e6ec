// symbolize_prog.cpp - the program test_symbolize.c symbolizes. Built with -O2 -g and no sanitizer.
// When run it prints its GNU build-id as read from memory (what the tracker records) and, for each
// call site the test checks, "<site> 0x<return address minus the load bias>", the module-relative
// offset a trace would hold. The lines the test expects are marked with "@<site>" comments.
#include <link.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static uintptr_t load_bias;

static int first_object(struct dl_phdr_info* info, size_t, void*) {
  load_bias = info->dlpi_addr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const char* p = (const char*)(info->dlpi_addr + ph->p_vaddr);
    const char* end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr)* note = (const ElfW(Nhdr)*)p;
      const unsigned char* desc = (const unsigned char*)(p + sizeof *note + ((note->n_namesz + 3) & ~3u));
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && !std::memcmp(note + 1, "GNU", 4)) {
        std::printf("build-id ");
        for (unsigned k = 0; k < note->n_descsz; k++)
          std::printf("%02x", desc[k]);
        std::printf("\n");
      }
      p = (const char*)desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  return 1; // the executable comes first
}

static void print_site(const char* site, void* return_address) {
  std::printf("%s 0x%zx\n", site, (size_t)((uintptr_t)return_address - load_bias));
}

extern "C" __attribute__((noipa)) void* probe(const char* site, size_t n) {
  print_site(site, __builtin_return_address(0));
  return std::malloc(n);
}

namespace demo {
// The empty asm after each call keeps the call from becoming a tail call (no return address).
static inline __attribute__((always_inline)) void* grab(size_t n) {
  void* p = probe("grab", n); // @grab
  asm volatile("" ::: "memory");
  return p;
}

static inline __attribute__((always_inline)) void* fill(size_t n) {
  void* p = grab(n + 8); // @fill
  asm volatile("" ::: "memory");
  return p;
}

struct Pool {
  __attribute__((always_inline)) void* take(size_t n) {
    void* p = probe("take", n); // @take
    asm volatile("" ::: "memory");
    return p;
  }
};

__attribute__((noipa)) void* from_pool(size_t n) {
  Pool pool;
  void* p = pool.take(n); // @from_pool
  asm volatile("" ::: "memory");
  return p;
}

__attribute__((noipa)) void* make_buffer(size_t n) {
  print_site("main", __builtin_return_address(0));
  void* p = fill(n); // @make_buffer
  asm volatile("" ::: "memory");
  return p;
}
} // namespace demo

extern "C" __attribute__((noipa)) void* plain_c_alloc(size_t n) {
  void* p = probe("plain", n); // @plain
  asm volatile("" ::: "memory");
  return p;
}

int main(int argc, char**) {
  dl_iterate_phdr(first_object, nullptr);
  void* a = demo::make_buffer(16); // @main
  void* b = plain_c_alloc(32);
  void* c = demo::from_pool(48);
  std::free(a);
  std::free(b);
  std::free(c);
  // Code that may throw splits main into main and main.cold; the line table of main then ends with
  // a row libdw 0.188 would hand out for _start, which the linker puts right after main.
  auto* strings = new std::vector<std::string>(2, std::string(50, (char)('a' + argc)));
  size_t kept = strings->size();
  delete strings;
  return kept == 2 ? 0 : 1;
}
