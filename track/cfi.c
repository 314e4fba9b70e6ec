/* cfi.c - the unwind rule of one code address, read from the .eh_frame of the object holding it
 * (x86-64). Only what a walk needs: how the CFA is found (rsp or rbp plus an offset), where the
 * return address and the caller's rbp are saved. Anything else at that address (a CFA or a saved
 * rbp given by a DWARF expression, a CFA on another register, a signal frame, no FDE at all) is
 * "unsupported", and the caller unwinds that stack with libunwind instead: this reader never
 * guesses. It runs once per distinct return address (unwind.c caches the result), reads only the
 * object's mapped read-only data, and never allocates. */
#define _GNU_SOURCE
#include "cfi.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };
enum { HOW_SAME, HOW_OFFSET, HOW_UNDEFINED, HOW_OTHER };

typedef struct rules_s {
  int cfa_reg; /* -1: an expression */
  int64_t cfa_off;
  uint8_t rbp_how, ra_how;
  int64_t rbp_off, ra_off;
} rules_t;

typedef struct cursor_s {
  const uint8_t *p, *end;
  bool bad;
} cursor_t;

static uint64_t uleb(cursor_t* c) {
  uint64_t v = 0;
  for (unsigned shift = 0; c->p < c->end; shift += 7) {
    uint8_t b = *c->p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  c->bad = true;
  return 0;
}

static int64_t sleb(cursor_t* c) {
  uint64_t v = 0;
  unsigned shift = 0;
  for (; c->p < c->end; shift += 7) {
    uint8_t b = *c->p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (shift + 7 < 64 && (b & 0x40)) v |= ~(uint64_t)0 << (shift + 7);
      return (int64_t)v;
    }
  }
  c->bad = true;
  return 0;
}

static uint64_t fixed(cursor_t* c, unsigned size) {
  if ((size_t)(c->end - c->p) < size) {
    c->bad = true;
    return 0;
  }
  uint64_t v = 0;
  memcpy(&v, c->p, size); /* little-endian */
  c->p += size;
  return v;
}

/* A pointer in DW_EH_PE encoding `enc` (absptr, [us]data{2,4,8}, uleb/sleb; pcrel; no indirect). */
static uintptr_t encoded(cursor_t* c, uint8_t enc) {
  if (enc == 0xff) return 0; /* DW_EH_PE_omit */
  const uint8_t* at = c->p;
  uint64_t v;
  switch (enc & 0x0f) {
    case 0x00: v = fixed(c, 8); break;
    case 0x01: v = uleb(c); break;
    case 0x02: v = fixed(c, 2); break;
    case 0x03: v = fixed(c, 4); break;
    case 0x04: v = fixed(c, 8); break;
    case 0x09: v = (uint64_t)sleb(c); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(c, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(c, 4); break;
    case 0x0c: v = fixed(c, 8); break;
    default: c->bad = true; return 0;
  }
  switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += (uintptr_t)at; break; /* pcrel */
    default: c->bad = true; return 0;    /* textrel, datarel, funcrel: not used in .eh_frame here */
  }
  if (enc & 0x80) c->bad = true; /* indirect */
  return (uintptr_t)v;
}

/* Runs call-frame instructions until the location passes `pc`. `initial` (the CIE's rules) serves
 * DW_CFA_restore. Returns false on anything this reader does not model for rbp, the RA or the CFA. */
