# bench-common.sh - what scripts/bench.sh and scripts/bench-track.sh share, so that both take the
# same options and measure the same programs. Source it, then call
#   bench_parse_args NAME USAGE_LINES "$@"   sets build (absolute), runs, quick, markdown (absolute),
#                                            only, timeout, keep; prints usage and exits 2 on errors
#   $BENCH_AWK_LIB                          awk functions median, row, sep for the reports
#   bench_write_inputs DIR QUICK             writes objs.py, db.sql, gen.c and hash.pl into DIR and
#                                            sets py_n, sql_n, gcc_fns, perl_n (QUICK 1: small sizes)

# NAME: the script's name for messages; USAGE_LINES: the sed range of its header that is the usage.
bench_parse_args() {
  local name=$1 usage_lines=$2
  shift 2
  build="" runs=5 quick=0 markdown="" only="" timeout="" keep=0
  bench_usage() {
    sed -n "${usage_lines}p" "$0" | sed 's/^# \{0,1\}//'
    exit 2
  }
  while [ $# -gt 0 ]; do
    case "$1" in
      --runs) runs=${2:?}; shift 2 ;;
      --runs=*) runs=${1#*=}; shift ;;
      --quick) quick=1; shift ;;
      --markdown) markdown=${2:?}; shift 2 ;;
      --markdown=*) markdown=${1#*=}; shift ;;
      --only) only=${2:?}; shift 2 ;;
      --only=*) only=${1#*=}; shift ;;
      --timeout) timeout=${2:?}; shift 2 ;;
      --timeout=*) timeout=${1#*=}; shift ;;
      --keep) keep=1; shift ;;
      -h | --help) bench_usage ;;
      -*) echo "$name: unknown option $1" >&2; bench_usage ;;
      *) [ -z "$build" ] || bench_usage; build=$1; shift ;;
    esac
  done
  [ -n "$build" ] || build=./build
  case "$runs" in '' | *[!0-9]* | 0) echo "$name: --runs needs a positive number" >&2; exit 2 ;; esac
  # Absolute paths: programs are run from a scratch directory.
  build=$(cd "$build" 2>/dev/null && pwd) || { echo "$name: no build directory '$build'" >&2; exit 2; }
  [ -z "$markdown" ] || markdown=$(realpath -m "$markdown")
}

