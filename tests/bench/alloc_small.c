/* alloc_small - the single-threaded fast path: tight malloc/free of small objects the way pointer-
 * heavy programs do it. Each round builds a singly linked list of LIST_NODES nodes (16..64 B), sums
 * and frees it, then builds an unbalanced binary search tree of TREE_NODES nodes with random keys,
 * walks it in order, and tears it down. Lists free in allocation order, trees in a scattered order, so
 * both the LIFO-friendly and the random-free paths are measured.
 *
 * usage: alloc_small [threads=1] [scale=1]   (threads > 1 runs independent copies) */
#include "bench.h"

enum { LIST_NODES = 1000000, TREE_NODES = 250000, ROUNDS = 3 };

typedef struct lnode {
  struct lnode *next;
  uint64_t val;
  /* followed by 0..48 bytes of payload, like a variable-size record */
} lnode;

typedef struct tnode {
  struct tnode *left, *right;
  uint64_t key;
  uint64_t payload[3]; /* 48 B total: a typical map node */
} tnode;

static uint64_t list_round(bench_rng *rng, long n) {
  lnode *head = NULL, **tail = &head;
  for (long i = 0; i < n; i++) { /* append at the tail: frees will come in allocation order */
    lnode *x = bench_malloc(sizeof(lnode) + bench_range(rng, 0, 48));
    x->val = bench_rand(rng);
    x->next = NULL;
    *tail = x;
    tail = &x->next;
  }
  uint64_t sum = 0;
  while (head) {
    lnode *next = head->next;
    sum += head->val;
    free(head);
    head = next;
  }
  return sum;
}

static uint64_t tree_sum_free(tnode *t, uint64_t *prev_key) {
  uint64_t sum = 0;
  /* Iterative in-order walk with a manual stack: random-key trees are ~50 deep, but worst-case depth
   * must not depend on luck. Frees each node right after visiting its left subtree. */
  tnode *stack[256];
  int sp = 0;
  while (t || sp) {
    while (t) {
      if (sp == 256) BENCH_FAIL("tree too deep");
      stack[sp++] = t;
      t = t->left;
    }
    t = stack[--sp];
    if (t->key < *prev_key) BENCH_FAIL("tree order broken");
    *prev_key = t->key;
    sum += t->key ^ t->payload[1];
    tnode *right = t->right;
    free(t);
    t = right;
  }
  return sum;
}

static uint64_t tree_round(bench_rng *rng, long n) {
  tnode *root = NULL;
  for (long i = 0; i < n; i++) {
    tnode *x = bench_malloc(sizeof *x);
    x->left = x->right = NULL;
    x->key = bench_rand(rng);
    x->payload[0] = x->payload[2] = 0;
    x->payload[1] = x->key * 3;
    tnode **at = &root;
    while (*at) at = x->key < (*at)->key ? &(*at)->left : &(*at)->right;
    *at = x;
  }
  uint64_t prev = 0;
  return tree_sum_free(root, &prev);
}

typedef struct {
  int id;
  long list_nodes, tree_nodes;
  uint64_t sum;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  bench_rng rng = {0x5a11ull + (uint64_t)w->id * 104729};
  uint64_t sum = 0;
  for (int r = 0; r < ROUNDS; r++) {
    sum += list_round(&rng, w->list_nodes);
    sum += tree_round(&rng, w->tree_nodes);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  worker *w = calloc((size_t)a.threads, sizeof *w);
  long ln = bench_scaled(LIST_NODES, a.scale), tn = bench_scaled(TREE_NODES, a.scale);
  for (int i = 0; i < a.threads; i++) w[i] = (worker){.id = i, .list_nodes = ln, .tree_nodes = tn};
  double secs = bench_run_workers(a.threads, w, sizeof *w, work);
  uint64_t sum = 0;
  for (int i = 0; i < a.threads; i++) sum += w[i].sum;
  free(w);
  bench_report("alloc_small", a, sum, secs, (double)(ln + tn) * ROUNDS * a.threads);
  return 0;
}