static bool run(cursor_t* c, rules_t* r, const rules_t* initial, uintptr_t loc, uintptr_t pc, uint64_t code_align,
                int64_t data_align) {
  rules_t saved[8];
  unsigned depth = 0;
  while (c->p < c->end && !c->bad) {
    uint8_t op = *c->p++;
    uint64_t reg, delta = 0;
    int64_t off;
    switch (op >> 6) {
      case 1: delta = (op & 0x3f) * code_align; goto advance;
      case 2:
        reg = op & 0x3f;
        off = (int64_t)uleb(c) * data_align;
        goto set_offset;
      case 3:
        reg = op & 0x3f;
        goto restore;
      default: break;
    }
    switch (op) {
      case 0x00: break;                                               /* nop */
      case 0x02: delta = fixed(c, 1) * code_align; goto advance;      /* advance_loc1 */
      case 0x03: delta = fixed(c, 2) * code_align; goto advance;      /* advance_loc2 */
      case 0x04: delta = fixed(c, 4) * code_align; goto advance;      /* advance_loc4 */
      case 0x05: reg = uleb(c); off = (int64_t)uleb(c) * data_align; goto set_offset; /* offset_extended */
      case 0x11: reg = uleb(c); off = sleb(c) * data_align; goto set_offset;          /* offset_extended_sf */
      case 0x2f: reg = uleb(c); off = -(int64_t)uleb(c) * data_align; goto set_offset; /* GNU_negative_offset_ext */
      case 0x06: reg = uleb(c); goto restore;                         /* restore_extended */
      case 0x07:                                                      /* undefined */
      case 0x08:                                                      /* same_value */
        reg = uleb(c);
        if (reg == REG_RBP) r->rbp_how = op == 0x07 ? HOW_OTHER : HOW_SAME;
        if (reg == REG_RA) r->ra_how = op == 0x07 ? HOW_UNDEFINED : HOW_OTHER;
        break;
      case 0x09: /* register */
        reg = uleb(c);
        uleb(c);
        if (reg == REG_RBP) r->rbp_how = HOW_OTHER;
        if (reg == REG_RA) r->ra_how = HOW_OTHER;
        break;
      case 0x0a: /* remember_state */
        if (depth == sizeof saved / sizeof *saved) return false;
        saved[depth++] = *r;
        break;
      case 0x0b: /* restore_state: the CFA rule too (GCC's epilogues rely on it) */
        if (depth == 0) return false;
        *r = saved[--depth];
        break;
      case 0x0c: r->cfa_reg = (int)uleb(c); r->cfa_off = (int64_t)uleb(c); break;       /* def_cfa */
      case 0x12: r->cfa_reg = (int)uleb(c); r->cfa_off = sleb(c) * data_align; break;   /* def_cfa_sf */
      case 0x0d: r->cfa_reg = (int)uleb(c); break;                                    /* def_cfa_register */
      case 0x0e: r->cfa_off = (int64_t)uleb(c); break;                                /* def_cfa_offset */
      case 0x13: r->cfa_off = sleb(c) * data_align; break;                            /* def_cfa_offset_sf */
      case 0x0f: /* def_cfa_expression */
        r->cfa_reg = -1;
        c->p += uleb(c);
        break;
      case 0x10: /* expression */
      case 0x16: /* val_expression */
        reg = uleb(c);
        c->p += uleb(c);
        if (reg == REG_RBP) r->rbp_how = HOW_OTHER;
        if (reg == REG_RA) r->ra_how = HOW_OTHER;
        break;
      case 0x14: /* val_offset */
      case 0x15: /* val_offset_sf */
        reg = uleb(c);
        if (op == 0x14) uleb(c);
        else sleb(c);
        if (reg == REG_RBP) r->rbp_how = HOW_OTHER;
        if (reg == REG_RA) r->ra_how = HOW_OTHER;
        break;
      case 0x2e: uleb(c); break; /* GNU_args_size */
      default: return false;     /* set_loc and vendor operations */
    }
    continue;
  advance:
    loc += delta;
    if (loc > pc) return !c->bad;
    continue;
  set_offset:
    if (reg == REG_RBP) {
      r->rbp_how = HOW_OFFSET;
      r->rbp_off = off;
    } else if (reg == REG_RA) {
      r->ra_how = HOW_OFFSET;
      r->ra_off = off;
    }
    continue;
  restore:
    if (reg == REG_RBP) {
      r->rbp_how = initial->rbp_how;
      r->rbp_off = initial->rbp_off;
    } else if (reg == REG_RA) {
      r->ra_how = initial->ra_how;
      r->ra_off = initial->ra_off;
    }
  }
  return !c->bad;
}

#if defined(DLFO_EH_SEGMENT_TYPE) && DLFO_EH_SEGMENT_TYPE == PT_GNU_EH_FRAME
/* _dl_find_object (glibc 2.35) takes no lock. dl_iterate_phdr holds the loader's list lock while it
 * runs, and in a process forked while another thread held that lock (in a dlopen, a dlclose, its
 * own dl_iterate_phdr) the lock is held for ever: the child's first new rule, inside malloc,
 * waited for it. It is async-signal-safe too, for a rule a signal handler's malloc needs. */
static const uint8_t* eh_frame_hdr_of(uintptr_t pc) {
  struct dl_find_object found;
  return _dl_find_object((void*)pc, &found) == 0 ? found.dlfo_eh_frame : NULL;
}
#else
typedef struct find_s {
  uintptr_t pc;
  const uint8_t* hdr; /* .eh_frame_hdr of the object holding pc, or NULL */
} find_t;

static int find_object(struct dl_phdr_info* info, size_t size, void* arg) {
  (void)size;
  find_t* f = arg;
  const uint8_t* hdr = NULL;
  bool inside = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && f->pc >= lo && f->pc - lo < ph->p_memsz) inside = true;
    if (ph->p_type == PT_GNU_EH_FRAME) hdr = (const uint8_t*)lo;
  }
  if (!inside) return 0;
  f->hdr = hdr;
  return 1;
}

static const uint8_t* eh_frame_hdr_of(uintptr_t pc) {
  find_t f = {pc, NULL};
  dl_iterate_phdr(find_object, &f);
  return f.hdr;
}
#endif

/* The FDE covering pc, by binary search in .eh_frame_hdr's sorted table (the usual datarel sdata4
 * encoding only). */
