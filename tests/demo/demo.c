/* demo.c - the program scripts/demo.sh runs under ptmem: a small word counter with the memory
 * habits real programs have, so every section of the report has something to show:
 *   - a peak: the whole index is built, then dropped (the peak's sites);
 *   - temporary allocations: a scratch buffer per word, freed at once (hot and temporary sites);
 *   - a cache kept in a global until exit (reachable: not a leak);
 *   - a lost linked list (one definite head, indirect nodes) and a lost string (definite);
 *   - a forked child with a leak of its own (the report merges both processes).
 * Usage: demo [WORDS]   (default 200000) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct entry_s {
  struct entry_s* next;
  char* word;
  unsigned count;
} entry_t;

enum { BUCKETS = 4096 };
static char** cache; /* kept until exit on purpose: reported as reachable */

static unsigned hash(const char* s) {
  unsigned h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static char* make_word(unsigned n) {
  char* scratch = malloc(64); /* temporary: freed before the next allocation */
  char copy[64];
  snprintf(scratch, 64, "w%u", n % 5000);
  memcpy(copy, scratch, sizeof copy);
  free(scratch);
  return strdup(copy);
}

static entry_t** build_index(unsigned words) {
  entry_t** table = calloc(BUCKETS, sizeof *table);
  for (unsigned i = 0; i < words; i++) {
    char* w = make_word(i * 2654435761u);
    entry_t** slot = &table[hash(w) % BUCKETS];
    entry_t* e = *slot;
    while (e && strcmp(e->word, w) != 0) e = e->next;
    if (e) {
      e->count++;
      free(w);
      continue;
    }
    e = malloc(sizeof *e);
    *e = (entry_t){*slot, w, 1};
    *slot = e;
  }
  return table;
}

static void drop_index(entry_t** table) {
  for (unsigned b = 0; b < BUCKETS; b++)
    for (entry_t* e = table[b]; e;) {
      entry_t* next = e->next;
      free(e->word);
      free(e);
      e = next;
    }
  free(table);
}

static void fill_cache(void) {
  cache = calloc(16, sizeof *cache);
  for (int i = 0; i < 16; i++) cache[i] = strdup("cached value");
}

static void lose_list(unsigned n) { /* the head is lost; the nodes hang off it */
  entry_t* head = NULL;
  for (unsigned i = 0; i < n; i++) {
    entry_t* e = malloc(sizeof *e);
    *e = (entry_t){head, NULL, i};
    head = e;
  }
  head = NULL;
}

static void announce(unsigned words) { /* the message is never freed: a definite leak */
  char* message = NULL;
  if (asprintf(&message, "indexed %u words", words) < 0) return;
  printf("%s\n", message);
}

static void child_leak(void) { /* the child's own leak */
  char* buffer = malloc(4096);
  memset(buffer, 1, 4096);
}

int main(int argc, char** argv) {
  unsigned words = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
  fill_cache();
  entry_t** index = build_index(words);
  drop_index(index);
  lose_list(8);
  announce(words);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    child_leak();
    exit(0); /* not _exit: the trace is written by the exit handlers, as LeakSanitizer checks */
  }
  if (child > 0) waitpid(child, NULL, 0);
  return 0;
}
