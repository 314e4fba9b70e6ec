/* trace.c - see trace.h. Stacks are written as raw return addresses with the module table:
 * symbolizing is the report's job (the preload must not load libdw into the program). */
#define _GNU_SOURCE
#include "trace.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonl.h"
#include "timeline.h"
#include "modules.h"
#include "track.h"

static pt_jsonl_t writer; /* 64 KiB: static, so writing at exit allocates nothing */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t read_file(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t have = 0;
  ssize_t n;
  while (have < size && (n = read(fd, buf + have, size - have)) > 0) have += (size_t)n;
  close(fd);
  return have;
}

static void exe_path(char* out, size_t size) {
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  out[n > 0 ? n : 0] = 0;
}

bool pt_track_trace_path(const char* tmpl, char* out, size_t size) {
  char exe[512];
  exe_path(exe, sizeof exe);
  const char* base = strrchr(exe, '/');
  base = base ? base + 1 : exe;
  char pid[24];
  int n = 0;
  for (long v = (long)getpid(); v; v /= 10) pid[n++] = (char)('0' + v % 10);
  char pid_str[24];
  for (int i = 0; i < n; i++) pid_str[i] = pid[n - 1 - i];
  pid_str[n] = 0;
  size_t used = 0;
  for (const char* t = tmpl; *t; t++) {
    const char* piece = NULL;
    char one[2] = {*t, 0};
    if (*t == '%' && t[1] == 'p') piece = pid_str, t++;
    else if (*t == '%' && t[1] == 'e') piece = base, t++;
    else if (*t == '%' && t[1] == '%') piece = "%", t++;
    else piece = one;
    size_t len = strlen(piece);
    if (used + len >= size) return false;
    memcpy(out + used, piece, len);
    used += len;
  }
  out[used] = 0;
  return used > 0;
}

static void write_header(pt_jsonl_t* w, const pt_trace_info_t* info) {
  static char buf[8192];
  pt_jsonl_begin(w, "header");
  pt_jsonl_str(w, "format", PT_TRACE_FORMAT);
  pt_jsonl_u64(w, "version", PT_TRACE_VERSION);
  pt_jsonl_str(w, "source", info->source);
  pt_jsonl_u64(w, "pid", (uint64_t)getpid());
  pt_jsonl_u64(w, "ppid", (uint64_t)getppid());
  exe_path(buf, sizeof buf);
  pt_jsonl_str(w, "exe", buf);
  size_t n = read_file("/proc/self/cmdline", buf, sizeof buf - 1);
  buf[n] = 0;
  pt_jsonl_array_begin(w, "argv");
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1) pt_jsonl_item_str(w, buf + i);
  pt_jsonl_array_end(w);
  pt_jsonl_u64(w, "start_unix_ns", info->start_unix_ns);
  pt_jsonl_str(w, "unwinder", info->unwinder);
  pt_jsonl_u64(w, "depth", info->depth);
  pt_jsonl_u64(w, "sample_bytes", pt_track_sampling()); /* 0: every allocation is recorded */
  pt_jsonl_u64(w, "page_size", (uint64_t)sysconf(_SC_PAGESIZE));
  pt_jsonl_end(w);
}

static void write_modules(pt_jsonl_t* w, const pt_trace_info_t* info) {
  pt_track_modules_refresh();
  size_t n = pt_track_modules_count();
  for (size_t i = 0; i < n; i++) {
    const pt_module_t* m = pt_track_module(i);
    pt_jsonl_begin(w, "module");
    pt_jsonl_u64(w, "id", i);
    pt_jsonl_str(w, "path", m->path);
    pt_jsonl_hex(w, "base", m->base);
    pt_jsonl_str(w, "build_id", m->build_id);
    pt_jsonl_array_begin(w, "segments");
    for (uint32_t s = 0; s < m->nsegments; s++) {
      pt_jsonl_object_begin(w, NULL);
      pt_jsonl_hex(w, "vaddr", m->segments[s].vaddr);
      pt_jsonl_hex(w, "size", m->segments[s].memsz);
      char perms[4] = {(m->segments[s].flags & PF_R) ? 'r' : '-', (m->segments[s].flags & PF_W) ? 'w' : '-',
                       (m->segments[s].flags & PF_X) ? 'x' : '-', 0};
      pt_jsonl_str(w, "perms", perms);
      pt_jsonl_object_end(w);
    }
    pt_jsonl_array_end(w);
    pt_jsonl_u64(w, "loaded_ns", m->loaded_ns > info->start_mono_ns ? m->loaded_ns - info->start_mono_ns : 0);
    if (m->unloaded_ns) pt_jsonl_u64(w, "unloaded_ns", m->unloaded_ns - info->start_mono_ns);
    pt_jsonl_end(w);
  }
}

