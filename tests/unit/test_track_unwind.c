/* Unit tests of track/unwind.c and cfi.c: the call-frame walk gives exactly libunwind's frames on
 * stacks that stress it (one call site reached through different callers at the same depth,
 * recursion, alloca and VLA frames whose CFA is rbp-based, a thread, a depth limit), ends a stack
 * captured in a signal handler at the kernel's signal frame, with libunwind's frames up to it, and
 * gives up at a CFA given by a DWARF expression, where pt_track_stack_capture takes libunwind's. */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "stack.h"
#include "track.h"

enum { MAX = 128 };
typedef int (*backtrace_fn)(void**, int);
static backtrace_fn unw_backtrace_fn;
static volatile unsigned compared, walked;
/* libunwind's per-thread cache destructor crashes in ThreadSanitizer's thread teardown: there the
 * thread's walks are only checked to run to the end. */
static __thread bool skip_libunwind;

static const char* symbol_of(uintptr_t ip) {
  Dl_info info;
  return dladdr((void*)(ip - 1), &info) && info.dli_sname ? info.dli_sname : "?";
}

/* Both walks from this frame; frame 0 (the address in this function) differs by construction. */
__attribute__((noinline)) static void compare_here(bool walk_must_succeed, unsigned max) {
  uintptr_t own[MAX];
  void* ref[MAX];
  unsigned n = pt_track_unwind(own, max, NULL);
  int m = skip_libunwind ? (int)n : unw_backtrace_fn(ref, (int)max);
  if (skip_libunwind) memcpy(ref, own, sizeof own);
  __asm__ volatile("" ::: "memory");
  if (walk_must_succeed) CHECK_GE(n, 1);
  if (n == 0) return; /* gave up: the capture falls back (under_expression_frame checks it) */
  CHECK_EQ(n, (unsigned)m);
  for (unsigned i = 1; i < n && i < (unsigned)m; i++) {
    if (own[i] != (uintptr_t)ref[i])
      fprintf(stderr, "frame %u: walk %s %#lx, libunwind %s %#lx\n", i, symbol_of(own[i]), (unsigned long)own[i],
              symbol_of((uintptr_t)ref[i]), (unsigned long)(uintptr_t)ref[i]);
    CHECK_EQ(own[i], (uintptr_t)ref[i]);
  }
  walked++;
  compared++;
}

/* One call site (in shared_leaf) reached from two callers with frames of the same size. */
static uintptr_t leaf_stack[MAX];
static unsigned leaf_depth;
static uint32_t leaf_id;
__attribute__((noinline, visibility("default"))) void shared_leaf(void);
void shared_leaf(void) {
  compare_here(true, MAX);
  leaf_depth = pt_track_unwind(leaf_stack, MAX, NULL);
  leaf_id = pt_track_stack_id();
  __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, visibility("default"))) void caller_one(void);
void caller_one(void) {
  volatile char pad[48];
  pad[0] = 1;
  __asm__ volatile("" : : "r"(pad) : "memory");
  shared_leaf();
  __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, visibility("default"))) void caller_two(void);
