/* dlopen_plugin: the plugin of the dlopen corpus program; plugin_leak leaks 333 bytes. The plugin is
 * unloaded before the program exits, so the trace must keep its module entry to name the function. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline, visibility("default"))) void plugin_leak(void) {
  char* p = malloc(333);
  memset(p, 'p', 333);
  p = NULL;
}
