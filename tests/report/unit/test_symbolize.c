/* test_symbolize.c - the offline symbolizer on symbolize_prog (C++, -O2 -g): demangled names,
 * source lines and the inline chain of the program's real call sites, and what a trace gets when
 * the file is rebuilt, missing, stripped of its debug info (with and without a separate debug file
 * in a user debug path) or when an address is in no module. The program prints its build-id and
 * the module-relative return addresses of its call sites; the expected lines are its "@site"
 * markers. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <gelf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_check.h"
#include "symbolize.h"

enum { SITE_MAIN, SITE_GRAB, SITE_PLAIN, SITE_TAKE, SITES };
static const char* const site_names[SITES] = {"main", "grab", "plain", "take"};
static uint64_t site_offset[SITES];
static char build_id[128];

/* Runs the program: its build-id and the offset of every site. */
static void run_program(void) {
  FILE* out = popen(SYMBOLIZE_PROG, "r");
  CHECK(out != NULL);
  char word[64], value[128];
  while (fscanf(out, "%63s %127s", word, value) == 2) {
    if (strcmp(word, "build-id") == 0) snprintf(build_id, sizeof build_id, "%s", value);
    for (int i = 0; i < SITES; i++)
      if (strcmp(word, site_names[i]) == 0) site_offset[i] = strtoull(value, NULL, 16);
  }
  CHECK_EQ(pclose(out), 0);
  CHECK_UEQ(strlen(build_id), 40);
  for (int i = 0; i < SITES; i++)
    CHECK(site_offset[i] != 0);
}

/* The line of the source marked "@marker" (followed by a blank, so "@main" is not "@make..."). */
static uint32_t marked_line(const char* marker) {
  FILE* f = fopen(SYMBOLIZE_PROG_SOURCE, "r");
  CHECK(f != NULL);
  char text[512], want[64];
  snprintf(want, sizeof want, "@%s\n", marker);
  uint32_t line = 0, found = 0;
  while (fgets(text, sizeof text, f)) {
    line++;
    if (strstr(text, want)) found = line;
  }
  fclose(f);
  CHECK(found != 0);
  return found;
}

/* A trace with one module (`path`, `id`) and a node per site, node i + 1 for site i. */
static rp_trace_t make_trace(const char* path, const char* id) {
  rp_trace_t t = {0};
  RP_PUSH(t.modules, ((rp_module_t){.path = rp_xstrdup(path), .build_id = rp_xstrdup(id)}));
  RP_PUSH(t.nodes, ((rp_node_t){0, -1, 0}));
  for (int i = 0; i < SITES; i++)
    RP_PUSH(t.nodes, ((rp_node_t){0, 0, site_offset[i]}));
  return t;
}

static void check_frame(const rp_symframe_t* f, const char* function, const char* marker, bool inlined) {
  CHECK_STR(f->function, function);
  CHECK(f->file != NULL);
  CHECK_STR(rp_basename(f->file), "symbolize_prog.cpp");
  CHECK_UEQ(f->line, marked_line(marker));
  CHECK_EQ(f->inlined, inlined);
}

/* Everything a -g build gives: the full inline chain, innermost first, and C and C++ names. */
static void check_full_debug_info(rp_symbolizer_t* s, const rp_trace_t* t) {
  CHECK_EQ(rp_symbolize_module_status(s, t, 0), RP_SYM_OK);
  const rp_location_t* grab = rp_symbolize(s, t, 1 + SITE_GRAB);
  CHECK_EQ(grab->status, RP_SYM_OK);
  CHECK_STR(grab->module, t->modules.v[0].path);
  CHECK_UEQ(grab->offset, site_offset[SITE_GRAB]);
  CHECK_UEQ(grab->nframes, 3);
  /* Functions with internal linkage have no linkage name in the debug info to demangle. */
  check_frame(&grab->frames[0], "demo::grab", "grab", true);
  check_frame(&grab->frames[1], "demo::fill", "fill", true);
  check_frame(&grab->frames[2], "demo::make_buffer(unsigned long)", "make_buffer", false);

  /* A method has a linkage name: demangled, with its class and parameters. */
  const rp_location_t* take = rp_symbolize(s, t, 1 + SITE_TAKE);
  CHECK_UEQ(take->nframes, 2);
  check_frame(&take->frames[0], "demo::Pool::take(unsigned long)", "take", true);
  check_frame(&take->frames[1], "demo::from_pool(unsigned long)", "from_pool", false);

  const rp_location_t* plain = rp_symbolize(s, t, 1 + SITE_PLAIN);
  CHECK_UEQ(plain->nframes, 1);
  check_frame(&plain->frames[0], "plain_c_alloc", "plain", false);

  const rp_location_t* in_main = rp_symbolize(s, t, 1 + SITE_MAIN);
  CHECK_UEQ(in_main->nframes, 1);
  check_frame(&in_main->frames[0], "main", "main", false);
}