void caller_two(void) {
  volatile char pad[48];
  pad[0] = 2;
  __asm__ volatile("" : : "r"(pad) : "memory");
  shared_leaf();
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static unsigned recurse(unsigned depth, unsigned max) {
  if (depth == 0) {
    compare_here(true, max);
    return 0;
  }
  unsigned r = recurse(depth - 1, max) + 1;
  __asm__ volatile("" ::: "memory");
  return r;
}

/* alloca and a VLA make GCC address the frame from rbp: the CFA rule is rbp-based. */
__attribute__((noinline)) static void with_alloca(size_t n) {
  char* p = alloca(n);
  memset(p, 0x5a, n);
  __asm__ volatile("" : : "r"(p) : "memory");
  shared_leaf();
  __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) static void with_vla(size_t n) {
  char buf[n];
  memset(buf, 0xa5, n);
  __asm__ volatile("" : : "r"(buf) : "memory");
  with_alloca(n * 2 + 8);
  __asm__ volatile("" ::: "memory");
}

static void* in_thread(void* arg) {
  (void)arg;
#ifdef __SANITIZE_THREAD__
  skip_libunwind = true;
#endif
  recurse(5, MAX);
  with_vla(100);
  return NULL;
}

/* The walked id (no replay) of one site, reached from the program and from a signal handler. */
static uint32_t walked_id;
__attribute__((noinline)) static void walked_site(void) {
  walked_id = pt_track_stack_id_walked(__builtin_frame_address(0));
  __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) static uint32_t walked_from_program(void) {
  walked_site();
  __asm__ volatile("" ::: "memory");
  return walked_id;
}
static void walked_in_handler(int sig) {
  (void)sig;
  walked_site();
}

/* In a signal handler the walk meets the kernel's signal frame (__restore_rt): the stack ends there
 * (cfi.h says why), with libunwind's frames up to and including the trampoline, and no libunwind
 * (which walks on into the interrupted code). */
static volatile sig_atomic_t handler_ok;
__attribute__((noinline)) static void in_handler(int sig) {
  (void)sig;
  uintptr_t own[MAX];
  unsigned k = pt_track_unwind(own, MAX, NULL);
  void* ref[MAX];
  int m = unw_backtrace_fn(ref, MAX);
  handler_ok = k >= 2 && (int)k < m ? 1 : 2;
  /* own starts in pt_track_unwind's caller (this function), libunwind in itself: both at index 0 */
  for (unsigned i = 1; handler_ok == 1 && i < k; i++)
    if (own[i] != (uintptr_t)ref[i]) handler_ok = 3;
  /* the trampoline is local to libc (no symbol); its code is "mov $15, %rax; syscall" (rt_sigreturn) */
  static const unsigned char sigreturn[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  if (handler_ok == 1 && memcmp((const void*)own[k - 1], sigreturn, sizeof sigreturn) != 0) handler_ok = 4;
  uintptr_t cap[MAX];
  unsigned n = pt_track_stack_capture(cap, MAX); /* the embedder's way in: the same frames */
  if (handler_ok == 1 && (n != k || cap[n - 1] != own[k - 1])) handler_ok = 5;
}

/* A frame whose CFA is a DWARF expression (as in the PLT): the walk gives up there, and the
 * capture takes the whole stack from libunwind. expression_frame(fn) calls fn with CFA = rsp + 16
 * said as DW_OP_breg7 (rsp) 16, which libunwind evaluates and cfi.c does not model. */
__asm__(".text\n"
        ".type expression_frame, @function\n"
        "expression_frame:\n"
        ".cfi_startproc\n"
        "  sub $8, %rsp\n"
        "  .cfi_escape 0x0f, 0x02, 0x77, 0x10\n" /* DW_CFA_def_cfa_expression, 2 bytes: breg7 16 */
        "  call *%rdi\n"
        "  add $8, %rsp\n"
        "  .cfi_def_cfa rsp, 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size expression_frame, .-expression_frame\n");
void expression_frame(void (*fn)(void));
static volatile int fallback_ok;
__attribute__((noinline)) static void under_expression_frame(void) {
  uintptr_t own[MAX];
  unsigned k = pt_track_unwind(own, MAX, NULL);
  uintptr_t cap[MAX];
  unsigned n = pt_track_stack_capture(cap, MAX);
  void* ref[MAX];
  int m = unw_backtrace_fn(ref, MAX);
  fallback_ok = k == 0 && n >= 3 && n == (unsigned)m ? 1 : 2; /* this function, expression_frame, main... */
  for (unsigned i = 1; fallback_ok == 1 && i < n; i++)
    if (cap[i] != (uintptr_t)ref[i]) fallback_ok = 3;
}

/* pt_track_stack_id replays a remembered walk when it starts alike and every stack word it decides
 * on is the same: over thousands of stacks (recursion depths, VLA and alloca sizes that move
 * rbp-based frames, two callers, and stale words left in the VLAs by earlier calls), the id it gives
 * must always name the frames a fresh walk finds here. */
static unsigned replay_checked, replay_frames;
__attribute__((noinline, visibility("default"))) void replay_leaf(void);
void replay_leaf(void) {
  uint32_t id = pt_track_stack_id();
  uintptr_t fresh[64];
  unsigned n = pt_track_stack_capture(fresh, 64); /* a walk, never a replay */
  __asm__ volatile("" ::: "memory");
  const uintptr_t* frames;
  unsigned m = pt_track_stack_frames(id, &frames);
  CHECK_EQ(m, n);
  CHECK(n >= 1 && strcmp(symbol_of(frames[0]), "replay_leaf") == 0);
  for (unsigned i = 1; i < n; i++) CHECK_EQ(frames[i], fresh[i]);
  replay_checked++;
  replay_frames += n;
}
__attribute__((noinline)) static void replay_vla(unsigned depth, size_t size, uint32_t* rng) {
  char buf[size];
  memset(buf, (int)depth, size);
  __asm__ volatile("" : : "r"(buf) : "memory");
  *rng = *rng * 1103515245u + 12345u;
  if (depth == 0) replay_leaf();
  else replay_vla(depth - 1, 16 + (*rng >> 20) % 96, rng);
  __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, visibility("default"))) void replay_caller_a(unsigned depth, uint32_t* rng);
void replay_caller_a(unsigned depth, uint32_t* rng) {
  replay_vla(depth, 32, rng);
  __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, visibility("default"))) void replay_caller_b(unsigned depth, uint32_t* rng);
