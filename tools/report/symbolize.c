/* symbolize.c - see symbolize.h.
 * Each distinct module file (path + recorded build-id) gets its own Dwfl with the file reported at
 * bias 0, so the trace's offsets are ELF virtual addresses and modules never overlap. Frames are
 * return addresses, so offset - 1 is looked up: the call instruction, not the one after it.
 * Function names come from the ELF symbol table (symbolize_elf.c); lines and inlined frames come
 * from symbolize_dwarf.c, and the physical frame keeps the ELF symbol's name (it also
 * names clones such as "f() [clone .cold]"). Names are demangled with libstdc++'s demangler.
 * Strings, frames and results live in an arena, strings interned; results are cached per
 * (module, offset) in an open-addressing table. */
#include "symbolize.h"

#include <ctype.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolize_dwarf.h"
#include "symbolize_elf.h"
#include "symbolize_find.h"

/* libstdc++'s demangler (linked into ptmem_report_core); C has no header for it. */
char* __cxa_demangle(const char* mangled, char* out, size_t* length, int* status);

typedef struct rp_symmod_s {
  uint32_t index; /* in rp_symbolizer_t.mods */
  char* path;
  char* build_id;
  /* Opening is in two steps, each on first need: the ELF file and its build-id (for status and
   * notes), then the debug info (the first address looked up in it). Most modules of a trace are
   * never looked up: only the stacks a report prints are symbolized. */
  bool opened, loaded;
  rp_symstatus_t status;
  Dwfl* dwfl; /* NULL unless status is RP_SYM_OK or RP_SYM_NO_DEBUG_INFO */
  Dwfl_Module* mod;
  rp_dwarf_t* dwarf;  /* with RP_SYM_OK */
  rp_elfsyms_t* syms; /* with RP_SYM_OK or RP_SYM_NO_DEBUG_INFO */
} rp_symmod_t;

/* A cached result with its key. */
typedef struct rp_locrec_s {
  uint32_t mod; /* index in mods, or NO_MODULE */
  rp_location_t loc;
} rp_locrec_t;

typedef struct rp_string_s {
  bool demangled; /* value is key demangled (function names), else value == key */
  const char *key, *value;
} rp_string_t;

typedef struct rp_slot_s {
  uint64_t hash;
  void* value; /* NULL: empty */
} rp_slot_t;
typedef struct rp_table_s {
  rp_slot_t* slots;
  size_t n, cap;
} rp_table_t;

enum { ARENA_BLOCK = 64 * 1024 };
typedef struct rp_block_s {
  struct rp_block_s* next;
  size_t used, size;
  max_align_t data[];
} rp_block_t;

struct rp_symbolizer_s {
  char* debuginfo_path; /* Dwfl_Callbacks keep a pointer to this pointer */
  Dwfl_Callbacks callbacks;
  RP_VEC(rp_symmod_t*) mods;
  rp_table_t mod_index; /* rp_symmod_t* by path and build-id */
  rp_table_t locations; /* rp_locrec_t* by (mod, offset) */
  rp_table_t strings;   /* rp_string_t* by (demangled, key) */
  rp_block_t* arena;
  RP_VEC(rp_symframe_t) scratch; /* frames of the address being symbolized */
};

#define NO_MODULE UINT32_MAX

/* ---- storage: arena, hash tables, interned strings --------------------------------------------- */

static void* arena_alloc(rp_symbolizer_t* s, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  rp_block_t* b = s->arena;
  if (!b || b->size - b->used < n) {
    size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
    b = rp_xmalloc(sizeof *b + size);
    *b = (rp_block_t){.size = size};
    /* A big request gets its own block behind the current one, so the current one keeps filling. */
    if (size != ARENA_BLOCK && s->arena) {
      b->next = s->arena->next;
      s->arena->next = b;
    } else {
      b->next = s->arena;
      s->arena = b;
    }
  }
  void* p = (char*)b->data + b->used;
  b->used += n;
  return p;
}

/* The slot holding a value for which same(value, key) holds, or the empty slot where it goes. */
static rp_slot_t* table_find(rp_table_t* t, uint64_t hash, bool (*same)(const void*, const void*),
                             const void* key) {
  if (!t->cap) return NULL;
  for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    rp_slot_t* slot = &t->slots[i];
    if (!slot->value || (slot->hash == hash && same(slot->value, key))) return slot;
  }
}