static const uint8_t* find_fde(const uint8_t* hdr, uintptr_t pc) {
  if (hdr[0] != 1 || hdr[3] != 0x3b) return NULL;
  cursor_t c = {hdr + 4, hdr + 4 + 16, false};
  encoded(&c, hdr[1]); /* eh_frame_ptr */
  uint64_t count = hdr[2] == 0x03 ? fixed(&c, 4) : hdr[2] == 0x0b ? (uint64_t)(int64_t)(int32_t)fixed(&c, 4) : 0;
  if (c.bad || count == 0) return NULL;
  const int32_t* table = (const int32_t*)c.p;
  uint64_t lo = 0, hi = count; /* last entry whose initial location <= pc */
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)(hdr + table[2 * mid]) <= pc) lo = mid;
    else hi = mid;
  }
  if ((uintptr_t)(hdr + table[2 * lo]) > pc) return NULL;
  return hdr + table[2 * lo + 1];
}

/* One CIE or FDE record: its body [*body, *end) after the length field; false on 64-bit DWARF. */
static bool record(const uint8_t* at, const uint8_t** body, const uint8_t** end) {
  uint32_t len;
  memcpy(&len, at, 4);
  if (len == 0 || len == 0xffffffffu) return false;
  *body = at + 4;
  *end = at + 4 + len;
  return true;
}

bool pt_cfi_rule(uintptr_t pc, pt_cfi_rule_t* out) {
  const uint8_t* hdr = eh_frame_hdr_of(pc);
  const uint8_t* fde = hdr ? find_fde(hdr, pc) : NULL;
  const uint8_t *fde_body, *fde_end, *cie_body, *cie_end;
  if (!fde || !record(fde, &fde_body, &fde_end)) return false;
  uint32_t cie_delta;
  memcpy(&cie_delta, fde_body, 4);
  if (!record(fde_body - cie_delta, &cie_body, &cie_end)) return false;

  cursor_t c = {cie_body, cie_end, false};
  if (fixed(&c, 4) != 0) return false; /* CIE id */
  uint8_t version = (uint8_t)fixed(&c, 1);
  const char* aug = (const char*)c.p;
  size_t aug_len = strnlen(aug, (size_t)(c.end - c.p));
  c.p += aug_len + 1;
  uint64_t code_align = uleb(&c);
  int64_t data_align = sleb(&c);
  uint64_t ra_reg = version == 1 ? fixed(&c, 1) : uleb(&c);
  uint8_t fde_enc = 0;
  bool signal_frame = false;
  if (aug[0] == 'z') {
    uint64_t len = uleb(&c);
    const uint8_t* after = c.p + len;
    for (const char* a = aug + 1; *a && !c.bad; a++) {
      if (*a == 'R') fde_enc = (uint8_t)fixed(&c, 1);
      else if (*a == 'L') fixed(&c, 1);
      else if (*a == 'P') encoded(&c, (uint8_t)(fixed(&c, 1) & 0x0f)); /* the personality: skipped, so
        only its size matters (C++'s is pcrel|indirect, which encoded() would refuse) */
      else if (*a == 'S') signal_frame = true;
      else return false; /* anything unknown */
    }
    c.p = after;
  } else if (aug[0]) {
    return false;
  }
  if (c.bad || ra_reg != REG_RA) return false;
  cursor_t d = {fde_body + 4, fde_end, false};
  uintptr_t begin = encoded(&d, fde_enc);
  uintptr_t range = encoded(&d, fde_enc & 0x0f); /* a length: no pcrel */
  if (d.bad || pc < begin || pc - begin >= range) return false; /* find_fde: the last one starting below */
  if (signal_frame) { /* the kernel's signal frame (__restore_rt): the stack ends there, see cfi.h */
    *out = (pt_cfi_rule_t){.last = true};
    return true;
  }
  rules_t initial = {.cfa_reg = REG_RSP, .cfa_off = 8, .rbp_how = HOW_SAME, .ra_how = HOW_SAME};
  if (!run(&c, &initial, &initial, 0, UINTPTR_MAX, code_align, data_align)) return false;
  if (aug[0] == 'z') d.p += uleb(&d);
  rules_t r = initial;
  if (!run(&d, &r, &initial, begin, pc, code_align, data_align)) return false;

  if (r.cfa_reg != REG_RSP && r.cfa_reg != REG_RBP) return false;
  if (r.cfa_off < -PT_CFI_OFFSET_MAX || r.cfa_off > PT_CFI_OFFSET_MAX) return false;
  if (r.rbp_how != HOW_SAME && r.rbp_how != HOW_OFFSET) return false;
  if (r.ra_how != HOW_OFFSET && r.ra_how != HOW_UNDEFINED) return false;
  if ((r.rbp_how == HOW_OFFSET && (r.rbp_off < INT16_MIN || r.rbp_off > INT16_MAX)) ||
      (r.ra_how == HOW_OFFSET && (r.ra_off < INT16_MIN || r.ra_off > INT16_MAX)))
    return false;
  out->last = r.ra_how == HOW_UNDEFINED;
  out->cfa_rbp = r.cfa_reg == REG_RBP;
  out->cfa_offset = (int32_t)r.cfa_off;
  out->rbp_offset = r.rbp_how == HOW_OFFSET ? (int16_t)r.rbp_off : 0;
  out->ra_offset = r.ra_how == HOW_OFFSET ? (int16_t)r.ra_off : 0;
  return true;
}