void replay_caller_b(unsigned depth, uint32_t* rng) {
  replay_vla(depth, 48, rng);
  __asm__ volatile("" ::: "memory");
}
static void check_replays(void) {
  uint32_t rng = 7;
  for (unsigned i = 0; i < 3000; i++) {
    unsigned depth = (rng >> 16) % 4;
    rng = rng * 1103515245u + 12345u;
    if (rng & 0x100) replay_caller_a(depth, &rng);
    else replay_caller_b(depth, &rng);
    if (i % 7 == 0) replay_leaf(); /* straight from here as well */
  }
  CHECK_GE(replay_checked, 3000);
}

/* Many callers of one allocating function, at one depth: one start, more paths than a replay's ways
 * hold, each taken in turn. Once the walk tree holds them (a thread has one after its replays missed
 * 256 times), none is walked again; a path the tree gave is replayed next time, from a way; and each
 * id still names the frames a fresh walk finds (replay_leaf checks). */
#define TREE_CALLER(k)                                                    \
  __attribute__((noinline, visibility("default"))) void tree_caller_##k(void); \
  void tree_caller_##k(void) {                                            \
    replay_leaf();                                                        \
    __asm__ volatile("" ::: "memory");                                    \
  }
TREE_CALLER(0) TREE_CALLER(1) TREE_CALLER(2) TREE_CALLER(3) TREE_CALLER(4) TREE_CALLER(5)
TREE_CALLER(6) TREE_CALLER(7) TREE_CALLER(8) TREE_CALLER(9) TREE_CALLER(10) TREE_CALLER(11)
static void (*const tree_callers[])(void) = {tree_caller_0, tree_caller_1, tree_caller_2, tree_caller_3,
                                             tree_caller_4, tree_caller_5, tree_caller_6, tree_caller_7,
                                             tree_caller_8, tree_caller_9, tree_caller_10, tree_caller_11};
enum { TREE_PATHS = sizeof tree_callers / sizeof tree_callers[0] };
__attribute__((noinline)) static void tree_rounds(unsigned rounds, unsigned times) { /* one call site */
  for (unsigned round = 0; round < rounds; round++)
    for (unsigned k = 0; k < TREE_PATHS; k++)
      for (volatile unsigned t = 0; t < times; t++) tree_callers[k]();
  __asm__ volatile("" ::: "memory");
}
static void check_walk_tree(void) {
  uint64_t walks = 0, misses = 0;
  for (volatile int pass = 0; pass < 2; pass++) { /* volatile: one call site, not unrolled */
    if (pass == 1) {
      walks = pt_track_stack_walks();
      misses = pt_track_stack_replay_misses();
    }
    tree_rounds(pass ? 30 : 40, pass ? 2 : 1); /* 480 misses at most: the tree is there by pass 1 */
  }
  CHECK_EQ(pt_track_stack_walks() - walks, 0);
  CHECK_EQ(pt_track_stack_replay_misses() - misses, 30 * TREE_PATHS); /* the second of each pair replayed */
}