# awk functions of both reports: the median of val[key, 1..cnt[key]], and table rows and separators
# as Markdown (fmt == "md") or as aligned text (first column w1 characters wide, the others wc).
BENCH_AWK_LIB='
  function median(key,   n, i, j, t, v) {
    n = cnt[key]
    for (i = 1; i <= n; i++) v[i] = val[key, i]
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function row(cells, n,   i, s) {
    if (fmt == "md") { s = "|"; for (i = 1; i <= n; i++) s = s " " cells[i] " |"; print s; return }
    s = sprintf("%-" w1 "s", cells[1]); for (i = 2; i <= n; i++) s = s sprintf(" %" wc "s", cells[i]); print s
  }
  function sep(n,   i, s) {
    if (fmt == "md") { s = "|---|"; for (i = 2; i <= n; i++) s = s "---:|"; print s }
    else { s = ""; for (i = 1; i <= w1 + (wc + 1) * (n - 1); i++) s = s "-"; print s }
  }
'

# (The body is not indented: it holds here-documents.)

bench_write_inputs() {
local work=$1 quick=$2 i
# Sizes give 1-2 s of CPU time per program under glibc on the reference machine (2-core Xeon VM).
if [ "$quick" = 1 ]; then py_n=60000 sql_n=15000 gcc_fns=20 perl_n=30000; else
  py_n=600000 sql_n=150000 gcc_fns=200 perl_n=300000; fi

# python3: a few million small objects (at the full size) - dict of tuples/str/list, a sort, a word count. CPython takes
# objects <= 512 B from its own pymalloc arenas, so a second variant forces PYTHONMALLOC=malloc,
# making every object a malloc call (how debug and some embedded builds run).
cat >"$work/objs.py" <<'EOF'
import sys
n = int(sys.argv[1])
d = {}
for i in range(n):
    d[i] = (str(i), i * 2.5, [i])
ordered = sorted(d.values(), key=lambda t: t[0])
total = sum(len(t[0]) for t in ordered)
del d, ordered
counts = {}
for i in range(n // 2):
    w = ("w%d" % (i % 5003)) * (i % 7 + 1)
    counts[w] = counts.get(w, 0) + 1
parts = [",".join(str(j) for j in range(i % 16)) for i in range(n // 4)]
print(total, len(counts), sum(map(len, parts)))
EOF

# sqlite3: an in-memory database - bulk insert, index build, group-by, sort, string functions. sqlite
# allocates its page cache and every statement's memory with malloc.
cat >"$work/db.sql" <<EOF
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, val REAL, grp INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $sql_n)
INSERT INTO t SELECT x, printf('name-%08d-%s', (x * 7919) % $sql_n, substr('abcdefghijklmnop', 1 + x % 16)),
       (x * 37 % 1000) / 7.0, x % 97 FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, val);
SELECT grp, count(*), round(sum(val), 3) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(DISTINCT name), max(length(name)) FROM t;
SELECT name FROM t ORDER BY val DESC, name LIMIT 3;
UPDATE t SET name = upper(name) || '-' || grp WHERE id % 3 = 0;
SELECT count(*) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.grp = b.grp + 1;
SELECT group_concat(name, ';') IS NOT NULL, length(group_concat(name)) FROM (SELECT name FROM t ORDER BY name LIMIT 20000);
DELETE FROM t WHERE grp < 50;
SELECT count(*), round(avg(val), 3) FROM t;
EOF

# gcc: compiles a generated translation unit of many functions at -O2 (gcc's own allocations are a mix
# of malloc, obstacks and its GC heap; a realistic allocator-sensitive compile). The functions are
# extern: static ones would all be inlined into all(), and compile time would grow superlinearly.
{
  echo '#include <string.h>'
  echo 'struct rec { int k; double v; char name[24]; struct rec *next; };'
  for ((i = 0; i < gcc_fns; i++)); do
    cat <<EOF
double f$i(struct rec *r, int n, const char *s) {
  double acc = $i.5;
  for (int i = 0; i < n; i++) {
    switch ((i + $i) % 5) {
      case 0: acc += r[i].v * $((i % 13 + 1)); break;
      case 1: acc -= (double)strlen(s + (i % 3)) / (r[i].k + 1); break;
      case 2: if (r[i].next && r[i].next->k > $((i % 7))) acc *= 1.0001; break;
      case 3: for (int j = 0; j < (i & 7); j++) acc += r[(i + j) % (n ? n : 1)].name[j & 15]; break;
      default: acc = acc > $i ? acc - r[i].k : acc + r[i].k;
    }
  }
  return acc;
}
EOF
  done
  echo 'double all(struct rec *r, int n, const char *s) { double t = 0;'
  for ((i = 0; i < gcc_fns; i++)); do echo "  t += f$i(r, n, s);"; done
  echo '  return t; }'
} >"$work/gen.c"

# perl: a big hash of arrays, sort, split/join, regex substitution - perl uses the system malloc.
cat >"$work/hash.pl" <<'EOF'
use strict; use warnings;
my $n = shift;
my %h;
$h{"key$_"} = [$_, "v" x ($_ % 20), { id => $_ }] for 1 .. $n;
my @k = sort keys %h;
my $s = 0;
$s += length($h{$_}[1]) + $h{$_}[2]{id} for @k;
my @w = map { join(",", split(//, $_)) } @k[0 .. $n / 4];
my $joined = join(" ", @w[0 .. 9999]);
(my $t = $joined) =~ s/(\d)/<$1>/g;
undef %h;
print "$s ", scalar(@w), " ", length($t), "\n";
EOF
}
