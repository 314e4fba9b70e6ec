/* fork: the parent forks; the child leaks 777 bytes from leak_in_child and returns through exit(0)
 * (not _exit) so that destructors run and the child writes its own trace (its pid in the name).
 * The parent leaks nothing: its trace must have no definite or indirect leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corpus.h"

__attribute__((noinline)) void leak_in_child(void) {
  char* p = malloc(777);
  memset(p, 'c', 777);
  p = NULL;
}

int main(void) {
  fflush(NULL); /* nothing buffered may be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    leak_in_child();
    clobber_stack();
    exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "child failed (status %d)\n", st);
    return 1;
  }
  /* The parent frees what it allocates (nothing here) and leaks nothing. */
  void* p = malloc(64);
  free(p);
  clobber_stack();
  return 0;
}