/* An embedder's own code (malloc and the tracker) stand-in: two frames in a section of their own,
 * whose bounds the linker gives; pt_track_unwind_foreign, given the inner one's frame, must start at
 * the frame that called them. */
extern const char __start_ptmem_test_own[], __stop_ptmem_test_own[];
__attribute__((noinline, section("ptmem_test_own"))) static unsigned own_inner(uintptr_t* out, uintptr_t lo,
                                                                               uintptr_t hi) {
  unsigned n = pt_track_unwind_foreign(out, MAX, __builtin_frame_address(0), lo, hi, NULL);
  __asm__ volatile("" ::: "memory"); /* no tail call */
  return n;
}
__attribute__((noinline, section("ptmem_test_own"))) static unsigned own_outer(uintptr_t* out, uintptr_t lo,
                                                                               uintptr_t hi) {
  unsigned n = own_inner(out, lo, hi);
  __asm__ volatile("" ::: "memory");
  return n;
}
__attribute__((noinline, visibility("default"))) void calls_own_code(void);
void calls_own_code(void) {
  uintptr_t via_own[MAX], direct[MAX];
  uintptr_t lo = (uintptr_t)__start_ptmem_test_own, hi = (uintptr_t)__stop_ptmem_test_own;
  unsigned n = own_outer(via_own, lo, hi);
  unsigned m = pt_track_unwind(direct, MAX, NULL);
  __asm__ volatile("" ::: "memory");
  CHECK_EQ(n, m);
  CHECK(strcmp(symbol_of(via_own[0]), "calls_own_code") == 0); /* the call into own_outer */
  for (unsigned i = 1; i < n; i++) CHECK_EQ(via_own[i], direct[i]);
  /* an empty range skips nothing: the walk starts at the given frame's return address (own_outer) */
  CHECK_EQ(own_outer(via_own, 0, 0), n + 1);
  CHECK(via_own[0] >= lo && via_own[0] < hi);
  CHECK(strcmp(symbol_of(via_own[1]), "calls_own_code") == 0);
  for (unsigned i = 2; i < n + 1; i++) CHECK_EQ(via_own[i], direct[i - 1]);
}

/* Per-thread replay memory is bounded: PT_TRACK_REPLAY_WIDE_THREADS threads at a time use every
 * group, the others a few, and a thread that ends hands its share on. */
enum { MANY = PT_TRACK_REPLAY_WIDE_THREADS + 4 };
static pthread_barrier_t all_walked;
static _Atomic unsigned wide_seen;
static void* walk_and_hold(void* arg) {
  (void)arg;
  CHECK_NE(pt_track_stack_id(), 0);
  CHECK(pt_track_tls_replays != NULL);
  uintptr_t mask = pt_track_tls_replays->groups_mask;
  CHECK(mask == PT_TRACK_REPLAY_GROUPS - 1 || mask == PT_TRACK_REPLAY_FEW_GROUPS - 1);
  if (mask == PT_TRACK_REPLAY_GROUPS - 1) atomic_fetch_add(&wide_seen, 1);
  pthread_barrier_wait(&all_walked); /* every thread holds its walks at once */
  pt_track_unwind_thread_exit();
  return NULL;
}

static unsigned wide_among(unsigned n) {
  pthread_t t[MANY];
  atomic_store(&wide_seen, 0);
  CHECK_EQ(pthread_barrier_init(&all_walked, NULL, n), 0);
  for (unsigned i = 0; i < n; i++) CHECK_EQ(pthread_create(&t[i], NULL, walk_and_hold, NULL), 0);
  for (unsigned i = 0; i < n; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&all_walked);
  return atomic_load(&wide_seen);
}

static void check_wide_threads(void) {
  CHECK_NE(pt_track_stack_id(), 0);
  unsigned mine = pt_track_tls_replays->groups_mask == PT_TRACK_REPLAY_GROUPS - 1;
  unsigned wide = wide_among(MANY); /* (an earlier test's thread may still hold a share) */
  CHECK(wide >= 1 && wide + mine <= PT_TRACK_REPLAY_WIDE_THREADS);
  CHECK_EQ(wide_among(MANY), wide); /* the ended threads gave their share back */
  CHECK_EQ(wide_among(2), 2);
}

