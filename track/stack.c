/* stack.c - capturing the allocating stack. By default a call-frame walk of our own (unwind.c: the
 * .eh_frame rules libunwind's fast path uses, without its per-call set-up; a signal frame ends the
 * stack, cfi.h); where that walk gives up (DWARF expressions, code without unwind tables)
 * libunwind's unw_backtrace; a
 * frame-pointer walk (blind inside code built without frame pointers, such as Debian's libc) on
 * request, or when libunwind cannot be loaded. The frames of the embedding library (malloc itself,
 * the tracker) are dropped, so the first frame is the caller of malloc or operator new.
 *
 * libunwind is loaded with dlopen when tracking starts, not linked: with tracking off, a process
 * under the preload should not carry libunwind and liblzma. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/single_threaded.h>

#include "leaks.h"
#include "stack.h"
#include "track.h"

pt_track_config_t pt_track_stack_config = {.depth = 32};
uint64_t pt_track_stack_config_generation = 1;
#define config pt_track_stack_config /* short names for this file's many uses */
#define config_generation pt_track_stack_config_generation
typedef int (*backtrace_fn)(void**, int);
static backtrace_fn unwinder; /* libunwind's unw_backtrace once loaded */

/* The objects a dlopen of ours brings in (libunwind and liblzma) are the tracker's, like its tables:
 * their writable segments are not leak roots. libunwind's .bss keeps addresses from its last walk:
 * a signal frame on a sigaltstack the program had malloc'd, then dropped, kept that stack
 * "reachable" (LSan, whose process has no libunwind, reported it). An object the process had
 * already loaded is not new, and stays a root. Objects are told apart by their program headers'
 * address; at most OBJECTS_MAX are remembered, and past that nothing is left out. */
#define OBJECTS_MAX 1024
typedef struct loaded_s {
  const void* phdr[OBJECTS_MAX];
  size_t n;
  bool overflow;
} loaded_t;

static int remember_object(struct dl_phdr_info* info, size_t size, void* arg) {
  (void)size;
  loaded_t* l = arg;
  if (l->n == OBJECTS_MAX) l->overflow = true;
  else l->phdr[l->n++] = info->dlpi_phdr;
  return 0;
}

static int exclude_new_object(struct dl_phdr_info* info, size_t size, void* arg) {
  (void)size;
  const loaded_t* l = arg;
  for (size_t i = 0; i < l->n; i++)
    if (l->phdr[i] == info->dlpi_phdr) return 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
      pt_track_leaks_exclude((const void*)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz);
  }
  return 0;
}

static void* dlopen_as_ours(const char* name) {
  static loaded_t before; /* static: 8 KiB is too much for a constructor's stack */
  before.n = 0;
  before.overflow = false;
  dl_iterate_phdr(remember_object, &before);
  void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (lib && !before.overflow) dl_iterate_phdr(exclude_new_object, &before);
  return lib;
}

bool pt_track_stack_load_libunwind(void) {
  if (unwinder) return true;
  void* lib = dlopen_as_ours("libunwind.so.8");
  void* sym = lib ? dlsym(lib, "unw_backtrace") : NULL;
  if (!sym) return false;
  pt_track_exit_caller_resolve(lib);
  memcpy(&unwinder, &sym, sizeof sym); /* POSIX's dlsym idiom for function pointers */
  return true;
}

bool pt_track_stack_unwinder_loaded(void) { return unwinder != NULL; }

void pt_track_stack_configure(const pt_track_config_t* c) {
  config_generation++;
  config = *c;
  if (config.depth < 1) config.depth = 1;
  if (config.depth > PT_TRACK_DEPTH_MAX) config.depth = PT_TRACK_DEPTH_MAX;
}

static inline bool is_own(uintptr_t ip) { return ip >= config.skip_lo && ip < config.skip_hi; }

/* Frame pointers: follow saved rbp while each frame is above the previous one and within 1 MiB of
 * it, so a register reused for data in a frame-pointer-less function ends the walk, not the program. */
__attribute__((noinline)) static unsigned walk_frame_pointers(uintptr_t* out, unsigned max) {
  uintptr_t* fp = __builtin_frame_address(0);
  unsigned n = 0;
  while (fp && n < max) {
    uintptr_t ret = fp[1];
    uintptr_t* next = (uintptr_t*)fp[0];
    if (!ret) break;
    out[n++] = ret;
    if (next <= fp || (uintptr_t)next - (uintptr_t)fp > (1u << 20) || ((uintptr_t)next & 7)) break;
    fp = next;
  }
  return n;
}

/* The id of this thread's previous pt_track_stack_id, and the configuration it was taken under:
 * when the walk says the stack is the one it walked last time, that id is the answer. */
static __thread uint32_t tls_last_id __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_last_config __attribute__((tls_model("initial-exec")));

enum { EXTRA = 8 }; /* room for our own frames, dropped below */