static void table_insert(rp_table_t* t, uint64_t hash, void* value) {
  if ((t->n + 1) * 2 > t->cap) {
    rp_table_t grown = {rp_xcalloc(t->cap ? t->cap * 2 : 64, sizeof *t->slots), t->n,
                        t->cap ? t->cap * 2 : 64};
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->slots[i].value) continue;
      size_t j = t->slots[i].hash & (grown.cap - 1);
      while (grown.slots[j].value)
        j = (j + 1) & (grown.cap - 1);
      grown.slots[j] = t->slots[i];
    }
    free(t->slots);
    *t = grown;
  }
  size_t j = hash & (t->cap - 1);
  while (t->slots[j].value)
    j = (j + 1) & (t->cap - 1);
  t->slots[j] = (rp_slot_t){hash, value};
  t->n++;
}

static bool same_string(const void* value, const void* key) {
  const rp_string_t *a = value, *b = key;
  return a->demangled == b->demangled && strcmp(a->key, b->key) == 0;
}

static char* arena_strdup(rp_symbolizer_t* s, const char* text) {
  size_t n = strlen(text) + 1;
  return memcpy(arena_alloc(s, n), text, n);
}

/* The symbolizer's copy of `text`, demangled first if it is a function name. */
static const char* intern(rp_symbolizer_t* s, const char* text, bool function) {
  if (!text) return NULL;
  rp_string_t probe = {function, text, NULL};
  uint64_t hash = rp_hash_bytes(text, strlen(text), function);
  rp_slot_t* slot = table_find(&s->strings, hash, same_string, &probe);
  if (slot && slot->value) return ((rp_string_t*)slot->value)->value;
  rp_string_t* e = arena_alloc(s, sizeof *e);
  e->demangled = function;
  e->key = e->value = arena_strdup(s, text);
  if (function && text[0] == '_' && text[1] == 'Z') {
    int status = -1;
    char* plain = __cxa_demangle(text, NULL, NULL, &status);
    if (plain && status == 0) e->value = arena_strdup(s, plain);
    free(plain);
  }
  table_insert(&s->strings, hash, e);
  return e->value;
}

/* An ELF symbol's name without its version ("__libc_start_main@@GLIBC_2.34" in a separate debug
 * file's .symtab), which would also keep a C++ name from being demangled. */
