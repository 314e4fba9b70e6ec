# gcc: the driver, cc1 (the compiler proper, a heavy malloc/obstack user), as and collect2/ld all
# run under the preload, since LD_PRELOAD travels in the environment to every child. A generated C
# file of 800 functions is compiled at -O2 with warnings on (some are provoked on purpose, so the
# diagnostics are compared too), then run; the program itself allocates through malloc/realloc and
# proves in-process that it ran on ptmem. A small C++ file exercises cc1plus and operator new.
set -euo pipefail
N=800
awk -v n="$N" 'BEGIN {
  print "#define _GNU_SOURCE"
  print "#include <dlfcn.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>"
  print "struct node { struct node* next; unsigned long v; char pad[]; };"
  for (i = 0; i < n; i++) {
    printf "static unsigned long f%d(unsigned long x) {\n", i
    if (i % 100 == 7) printf "  int unused%d;\n", i               # -Wunused-variable, on purpose
    printf "  unsigned long acc = %d;\n", i
    printf "  for (unsigned long k = 0; k < %d; k++) {\n", 3 + i % 11
    printf "    acc = acc * %d + (x ^ (k << %d));\n", 2 * i + 1, i % 13
    printf "    if ((acc & %d) == %d) acc += f%d_helper(k);\n", 255, i % 256, i
    printf "  }\n"
    if (i % 200 == 3) printf "  int cmp = (int)acc; if (cmp < sizeof(acc)) acc++;\n"   # -Wsign-compare
    printf "  switch (acc %% 4) { case 0: acc ^= %d; break; case 1: acc += x; break; default: acc -= %d; }\n", i * 3, i
    printf "  return acc;\n}\n"
  }
  printf "static unsigned long (*const table[%d])(unsigned long) = {\n", n
  for (i = 0; i < n; i++) printf "  f%d,\n", i
  print "};"
}' | awk '
  # the helpers are emitted before use: turn "f123_helper(k)" into a call of a small inline function
  /f[0-9]+_helper/ { sub(/f[0-9]+_helper\(k\)/, "helper(k)") } { print }
' > gen_body.c
{
  echo 'static inline unsigned long helper(unsigned long k) { return k * 2654435761u >> 7; }'
  cat gen_body.c
  cat <<'C'
static void probe(void) {
  /* In-process proof that this compiled program runs on ptmem. */
  FILE* m = fopen("/proc/self/maps", "r");
  char line[4096];
  int mapped = 0;
  while (m && fgets(line, sizeof line, m)) mapped |= strstr(line, "libptmem") != NULL;
  if (m) fclose(m);
  FILE* p = fopen(getenv("PTMEM_PROBE"), "a");
  fprintf(p, "gcc-compiled-program:/proc/self/maps %s\n", mapped ? "yes" : "no");
  fprintf(p, "gcc-compiled-program:dlsym(pt_pool_create) %s\n", dlsym(RTLD_DEFAULT, "pt_pool_create") ? "yes" : "no");
  fclose(p);
}
int main(void) {
  probe();
  unsigned long sum = 0;
  for (unsigned long r = 0; r < 40; r++)
    for (int i = 0; i < (int)(sizeof table / sizeof table[0]); i++) sum = sum * 31 + table[i](r + i);
  printf("functions: %lu\n", sum);
  /* linked lists of variable-size nodes, freed in a scrambled order */
  struct node* head = NULL;
  for (unsigned long i = 0; i < 200000; i++) {
    size_t extra = (i * 7919) % 600;
    struct node* nd = malloc(sizeof *nd + extra);
    memset(nd->pad, (int)(i & 0xff), extra);
    nd->v = i ^ extra;
    nd->next = head;
    head = nd;
  }
  unsigned long check = 0;
  for (struct node* nd = head; nd;) { struct node* nx = nd->next; check += nd->v; free(nd); nd = nx; }
  /* a growing buffer */
  size_t cap = 1, len = 0;
  char* buf = malloc(cap);
  for (unsigned long i = 0; i < 1000000; i++) {
    if (len + 24 > cap) buf = realloc(buf, cap *= 2);
    len += (size_t)sprintf(buf + len, "%lx,", i * i);
  }
  unsigned long h = 5381;
  for (size_t i = 0; i < len; i++) h = h * 33 + (unsigned char)buf[i];
  free(buf);
  printf("lists: %lu buffer: %zu %lu\n", check, len, h);
  return 0;
}
C
} > big.c
rm gen_body.c
echo "== compile big.c ($N functions, -O2)"
gcc -O2 -Wall -Wextra -o big big.c 2>&1 | sed -n '1,60p' || true
echo "== run"
./big
echo "== preprocess / syntax-only / assembler"
gcc -E big.c | wc -l
gcc -fsyntax-only -Wall -Wextra -Wno-unused-variable -Wno-sign-compare big.c
gcc -O0 -g -c big.c -o big.o && nm big.o | wc -l
echo "== link-time optimisation (lto-wrapper and lto1 processes, 2 partitions in parallel)"
for u in 0 1 2 3; do
  { for i in $(seq 0 59); do
      echo "int u${u}_f$i(int x) { return x * $((i + u)) + $i; }"
    done
    [ $u = 0 ] || continue
    echo '#include <stdio.h>'
    for v in 1 2 3; do for i in $(seq 0 59); do echo "int u${v}_f$i(int);"; done; done
    echo 'int main(void) { long t = 0;'
    for v in 1 2 3; do for i in $(seq 0 59); do echo "  t += u${v}_f$i($i);"; done; done
    echo '  printf("lto: %ld\n", t); return 0; }'
  } > lto$u.c
done
gcc -O2 -flto=2 -flto-partition=balanced --param=lto-partitions=4 -o lto lto0.c lto1.c lto2.c lto3.c
./lto
if command -v g++ >/dev/null; then
  cat > small.cpp <<'CPP'
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>
int main() {
  std::map<std::string, std::vector<int>> m;
  std::unordered_map<long, std::string> u;
  for (int i = 0; i < 200000; i++) {
    m["k" + std::to_string(i % 5000)].push_back(i);
    u[i * 7919L] = std::string(i % 50, 'a' + i % 26);
  }
  size_t total = 0;
  for (auto& kv : m) { std::sort(kv.second.rbegin(), kv.second.rend()); total += kv.second.front(); }
  for (auto& kv : u) total += kv.second.size();
  std::printf("c++: %zu %zu %zu\n", m.size(), u.size(), total);
}
CPP
  echo "== g++"
  g++ -O2 -Wall -o small small.cpp
  ./small
fi