static void test_program_with_debug_info(void) {
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG, build_id);
  check_full_debug_info(s, &t);
  /* A result is computed once and stays valid: the same node gives the same location. */
  CHECK_PTR_EQ(rp_symbolize(s, &t, 1 + SITE_GRAB), rp_symbolize(s, &t, 1 + SITE_GRAB));

  /* A second trace of the same build (another process) shares the module and its results. */
  rp_trace_t again = make_trace(SYMBOLIZE_PROG, build_id);
  CHECK_PTR_EQ(rp_symbolize(s, &again, 1 + SITE_PLAIN), rp_symbolize(s, &t, 1 + SITE_PLAIN));
  rp_trace_free(&again);
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
}

/* An object without a build-id cannot be checked, and is symbolized all the same. */
static void test_no_recorded_build_id(void) {
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG, "");
  check_full_debug_info(s, &t);
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
}

static void check_nothing_known(rp_symbolizer_t* s, const rp_trace_t* t, rp_symstatus_t want) {
  CHECK_EQ(rp_symbolize_module_status(s, t, 0), want);
  for (uint32_t node = 1; node <= SITES; node++) {
    const rp_location_t* loc = rp_symbolize(s, t, node);
    CHECK_EQ(loc->status, want);
    CHECK_UEQ(loc->nframes, 0);
    CHECK_STR(loc->module, t->modules.v[0].path);
    CHECK_UEQ(loc->offset, site_offset[node - 1]);
  }
}

/* A rebuilt binary gives no names at all rather than the new build's (wrong) ones. */
static void test_build_id_changed(void) {
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG, "00112233445566778899aabbccddeeff00112233");
  check_nothing_known(s, &t, RP_SYM_BUILD_ID_CHANGED);
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
}

static void test_file_missing_or_not_elf(void) {
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  char* missing = rp_xprintf("%s/no-such-program", test_tmpdir());
  rp_trace_t t = make_trace(missing, build_id);
  check_nothing_known(s, &t, RP_SYM_FILE_MISSING);
  rp_trace_free(&t);
  free(missing);

  t = make_trace(SYMBOLIZE_PROG_SOURCE, build_id);
  check_nothing_known(s, &t, RP_SYM_FILE_MISSING);
  rp_trace_free(&t);

  /* Not a regular file: opening a FIFO would wait for a writer forever. */
  char* fifo = rp_xprintf("%s/fifo", test_tmpdir());
  CHECK_EQ(mkfifo(fifo, 0600), 0);
  t = make_trace(fifo, build_id);
  check_nothing_known(s, &t, RP_SYM_FILE_MISSING);
  rp_trace_free(&t);
  free(fifo);
  rp_symbolizer_destroy(s);
}

/* A listening socket on the loopback; its port in *port. */
static int listen_on_loopback(unsigned* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  CHECK_EQ(bind(fd, (struct sockaddr*)&addr, sizeof addr), 0);
  CHECK_EQ(listen(fd, 8), 0);
  CHECK_EQ(getsockname(fd, (struct sockaddr*)&addr, &len), 0);
  *port = ntohs(addr.sin_port);
  CHECK_EQ(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  return fd;
}

/* objcopy --strip-debug keeps .symtab: function names, no file, no line, no inline frames. A file
 * without debug info is where libdw would ask a debuginfod server; the report never does, even
 * with DEBUGINFOD_URLS set (a CI job has no network, or a slow one). */
static void test_stripped_copy(void) {
  unsigned port;
  int server = listen_on_loopback(&port);
  char* url = rp_xprintf("http://127.0.0.1:%u", port);
  CHECK_EQ(setenv("DEBUGINFOD_URLS", url, 1), 0);
  CHECK_EQ(setenv("DEBUGINFOD_TIMEOUT", "2", 1), 0); /* should it be asked, fail soon */
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG ".nodebug", build_id);
  /* the status says what the file is; that it has no debug info shows once it is looked into */
  CHECK_EQ(rp_symbolize_module_status(s, &t, 0), RP_SYM_OK);
  const char* want[SITES] = {"main", "demo::make_buffer(unsigned long)", "plain_c_alloc",
                             "demo::from_pool(unsigned long)"};
  for (int i = 0; i < SITES; i++) {
    const rp_location_t* loc = rp_symbolize(s, &t, 1 + (uint32_t)i);
    CHECK_EQ(loc->status, RP_SYM_NO_DEBUG_INFO);
    CHECK_UEQ(loc->nframes, 1);
    CHECK_STR(loc->frames[0].function, want[i]);
    CHECK(loc->frames[0].file == NULL);
    CHECK_UEQ(loc->frames[0].line, 0);
    CHECK(!loc->frames[0].inlined);
  }
  CHECK_EQ(rp_symbolize_module_status(s, &t, 0), RP_SYM_NO_DEBUG_INFO);
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
  /* A connection would be waiting in the backlog. */
  CHECK_EQ(accept(server, NULL, NULL), -1);
  close(server);
  free(url);
}