int main(void) {
  void* lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  void* sym = lib ? dlsym(lib, "unw_backtrace") : NULL;
  if (!sym) {
    puts("track_unwind: libunwind.so.8 not found, skipped");
    return 77;
  }
  memcpy(&unw_backtrace_fn, &sym, sizeof sym);
  CHECK(pt_track_stack_load_libunwind());

  /* One call site, two callers at the same depth: the stacks differ in the caller's frame. */
  uintptr_t one[MAX];
  for (int i = 0; i < 3; i++) { /* the second and third walks use the cached rules */
    caller_one();
    memcpy(one, leaf_stack, sizeof one);
    unsigned depth_one = leaf_depth;
    caller_two();
    CHECK_EQ(leaf_depth, depth_one);
    CHECK_EQ(one[0], leaf_stack[0]);
    CHECK(strcmp(symbol_of(one[1]), "caller_one") == 0);
    CHECK(strcmp(symbol_of(leaf_stack[1]), "caller_two") == 0);
  }
  /* The same with stack ids: a repeated stack reuses the previous id (no hashing), and must still
   * tell the two callers apart. */
  uint32_t ids[2][3];
  for (volatile int i = 0; i < 3; i++) { /* volatile: one call site each, not peeled or unrolled */
    caller_one();
    ids[0][i] = leaf_id;
    for (volatile int k = 0; k < 2; k++) {
      caller_two();
      ids[1][i] = leaf_id;
    }
  }
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(ids[0][i], ids[0][0]);
    CHECK_EQ(ids[1][i], ids[1][0]);
  }
  CHECK_NE(ids[0][0], ids[1][0]);
  const uintptr_t* frames;
  CHECK_GE(pt_track_stack_frames(ids[0][0], &frames), 2);
  CHECK(strcmp(symbol_of(frames[0]), "shared_leaf") == 0 && strcmp(symbol_of(frames[1]), "caller_one") == 0);
  CHECK_GE(pt_track_stack_frames(ids[1][0], &frames), 2);
  CHECK(strcmp(symbol_of(frames[0]), "shared_leaf") == 0 && strcmp(symbol_of(frames[1]), "caller_two") == 0);
  uintptr_t a[MAX], b[MAX];
  unsigned na, nb;
  recurse(0, MAX);
  for (unsigned depth = 12; depth > 0; depth -= 3) { /* shallower, deeper, shallower: the previous */
    recurse(depth, MAX);                              /* walk's frames found by sp at other depths */
    recurse(depth + 5, MAX);
  }
  recurse(40, MAX);
  recurse(200, MAX); /* deeper than MAX: both stop at the limit */
  recurse(3, 4);
  with_alloca(1000);
  with_vla(37);
  with_vla(5000);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, in_thread, NULL), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK_EQ(compared, walked);
  CHECK_EQ(walked, 32); /* every walk above ran to the end */

  /* After a flush the rules are read again and the walk is the same. */
  na = pt_track_unwind(a, MAX, NULL);
  pt_track_unwind_flush();
  nb = pt_track_unwind(b, MAX, NULL);
  CHECK_EQ(na, nb);
  for (unsigned i = 1; i < na; i++) CHECK_EQ(a[i], b[i]);

  calls_own_code();
  check_replays();
  check_walk_tree();

  signal(SIGUSR1, in_handler);
  raise(SIGUSR1);
  CHECK_EQ(handler_ok, 1);
  expression_frame(under_expression_frame);
  CHECK_EQ(fallback_ok, 1);

  /* A walk made in a handler is the previous walk when the program's next one starts: the
   * program's stack walked again after it is its own, not the handler's. */
  signal(SIGUSR2, walked_in_handler);
  uint32_t seen[4], handler_id = 0;
  for (volatile int i = 0; i < 4; i++) { /* volatile: one call site, not unrolled */
    if (i == 2) {
      raise(SIGUSR2);
      handler_id = walked_id;
    }
    seen[i] = walked_from_program();
  }
  CHECK_NE(handler_id, seen[0]);
  for (int i = 1; i < 4; i++) CHECK_EQ(seen[i], seen[0]);
  check_wide_threads();
  printf("track_unwind: %u walks agree with libunwind; a signal frame ends the stack\n", walked);
  return 0;
}