/* Where the caller's frames start in a walk of libunwind or of frame pointers, which begin inside
 * walk(): at `frame`'s return address if the walk has it (the first match is the innermost), then
 * past the embedder's own frames. */
static unsigned first_foreign(void* const* raw, unsigned got, const void* frame) {
  uintptr_t ret = ((const uintptr_t*)frame)[1];
  unsigned first = 0;
  while (first < got && (uintptr_t)raw[first] != ret) first++;
  if (first == got) first = 0;
  while (first < got && is_own((uintptr_t)raw[first])) first++;
  return first;
}

/* libunwind finds objects with dl_iterate_phdr, under the loader's lock, and keeps locks of its own.
 * In a process forked while another thread held one of them, that lock is held for ever, and the
 * first stack the call-frame walk gives up on waited for it, inside malloc. So a process forked
 * from one that has had other threads walks frame pointers there instead (the C library's
 * __libc_single_threaded is still the parent's in the child's fork handler). */
static bool forked;
void pt_track_stack_fork_child(void) {
  if (!__libc_single_threaded) forked = true;
}
bool pt_track_stack_loader_may_be_held(void) { return forked; }

/* Raw return addresses; the caller's start at raw[*first]. *same: the call-frame walk found the
 * frames of this thread's previous walk. */
static unsigned walk(void** raw, unsigned depth, const void* frame, bool* same, unsigned* first, bool stateless) {
  *same = false;
  unsigned got = 0, want = depth + EXTRA;
  backtrace_fn unwind = unwinder;
  if (!config.frame_pointers &&
      (got = stateless ? pt_track_unwind_foreign_stateless((uintptr_t*)raw, depth, frame, config.skip_lo, config.skip_hi)
                       : pt_track_unwind_foreign((uintptr_t*)raw, depth, frame, config.skip_lo, config.skip_hi, same)) != 0) {
    *first = 0;
    return got;
  }
  if (config.frame_pointers || !unwind || forked) {
    got = walk_frame_pointers((uintptr_t*)raw, want);
  } else {
    int r = unwind(raw, (int)want);
    got = r > 0 ? (unsigned)r : 0;
  }
  *first = first_foreign(raw, got, frame);
  return got;
}

/* Noinline: its frame's return address is the caller's, where the walk starts. */
__attribute__((noinline)) unsigned pt_track_stack_capture(uintptr_t* frames, unsigned max) {
  void* raw[PT_TRACK_DEPTH_MAX + EXTRA];
  bool same;
  unsigned first;
  unsigned got = walk(raw, max < config.depth ? max : config.depth, __builtin_frame_address(0), &same, &first, false);
  tls_last_id = 0; /* the next walk's "same" refers to this one, which has no id */
  pt_track_unwind_remember(0, 0); /* nor can it be replayed for one */
  unsigned n = 0;
  for (unsigned i = first; i < got && n < max && n < config.depth; i++) frames[n++] = (uintptr_t)raw[i];
  __asm__ volatile("" ::: "memory"); /* no tail call: this frame is where the walk starts */
  return n;
}

static __thread uint64_t tls_walks __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_missed __attribute__((tls_model("initial-exec")));
uint64_t pt_track_stack_walks(void) { return tls_walks; }
uint64_t pt_track_stack_replay_misses(void) { return tls_missed; }

/* stack.h's pt_track_stack_id_from when the replay missed. */
uint32_t pt_track_stack_id_walked(const void* frame) {
  void* raw[PT_TRACK_DEPTH_MAX + EXTRA];
  bool same;
  unsigned first;
  uint32_t id;
  tls_missed++;
  if (!config.frame_pointers && pt_track_unwind_tree_find(frame, config.skip_lo, config.skip_hi, config_generation, &id)) {
    pt_track_unwind_remember(config_generation, id);
    return id;
  }
  tls_walks++;
  unsigned got = walk(raw, config.depth, frame, &same, &first, false);
  if (same && tls_last_id && tls_last_config == config_generation) {
    pt_track_unwind_remember(config_generation, tls_last_id);
    return tls_last_id;
  }
  unsigned n = got - first < config.depth ? got - first : config.depth;
  id = pt_track_stack_intern((const uintptr_t*)(raw + first), n);
  pt_track_unwind_remember(config_generation, id);
  tls_last_id = id;
  tls_last_config = config_generation;
  return id;
}

uint32_t pt_track_stack_id_stateless(const void* frame) {
  void* raw[PT_TRACK_DEPTH_MAX + EXTRA];
  bool same;
  unsigned first;
  unsigned got = walk(raw, config.depth, frame, &same, &first, true);
  unsigned n = got - first < config.depth ? got - first : config.depth;
  return pt_track_stack_intern_shared((const uintptr_t*)(raw + first), n);
}

__attribute__((noinline)) uint32_t pt_track_stack_id(void) {
  uint32_t id = pt_track_stack_id_from(__builtin_frame_address(0));
  __asm__ volatile("" ::: "memory"); /* no tail call: this frame is where the walk starts */
  return id;
}
