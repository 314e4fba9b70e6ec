/* new.c - every C++ operator new/delete form (plain, array, nothrow, aligned, sized), mangled by
 * hand so libptmem.so needs no libstdc++. On failure operator new follows the standard: call the
 * new_handler until it is absent, then throw std::bad_alloc. Both come from libstdc++ as weak
 * references, present whenever a C++ program is running; this file is built with -fexceptions so
 * the exception can unwind through it. The nothrow forms return NULL when no handler is installed;
 * with a handler, which may throw, they hand the request to libstdc++'s own nothrow operator (the
 * next definition after ours), which calls our throwing form inside its try/catch: C cannot catch. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>

#include "entry.h"
#include "preload.h"
#include "tracking.h"

typedef void (*new_handler_fn)(void);
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static void* alloc_with(size_t n, size_t align) {
  /* as malloc: the block and its record word from one page lookup, not a second one to track it */
  if (pt_unlikely(ptmem_tracking) && !align) return ptmem_tracked_malloc(n);
  void* p = align ? pt__entry_alloc_aligned(n, align) : pt__entry_alloc(n);
  if (pt_unlikely(ptmem_tracking) && p) ptmem_track_alloc(p, n);
  return p;
}

__attribute__((noinline)) static void* new_failed(size_t n, size_t align, bool nothrow) {
  for (;;) {
    new_handler_fn handler = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
    if (!handler) {
      if (nothrow) return NULL;
      if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
      abort();
    }
    handler();
    void* p = alloc_with(n, align);
    if (p) return p;
  }
}

static inline void* new_impl(size_t n, size_t align) {
  void* p = alloc_with(n, align);
  return pt_likely(p != NULL) ? p : new_failed(n, align, false);
}

typedef struct nothrow_s nothrow_t; /* std::nothrow_t, only passed by reference */
typedef void* (*nothrow_new_fn)(size_t, const nothrow_t*);
typedef void* (*nothrow_aligned_new_fn)(size_t, size_t, const nothrow_t*);

/* `name` is the mangled nothrow operator being served; NULL result means "no libstdc++ to ask". */
__attribute__((noinline)) static void* nothrow_new(const char* name, size_t n, size_t align, const nothrow_t* t) {
  void* p = alloc_with(n, align);
  if (pt_likely(p != NULL)) return p;
  if (!_ZSt15get_new_handlerv || !_ZSt15get_new_handlerv()) return NULL;
  void* sym = dlsym(RTLD_NEXT, name);
  if (!sym) return new_failed(n, align, true);
  if (align) {
    nothrow_aligned_new_fn next;
    memcpy(&next, &sym, sizeof sym);
    return next(n, align, t);
  }
  nothrow_new_fn next;
  memcpy(&next, &sym, sizeof sym);
  return next(n, t);
}

static inline void delete_impl(void* p) {
  if (pt_unlikely(ptmem_tracking)) ptmem_track_free(p);
  if (pt_unlikely(!pt__entry_free(p))) ptmem_foreign_free(p);
}

PT_EXPORT void* _Znwm(size_t n) { return new_impl(n, 0); }
PT_EXPORT void* _Znam(size_t n) { return new_impl(n, 0); }
PT_EXPORT void* _ZnwmRKSt9nothrow_t(size_t n, const nothrow_t* t) { return nothrow_new(__func__, n, 0, t); }
PT_EXPORT void* _ZnamRKSt9nothrow_t(size_t n, const nothrow_t* t) { return nothrow_new(__func__, n, 0, t); }
PT_EXPORT void* _ZnwmSt11align_val_t(size_t n, size_t a) { return new_impl(n, a); }
PT_EXPORT void* _ZnamSt11align_val_t(size_t n, size_t a) { return new_impl(n, a); }
PT_EXPORT void* _ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const nothrow_t* t) {
  return nothrow_new(__func__, n, a, t);
}
PT_EXPORT void* _ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const nothrow_t* t) {
  return nothrow_new(__func__, n, a, t);
}

PT_EXPORT void _ZdlPv(void* p) { delete_impl(p); }
PT_EXPORT void _ZdaPv(void* p) { delete_impl(p); }
PT_EXPORT void _ZdlPvm(void* p, size_t n) { delete_impl(p); }
PT_EXPORT void _ZdaPvm(void* p, size_t n) { delete_impl(p); }
PT_EXPORT void _ZdlPvRKSt9nothrow_t(void* p, const nothrow_t* t) { delete_impl(p); }
PT_EXPORT void _ZdaPvRKSt9nothrow_t(void* p, const nothrow_t* t) { delete_impl(p); }
PT_EXPORT void _ZdlPvSt11align_val_t(void* p, size_t a) { delete_impl(p); }
PT_EXPORT void _ZdaPvSt11align_val_t(void* p, size_t a) { delete_impl(p); }
PT_EXPORT void _ZdlPvmSt11align_val_t(void* p, size_t n, size_t a) { delete_impl(p); }
PT_EXPORT void _ZdaPvmSt11align_val_t(void* p, size_t n, size_t a) { delete_impl(p); }
PT_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void* p, size_t a, const nothrow_t* t) { delete_impl(p); }
PT_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void* p, size_t a, const nothrow_t* t) { delete_impl(p); }
