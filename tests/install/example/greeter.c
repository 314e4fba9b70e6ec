/* greeter - the example program of tests/install/example: greets every name on its command line,
 * building each greeting in a block of a ptmem pool (so the example links ptmem::pools).
 * --clean frees everything. --leak also keeps copies of the greetings in remember_greeting and
 * loses them: the deliberate leak that ptmem_add_leak_test must catch. Many copies are lost, so
 * that a stale pointer left on the stack (which makes a block look reachable) cannot hide them all. */
#include <ptmem/pools.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GREETING_SIZE = 64, COPIES_LOST = 32 };

__attribute__((noinline)) void remember_greeting(const char* greeting) {
  for (int i = 0; i < COPIES_LOST; i++) {
    char* copy = malloc(strlen(greeting) + 1);
    if (!copy) return;
    strcpy(copy, greeting);
    copy = NULL; /* the only pointer to the copy is gone */
  }
}

int main(int argc, char** argv) {
  bool leak = argc >= 2 && strcmp(argv[1], "--leak") == 0;
  if (argc < 2 || (!leak && strcmp(argv[1], "--clean") != 0)) {
    fprintf(stderr, "usage: greeter --clean|--leak NAME...\n");
    return 2;
  }
  pt_pool_t* pool = pt_pool_create(GREETING_SIZE, 0, "greetings");
  if (!pool) {
    perror("greeter: pt_pool_create");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char* greeting = pt_pool_alloc(pool);
    if (!greeting) {
      perror("greeter: pt_pool_alloc");
      return 1;
    }
    snprintf(greeting, GREETING_SIZE, "hello, %s", argv[i]);
    puts(greeting);
    if (leak) remember_greeting(greeting);
    pt_pool_free(pool, greeting);
  }
  pt_pool_destroy(pool);
  return 0;
}
