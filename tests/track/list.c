/* list: a 5-node singly linked list built by build_list, whose head pointer is then lost.
 * Expected: the head is a definite leak, the 4 nodes it reaches are indirect (48 bytes each). */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

struct node {
  struct node* next;
  char payload[40];
}; /* 48 bytes on LP64 */

__attribute__((noinline)) struct node* build_list(int n) {
  struct node* head = NULL;
  for (int i = 0; i < n; i++) { /* one call site: every node has the same stack */
    struct node* nd = malloc(sizeof *nd);
    memset(nd->payload, 'a' + i, sizeof nd->payload);
    nd->next = head;
    head = nd;
  }
  return head;
}

__attribute__((noinline)) void lose_list(void) {
  struct node* head = build_list(5);
  touch(head->payload, sizeof head->payload);
  head = NULL; /* the only pointer to the list is gone */
}

int main(void) {
  lose_list();
  clobber_stack();
  return 0;
}