/* The stripped copy's debug info, as a distribution ships it, under a user-given debug directory:
 * <dir>/.build-id/<first byte>/<rest>.debug. A relative directory is relative to the current one
 * (libdw alone would look next to the program). */
static void test_separate_debug_file(void) {
  char* dir = rp_xprintf("%s/debug/.build-id/%.2s", test_tmpdir(), build_id);
  char* mkdir_cmd = rp_xprintf("mkdir -p '%s'", dir);
  CHECK_EQ(system(mkdir_cmd), 0);
  char* link = rp_xprintf("%s/%s.debug", dir, build_id + 2);
  CHECK_EQ(symlink(SYMBOLIZE_PROG ".debug", link), 0);
  char* absolute = rp_xprintf("/nonexistent::%s/debug", test_tmpdir());
  char* cwd = getcwd(NULL, 0);
  CHECK(cwd != NULL);
  CHECK_EQ(chdir(test_tmpdir()), 0);
  const char* const debug_paths[] = {absolute, "debug", "./debug:"};
  for (int i = 0; i < 3; i++) {
    rp_symbolizer_t* s = rp_symbolizer_create(debug_paths[i]);
    rp_trace_t t = make_trace(SYMBOLIZE_PROG ".nodebug", build_id);
    check_full_debug_info(s, &t);
    rp_trace_free(&t);
    rp_symbolizer_destroy(s);
  }
  CHECK_EQ(chdir(cwd), 0);
  free(cwd);
  free(absolute);
  free(link);
  free(mkdir_cmd);
  free(dir);
}

/* A stripped file's .gnu_debuglink names its debug file, searched as libdw does: next to the file,
 * in its .debug subdirectory, under /usr/lib/debug and the user's trees mirroring its directory.
 * A file of that name from another build is not taken. */
static void test_debuglink(void) {
  struct {
    const char* setup; /* shell commands run in a fresh directory */
    rp_symstatus_t want;
  } cases[] = {
      {"cp '" SYMBOLIZE_PROG ".linked' prog && cp '" SYMBOLIZE_PROG ".debug' .", RP_SYM_OK},
      {"cp '" SYMBOLIZE_PROG ".linked' prog && mkdir .debug && cp '" SYMBOLIZE_PROG ".debug' .debug/", RP_SYM_OK},
      {"cp '" SYMBOLIZE_PROG ".linked' prog", RP_SYM_NO_DEBUG_INFO},
      /* a debug file of that name, but of another build */
      {"cp '" SYMBOLIZE_PROG ".linked' prog && cp '" SYMBOLIZE_PROG_OTHER ".debug' symbolize_prog.debug",
       RP_SYM_NO_DEBUG_INFO},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char* dir = rp_xprintf("%s/debuglink%zu", test_tmpdir(), i);
    char* cmd = rp_xprintf("mkdir -p '%s' && cd '%s' && %s", dir, dir, cases[i].setup);
    CHECK_EQ(system(cmd), 0);
    char* prog = rp_xprintf("%s/prog", dir);
    rp_symbolizer_t* s = rp_symbolizer_create(NULL);
    rp_trace_t t = make_trace(prog, build_id);
    if (cases[i].want == RP_SYM_OK) {
      check_full_debug_info(s, &t);
    } else {
      const rp_location_t* loc = rp_symbolize(s, &t, 1);
      CHECK_EQ(loc->status, cases[i].want);
      CHECK(loc->nframes == 1 && loc->frames[0].file == NULL); /* the ELF symbol, no line */
    }
    rp_trace_free(&t);
    rp_symbolizer_destroy(s);
    free(prog);
    free(cmd);
    free(dir);
  }
}

/* The program's ELF file through libelf, for what the test needs to know besides the symbolizer. */
typedef struct elf_file_s {
  int fd;
  Elf* elf;
} elf_file_t;

static elf_file_t elf_open(void) {
  CHECK(elf_version(EV_CURRENT) != EV_NONE);
  elf_file_t f = {open(SYMBOLIZE_PROG, O_RDONLY), NULL};
  CHECK(f.fd >= 0);
  f.elf = elf_begin(f.fd, ELF_C_READ, NULL);
  CHECK(f.elf != NULL);
  return f;
}

static void elf_close(elf_file_t f) {
  elf_end(f.elf);
  close(f.fd);
}