static const char* intern_symbol(rp_symbolizer_t* s, const char* name) {
  const char* at = name ? strchr(name, '@') : NULL;
  if (!at || at == name) return intern(s, name, true);
  char* bare = rp_xstrndup(name, (size_t)(at - name));
  const char* interned = intern(s, bare, true);
  free(bare);
  return interned;
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

const char* rp_symstatus_text(rp_symstatus_t s) {
  switch (s) {
  case RP_SYM_OK:
    return "ok";
  case RP_SYM_NO_DEBUG_INFO:
    return "no debug info";
  case RP_SYM_FILE_MISSING:
    return "file missing";
  case RP_SYM_BUILD_ID_CHANGED:
    return "build-id changed";
  case RP_SYM_NO_MODULE:
    return "no module";
  }
  return "?";
}

/* libdw's search path: "-" (no CRC check: the build-id decides), ".debug" next to the file, the
 * system's directory, then the user's. libdw takes a relative entry as relative to the module's
 * directory; the user means the current one, so those are made absolute. */
static char* debuginfo_path(const char* debug_paths) {
  rp_str_t path = {0};
  rp_str_add(&path, "-:.debug:/usr/lib/debug");
  char* cwd = NULL;
  for (const char* p = debug_paths ? debug_paths : ""; *p;) {
    size_t n = strcspn(p, ":");
    if (n) {
      rp_str_add(&path, ":");
      if (*p != '/') {
        if (!cwd) cwd = getcwd(NULL, 0);
        if (cwd) rp_str_addf(&path, "%s/", cwd);
      }
      rp_str_addn(&path, p, n);
    }
    p += n + (p[n] == ':');
  }
  free(cwd);
  return path.s;
}

rp_symbolizer_t* rp_symbolizer_create(const char* debug_paths) {
  /* The network is not ours to use (Debian's libdebuginfod-common sets DEBUGINFOD_URLS in login
   * shells): rp_find_debuginfo never asks a server, and modules are reported by path, so
   * find_elf, which could, is never called. */
  rp_symbolizer_t* s = rp_xcalloc(1, sizeof *s);
  s->debuginfo_path = debuginfo_path(debug_paths);
  s->callbacks = (Dwfl_Callbacks){.find_elf = dwfl_build_id_find_elf,
                                  .find_debuginfo = rp_find_debuginfo,
                                  .section_address = dwfl_offline_section_address,
                                  .debuginfo_path = &s->debuginfo_path};
  return s;
}

void rp_symbolizer_destroy(rp_symbolizer_t* s) {
  if (!s) return;
  for (size_t i = 0; i < s->mods.n; i++) {
    rp_symmod_t* m = s->mods.v[i];
    rp_dwarf_destroy(m->dwarf);
    if (m->dwfl) dwfl_end(m->dwfl);
    rp_elfsyms_destroy(m->syms);
    free(m->path);
    free(m->build_id);
    free(m);
  }
  free(s->mods.v);
  free(s->mod_index.slots);
  free(s->locations.slots);
  free(s->strings.slots);
  for (rp_block_t *b = s->arena, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  free(s->scratch.v);
  free(s->debuginfo_path);
  free(s);
}

/* ---- modules ----------------------------------------------------------------------------------- */

static bool build_id_matches(Dwfl_Module* mod, const char* want) {
  const unsigned char* bits;
  GElf_Addr vaddr;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  if (len <= 0 || strlen(want) != (size_t)len * 2) return false;
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < len; i++)
    if (tolower((unsigned char)want[2 * i]) != hex[bits[i] >> 4] ||
        tolower((unsigned char)want[2 * i + 1]) != hex[bits[i] & 15])
      return false;
  return true;
}

/* The file and its build-id: status RP_SYM_OK unless the file is missing or another build.
 * Cheap: libdw reads the ELF headers, not the debug sections. */
static void open_module(rp_symbolizer_t* s, rp_symmod_t* m) {
  m->opened = true;
  m->status = RP_SYM_FILE_MISSING;
  /* Only regular files: a trace naming a FIFO or a device must not block or read forever. */
  struct stat st;
  if (stat(m->path, &st) != 0 || !S_ISREG(st.st_mode)) return;
  m->dwfl = dwfl_begin(&s->callbacks);
  if (!m->dwfl) rp_die("libdw: %s", dwfl_errmsg(-1));
  dwfl_report_begin(m->dwfl);
  m->mod = dwfl_report_elf(m->dwfl, rp_basename(m->path), m->path, -1, 0, false);
  dwfl_report_end(m->dwfl, NULL, NULL);
  if (m->mod) rp_find_debuginfo_set_path(m->mod, s->debuginfo_path);
  if (m->mod) m->status = *m->build_id && !build_id_matches(m->mod, m->build_id) ? RP_SYM_BUILD_ID_CHANGED : RP_SYM_OK;
  if (m->status != RP_SYM_OK) {
    dwfl_end(m->dwfl);
    m->dwfl = NULL;
    m->mod = NULL;
  }
}

/* Symbols and debug info, for the first address looked up in the module. Decompressing and
 * indexing them is most of what symbolizing costs (libc6-dbg's DWARF alone is 10 MB inflated). */
static void load_module(rp_symbolizer_t* s, rp_symmod_t* m) {
  if (!m->opened) open_module(s, m);
  if (m->loaded) return;
  m->loaded = true;
  if (!m->mod) return;
  Dwarf_Addr bias;
  if (!dwfl_module_getdwarf(m->mod, &bias)) m->status = RP_SYM_NO_DEBUG_INFO;
  m->syms = rp_elfsyms_create(m->mod);
  if (m->status == RP_SYM_OK) m->dwarf = rp_dwarf_create(m->mod);
}

typedef struct rp_modkey_s {
  const char *path, *build_id;
} rp_modkey_t;

static bool same_module(const void* value, const void* key) {
  const rp_symmod_t* m = value;
  const rp_modkey_t* k = key;
  return strcmp(m->path, k->path) == 0 && strcmp(m->build_id, k->build_id) == 0;
}

/* The index of the trace's module in s->mods (files are not opened here); NO_MODULE if the
 * trace has no such module. */
static uint32_t module_index(rp_symbolizer_t* s, const rp_trace_t* t, int32_t module) {
  if (module < 0 || (size_t)module >= t->modules.n) return NO_MODULE;
  const rp_module_t* tm = &t->modules.v[module];
  rp_modkey_t key = {tm->path ? tm->path : "", tm->build_id ? tm->build_id : ""};
  uint64_t hash = rp_hash_bytes(key.path, strlen(key.path) + 1, 0);
  hash = rp_hash_bytes(key.build_id, strlen(key.build_id), hash);
  rp_slot_t* slot = table_find(&s->mod_index, hash, same_module, &key);
  if (slot && slot->value) return ((rp_symmod_t*)slot->value)->index;
  rp_symmod_t* m = rp_xcalloc(1, sizeof *m);
  m->index = (uint32_t)s->mods.n;
  m->path = rp_xstrdup(key.path);
  m->build_id = rp_xstrdup(key.build_id);
  RP_PUSH(s->mods, m);
  table_insert(&s->mod_index, hash, m);
  return m->index;
}

/* ---- one address ------------------------------------------------------------------------------- */

static void add_frame(rp_symbolizer_t* s, const char* function, const char* file, uint32_t line,
                      bool inlined) {
  RP_PUSH(s->scratch, ((rp_symframe_t){function, file, function || file ? line : 0, inlined}));
}

static rp_locrec_t* locate(rp_symbolizer_t* s, uint32_t mod, uint64_t offset) {
  rp_locrec_t* r = arena_alloc(s, sizeof *r);
  r->mod = mod;
  r->loc = (rp_location_t){.module = "", .offset = offset, .status = RP_SYM_NO_MODULE};
  if (mod == NO_MODULE) return r;
  rp_symmod_t* m = s->mods.v[mod];
  load_module(s, m);
  r->loc.module = m->path;
  r->loc.status = m->status;
  if (!m->mod) return r;
  /* A return address follows its call: one byte back is inside the call instruction, so the
   * line and the inline scopes are the call's even when the call ends a function or a block. */
  uint64_t pc = offset ? offset - 1 : 0;
  const char* symbol = intern_symbol(s, rp_elfsyms_function(m->syms, pc));
  const rp_rawframe_t* raw;
  unsigned n = m->dwarf ? rp_dwarf_frames(m->dwarf, pc, !symbol, &raw) : 0;
  s->scratch.n = 0;
  for (unsigned i = 0; i < n; i++) {
    const char* function = raw[i].inlined || !symbol ? intern(s, raw[i].function, true) : symbol;
    add_frame(s, function, intern(s, raw[i].file, false), raw[i].line, raw[i].inlined);
  }
  if (!n && symbol) add_frame(s, symbol, NULL, 0, false);
  if (s->scratch.n) {
    rp_symframe_t* frames = arena_alloc(s, s->scratch.n * sizeof *frames);
    memcpy(frames, s->scratch.v, s->scratch.n * sizeof *frames);
    r->loc.frames = frames;
    r->loc.nframes = (uint32_t)s->scratch.n;
  }
  return r;
}

static bool same_location(const void* value, const void* key) {
  const rp_locrec_t *a = value, *b = key;
  return a->mod == b->mod && a->loc.offset == b->loc.offset;
}

/* ---- the interface ----------------------------------------------------------------------------- */

const rp_location_t* rp_symbolize(rp_symbolizer_t* s, const rp_trace_t* t, uint32_t node) {
  rp_locrec_t key = {NO_MODULE, {.offset = 0}};
  if (node < t->nodes.n) {
    key.mod = module_index(s, t, t->nodes.v[node].module);
    key.loc.offset = t->nodes.v[node].offset;
  }
  uint64_t hash = rp_hash_bytes(&key.loc.offset, sizeof key.loc.offset, key.mod);
  rp_slot_t* slot = table_find(&s->locations, hash, same_location, &key);
  if (slot && slot->value) return &((rp_locrec_t*)slot->value)->loc;
  rp_locrec_t* r = locate(s, key.mod, key.loc.offset);
  table_insert(&s->locations, hash, r);
  return &r->loc;
}

rp_symstatus_t rp_symbolize_module_status(rp_symbolizer_t* s, const rp_trace_t* t, int32_t module) {
  uint32_t mod = module_index(s, t, module);
  if (mod == NO_MODULE) return RP_SYM_NO_MODULE;
  if (!s->mods.v[mod]->opened) open_module(s, s->mods.v[mod]);
  return s->mods.v[mod]->status;
}

uint32_t rp_symbolize_module_id(rp_symbolizer_t* s, const rp_trace_t* t, int32_t module) {
  return module_index(s, t, module);
}

const char* rp_symbolize_module_path(const rp_symbolizer_t* s, uint32_t id) {
  return id < s->mods.n ? s->mods.v[id]->path : "";
}