static void write_stack(pt_jsonl_t* w, uint32_t id) {
  const uintptr_t* frames;
  unsigned n = pt_track_stack_frames(id, &frames);
  pt_jsonl_begin(w, "stack");
  pt_jsonl_u64(w, "id", id);
  pt_jsonl_array_begin(w, "frames");
  /* A frame-pointer walk through code without frame pointers can read junk: the stack ends at the
   * first address that is in no module's code (return addresses point after the call: -1). */
  for (unsigned i = 0; i < n && pt_track_module_code_contains(frames[i] - 1); i++) pt_jsonl_item_hex(w, frames[i]);
  pt_jsonl_array_end(w);
  pt_jsonl_end(w);
}

bool pt_track_trace_write(const char* path, const pt_trace_info_t* info, const pt_leak_result_t* leaks, bool final) {
  pt_jsonl_t* w = &writer;
  char tmp[1300];
  size_t len = strlen(path);
  if (len + 16 > sizeof tmp) return false;
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp", 5);
  if (!pt_jsonl_open(w, tmp)) return false;
  write_header(w, info);
  write_modules(w, info);
  uint32_t count = pt_track_stack_count();
  for (uint32_t id = 1; id < count; id++) {
    pt_site_t site;
    pt_track_site(id, &site);
    bool leaked = leaks && leaks->sites && id < leaks->nsites &&
                  (leaks->sites[id].count[0] || leaks->sites[id].count[1] || leaks->sites[id].count[2]);
    if (!site.allocs && !site.frees && !leaked) continue;
    if (id >= 2) write_stack(w, id);
    pt_jsonl_begin(w, "site");
    pt_jsonl_u64(w, "stack", id);
    pt_jsonl_u64(w, "allocs", site.allocs);
    pt_jsonl_u64(w, "frees", site.frees);
    pt_jsonl_u64(w, "alloc_bytes", site.alloc_bytes);
    pt_jsonl_i64(w, "live_bytes", site.live_bytes);
    pt_jsonl_i64(w, "live_count", site.live_count);
    pt_jsonl_i64(w, "peak_bytes", site.peak_bytes);
    pt_jsonl_u64(w, "temporary", site.temporary);
    pt_jsonl_end(w);
    for (int kind = 0; leaked && kind < PT_LEAK_KINDS; kind++) {
      const pt_leak_site_t* ls = &leaks->sites[id];
      if (!ls->count[kind]) continue;
      pt_jsonl_begin(w, "leak");
      pt_jsonl_u64(w, "stack", id);
      pt_jsonl_str(w, "kind", pt_leak_kind_name(kind));
      pt_jsonl_u64(w, "count", ls->count[kind]);
      pt_jsonl_u64(w, "bytes", ls->bytes[kind]);
      pt_jsonl_array_begin(w, "examples");
      for (unsigned e = 0; e < ls->examples[kind]; e++) pt_jsonl_item_hex(w, ls->example[kind][e]);
      pt_jsonl_array_end(w);
      pt_jsonl_end(w);
    }
  }
  static pt_timeline_sample_t samples[16384];
  size_t ns = pt_track_timeline_read(samples, sizeof samples / sizeof samples[0]);
  for (size_t i = 0; i < ns; i++) {
    pt_jsonl_begin(w, "timeline");
    pt_jsonl_u64(w, "t_ns", samples[i].t_ns > info->start_mono_ns ? samples[i].t_ns - info->start_mono_ns : 0);
    pt_jsonl_i64(w, "heap_bytes", samples[i].heap_bytes);
    pt_jsonl_u64(w, "rss_bytes", samples[i].rss_bytes);
    pt_jsonl_end(w);
  }
  pt_track_totals_t t;
  pt_track_totals(&t);
  uint64_t now = mono_ns();
  pt_jsonl_begin(w, "summary");
  pt_jsonl_u64(w, "duration_ns", now - info->start_mono_ns);
  pt_jsonl_u64(w, "allocs", t.allocs);
  pt_jsonl_u64(w, "frees", t.frees);
  pt_jsonl_i64(w, "live_bytes", t.live_bytes);
  pt_jsonl_i64(w, "peak_bytes", t.peak_bytes);
  pt_jsonl_u64(w, "peak_time_ns", t.peak_time_ns > info->start_mono_ns ? t.peak_time_ns - info->start_mono_ns : 0);
  pt_jsonl_u64(w, "stacks", count > 2 ? count - 2 : 0);
  pt_jsonl_bool(w, "leak_scan", leaks != NULL);
  pt_jsonl_bool(w, "approximate", pt_track_sampling() != 0); /* sampled: counts are estimates */
  if (leaks) {
    pt_jsonl_bool(w, "leak_scan_complete", leaks->complete);
    for (int kind = 0; kind < PT_LEAK_KINDS; kind++) {
      pt_jsonl_object_begin(w, pt_leak_kind_name(kind));
      pt_jsonl_u64(w, "count", leaks->count[kind]);
      pt_jsonl_u64(w, "bytes", leaks->bytes[kind]);
      pt_jsonl_object_end(w);
    }
  }
  pt_jsonl_u64(w, "dropped_lines", w->dropped);
  pt_jsonl_bool(w, "final", final);
  pt_jsonl_end(w);
  pt_jsonl_close(w);
  if (w->failed) {
    unlink(tmp);
    return false;
  }
  return rename(tmp, path) == 0;
}