/* The address of a section of the program, 0 if it has none. */
static uint64_t section_address(const char* wanted) {
  elf_file_t f = elf_open();
  size_t names;
  CHECK_EQ(elf_getshdrstrndx(f.elf, &names), 0);
  uint64_t address = 0;
  for (Elf_Scn* scn = NULL; (scn = elf_nextscn(f.elf, scn));) {
    GElf_Shdr header;
    CHECK(gelf_getshdr(scn, &header) != NULL);
    const char* name = elf_strptr(f.elf, names, header.sh_name);
    if (name && strcmp(name, wanted) == 0) address = header.sh_addr;
  }
  elf_close(f);
  return address;
}

/* The symbol table entry of a function of the program. */
static GElf_Sym function_symbol(const char* wanted) {
  elf_file_t f = elf_open();
  GElf_Sym found = {0};
  for (Elf_Scn* scn = NULL; (scn = elf_nextscn(f.elf, scn));) {
    GElf_Shdr header;
    CHECK(gelf_getshdr(scn, &header) != NULL);
    if (header.sh_type != SHT_SYMTAB || !header.sh_entsize) continue;
    Elf_Data* data = elf_getdata(scn, NULL);
    CHECK(data != NULL);
    for (size_t i = 0; i < header.sh_size / header.sh_entsize; i++) {
      GElf_Sym sym;
      CHECK(gelf_getsym(data, (int)i, &sym) != NULL);
      const char* name = elf_strptr(f.elf, header.sh_link, sym.st_name);
      if (name && strcmp(name, wanted) == 0) found = sym;
    }
  }
  elf_close(f);
  CHECK(found.st_value != 0);
  return found;
}

/* Code no function symbol covers (the PLT, after .init whose _init has no size) gets no name
 * rather than the name of the symbol before it. */
static void test_address_outside_functions(void) {
  uint64_t plt = section_address(".plt");
  CHECK(plt != 0);
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG, build_id);
  RP_PUSH(t.nodes, ((rp_node_t){0, 0, plt + 0x11}));
  const rp_location_t* loc = rp_symbolize(s, &t, (uint32_t)t.nodes.n - 1);
  CHECK_EQ(loc->status, RP_SYM_OK);
  CHECK_UEQ(loc->nframes, 0);
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
}

/* Code without debug info (crt1's _start, linked after main) in a file with debug info: its name,
 * and no line, where the line table of the unit before it would give one that is wrong. */
static void test_function_without_debug_info(void) {
  GElf_Sym start = function_symbol("_start");
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG, build_id);
  for (uint64_t offset = start.st_value + 1; offset <= start.st_value + start.st_size; offset++)
    RP_PUSH(t.nodes, ((rp_node_t){0, 0, offset}));
  for (uint32_t node = 1 + SITES; node < t.nodes.n; node++) {
    const rp_location_t* loc = rp_symbolize(s, &t, node);
    CHECK_UEQ(loc->nframes, 1);
    CHECK_STR(loc->frames[0].function, "_start");
    CHECK(loc->frames[0].file == NULL);
    CHECK_UEQ(loc->frames[0].line, 0);
  }
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
}

/* An address in no mapped object: the absolute address, nothing else. */
static void test_no_module(void) {
  rp_symbolizer_t* s = rp_symbolizer_create(NULL);
  rp_trace_t t = make_trace(SYMBOLIZE_PROG, build_id);
  RP_PUSH(t.nodes, ((rp_node_t){0, -1, 0x7f0012345678}));
  const rp_location_t* loc = rp_symbolize(s, &t, (uint32_t)t.nodes.n - 1);
  CHECK_EQ(loc->status, RP_SYM_NO_MODULE);
  CHECK_STR(loc->module, "");
  CHECK_UEQ(loc->offset, 0x7f0012345678);
  CHECK_UEQ(loc->nframes, 0);
  CHECK_EQ(rp_symbolize_module_status(s, &t, -1), RP_SYM_NO_MODULE);
  rp_trace_free(&t);
  rp_symbolizer_destroy(s);
}

/* The words the report's notes use. */
static void test_status_text(void) {
  CHECK_STR(rp_symstatus_text(RP_SYM_OK), "ok");
  CHECK_STR(rp_symstatus_text(RP_SYM_NO_DEBUG_INFO), "no debug info");
  CHECK_STR(rp_symstatus_text(RP_SYM_FILE_MISSING), "file missing");
  CHECK_STR(rp_symstatus_text(RP_SYM_BUILD_ID_CHANGED), "build-id changed");
  CHECK_STR(rp_symstatus_text(RP_SYM_NO_MODULE), "no module");
}

int main(void) {
  run_program();
  test_program_with_debug_info();
  test_no_recorded_build_id();
  test_build_id_changed();
  test_file_missing_or_not_elf();
  test_stripped_copy();
  test_separate_debug_file();
  test_debuglink();
  test_address_outside_functions();
  test_function_without_debug_info();
  test_no_module();
  test_status_text();
  test_remove_tmpdir();
  printf("test_symbolize: ok\n");
  return 0;
}
