/* dlopen: dlopen()s the plugin (argv[1]), calls plugin_leak, dlclose()s it. Expected: definite
 * plugin_leak 1 333, attributed through the unloaded module's entry in the trace. */
#include <dlfcn.h>
#include <stdio.h>

#include "corpus.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s plugin.so\n", argv[0]);
    return 2;
  }
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  void (*fn)(void);
  void* sym = dlsym(h, "plugin_leak");
  if (!sym) {
    fprintf(stderr, "dlsym: %s\n", dlerror());
    return 1;
  }
  *(void**)&fn = sym; /* POSIX's idiom for object-to-function pointers */
  fn();
  if (dlclose(h) != 0) {
    fprintf(stderr, "dlclose: %s\n", dlerror());
    return 1;
  }
  clobber_stack();
  return 0;
}
