#!/usr/bin/env bash
# bench.sh - compares ptmem with glibc malloc, jemalloc, mimalloc and tcmalloc-minimal on the
# workloads of tests/bench and on real programs (python3, sqlite3, gcc, perl).
#
#   scripts/bench.sh [BUILD_DIR] [--runs N] [--quick] [--markdown FILE] [--only REGEX]
#                    [--timeout SECONDS] [--keep]
#
# BUILD_DIR (default ./build) must already be built: this script builds nothing, so it measures
# exactly the library you built. Peers come from Debian packages (scripts/bootstrap.sh bench).
#
# Method. Each run is one process started by tests/bench/bench_run, which sets LD_PRELOAD only in
# the child and reports wall time (CLOCK_MONOTONIC) and peak RSS (wait4 rusage, children included).
# Runs are interleaved: every repetition runs every workload under every allocator, rotating which
# allocator goes first, so drift on a shared, noisy machine (other jobs, thermal, page cache) hits all
# allocators alike instead of whichever happened to run during the disturbance. Medians, not means,
# because the noise is one-sided (a run can only be slowed down). A run that crashes, times out or
# prints output different from glibc's makes its cell FAIL; the rest of the run goes on.
set -uo pipefail

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

build=""
runs=5
quick=0
markdown=""
only=""
timeout=""
keep=0
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
    -h | --help) usage ;;
    -*) echo "bench.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$build" ] || usage; build=$1; shift ;;
  esac
done
[ -n "$build" ] || build=./build
case "$runs" in '' | *[!0-9]* | 0) echo "bench.sh: --runs needs a positive number" >&2; exit 2 ;; esac
# Absolute paths: the runner changes nothing, but programs are run from a scratch directory.
build=$(cd "$build" 2>/dev/null && pwd) || { echo "bench.sh: no build directory '$build'" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
[ -z "$markdown" ] || markdown=$(realpath -m "$markdown") # we cd to a scratch directory below
runner=$build/tests/bench/bench_run
bindir=$build/tests/bench
if [ ! -x "$runner" ]; then
  echo "bench.sh: $runner not found - build first: cmake --build $build -j2" >&2
  exit 2
fi
if [ "$quick" = 1 ]; then
  runs=1
  scale=0.1 # built-in workloads; real programs get their own small sizes below
  : "${timeout:=60}"
else
  scale=1
  : "${timeout:=180}"
fi

# ---- allocators -------------------------------------------------------------------------------------
# name, Debian package, library file. The path is looked up with dpkg -L (multiarch paths differ
# between releases), falling back to the usual location.
allocs=(glibc jemalloc mimalloc tcmalloc ptmem)
declare -A lib pkg note
pkg[jemalloc]=libjemalloc2
pkg[mimalloc]=libmimalloc2.0
pkg[tcmalloc]=libtcmalloc-minimal4
find_lib() { # package, file name
  local p
  p=$(dpkg -L "$1" 2>/dev/null | grep -m1 "/$2\$")
  [ -n "$p" ] || p=/usr/lib/x86_64-linux-gnu/$2
  echo "$p"
}
lib[glibc]=""
lib[jemalloc]=$(find_lib libjemalloc2 libjemalloc.so.2)
lib[mimalloc]=$(find_lib libmimalloc2.0 libmimalloc.so.2)
lib[tcmalloc]=$(find_lib libtcmalloc-minimal4 libtcmalloc_minimal.so.4)
lib[ptmem]=$build/preload/libptmem.so
declare -A avail
for a in "${allocs[@]}"; do
  avail[$a]=1
  if [ "$a" != glibc ] && [ ! -f "${lib[$a]}" ]; then
    avail[$a]=0
    note[$a]="$a: ${lib[$a]} not found (install with scripts/bootstrap.sh bench, or build ptmem)"
    echo "bench.sh: note: ${note[$a]} - its column shows n/a" >&2
  fi
done

# ---- inputs of the real programs ----------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ptmem-bench.XXXXXX")
cleanup() { [ "$keep" = 1 ] && echo "bench.sh: kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# ---- workloads ---------------------------------------------------------------------------------------
# name|multithreaded(1/0)|stdin file or -|command...   (fields separated by |, command split on spaces)
workloads=(
  "larson-2t|1|-|$bindir/larson 2 $scale"
  "larson-4t|1|-|$bindir/larson 4 $scale"
  "xmalloc-2t|1|-|$bindir/xmalloc 2 $scale"
  "xmalloc-4t|1|-|$bindir/xmalloc 4 $scale"
  "cache_scratch-2t|1|-|$bindir/cache_scratch 2 $scale"
  "mixed-1t|0|-|$bindir/mixed 1 $scale"
  "mixed-2t|1|-|$bindir/mixed 2 $scale"
  "realloc-1t|0|-|$bindir/realloc 1 $scale"
  "large-1t|0|-|$bindir/large 1 $scale"
  "alloc_small-1t|0|-|$bindir/alloc_small 1 $scale"
  "python3|0|-|python3 $work/objs.py $py_n"
  "python3-malloc|0|-|env PYTHONMALLOC=malloc python3 $work/objs.py $py_n"
  "sqlite3|0|$work/db.sql|sqlite3 :memory:"
  "gcc|0|-|gcc -O2 -c $work/gen.c -o $work/gen.o"
  "perl|0|-|perl $work/hash.pl $perl_n"
)
selected=()
for w in "${workloads[@]}"; do
  name=${w%%|*}
  if [ -n "$only" ] && ! [[ $name =~ $only ]]; then continue; fi
  case $name in
    python3* | sqlite3 | gcc | perl)
      if ! command -v "${name%%-*}" >/dev/null; then
        echo "bench.sh: note: ${name%%-*} not installed - skipping $name" >&2
        continue
      fi ;;
  esac
  selected+=("$w")
done
[ ${#selected[@]} -gt 0 ] || { echo "bench.sh: no workload matches '$only'" >&2; exit 2; }

# ---- runs --------------------------------------------------------------------------------------------
results=$work/results.tsv # workload alloc rep status wall rss_kb cpu
: >"$results"
declare -A ref # glibc's output hash per workload: every allocator must print the same
nalloc=${#allocs[@]}
total=$((runs * ${#selected[@]} * nalloc))
done_runs=0
t_start=$(date +%s)
echo "bench.sh: ${#selected[@]} workloads x $nalloc allocators x $runs runs (timeout ${timeout}s each), scratch $work" >&2
cd "$work" || exit 1
for ((rep = 1; rep <= runs; rep++)); do
  for w in "${selected[@]}"; do
    IFS='|' read -r name mt stdin cmd <<<"$w"
    read -r -a argv <<<"$cmd"
    for ((i = 0; i < nalloc; i++)); do
      # glibc always first in repetition 1 (it provides the reference output); later repetitions rotate.
      a=${allocs[$(((i + rep - 1) % nalloc))]}
      done_runs=$((done_runs + 1))
      if [ "${avail[$a]}" = 0 ]; then
        continue
      fi
      in_opt=()
      [ "$stdin" != - ] && in_opt=(-i "$stdin")
      line=$("$runner" -p "${lib[$a]}" "${in_opt[@]}" -o "$work/out" -e "$work/err" -t "$timeout" -- "${argv[@]}")
      status=$(sed -n 's/.*status=\([^ ]*\).*/\1/p' <<<"$line")
      wall=$(sed -n 's/.*wall=\([^ ]*\).*/\1/p' <<<"$line")
      rss=$(sed -n 's/.*rss_kb=\([^ ]*\).*/\1/p' <<<"$line")
      cpu=$(awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); t[kv[1]] = kv[2] } printf "%.3f", t["user"] + t["sys"]}' <<<"$line")
      [ -n "$status" ] || status=runner-error
      if [ "$status" = ok ]; then
        # Output must match glibc's (the workloads print checksums; the programs deterministic results).
        h=$(md5sum <"$work/out" | cut -d' ' -f1)
        if [ -z "${ref[$name]:-}" ]; then
          [ "$a" = glibc ] && ref[$name]=$h
        elif [ "$h" != "${ref[$name]}" ]; then
          status=wrong-output
        fi
      fi
      if [ "$status" = wrong-output ]; then
        printf '\nbench.sh: %s under %s (run %d): output differs from glibc'"'"'s:\n' "$name" "$a" "$rep" >&2
        head -n 3 "$work/out" | sed 's/^/    /' >&2
      elif [ "$status" != ok ]; then
        printf '\nbench.sh: %s under %s (run %d): %s; stderr:\n' "$name" "$a" "$rep" "$status" >&2
        tail -n 5 "$work/err" | sed 's/^/    /' >&2
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$a" "$rep" "$status" "${wall:-0}" "${rss:-0}" "${cpu:-0}" >>"$results"
      printf '\rbench.sh: run %d/%d (%ds) %-20s %-9s %-8s %ss    ' "$done_runs" "$total" $(($(date +%s) - t_start)) \
        "$name" "$a" "$status" "$wall" >&2
    done
  done
done
echo >&2

# ---- report ------------------------------------------------------------------------------------------
# awk does the statistics (medians, ratios, geometric means) so the script needs nothing beyond
# coreutils/awk; mawk-compatible (no asort).
mts=""
for w in "${selected[@]}"; do
  IFS='|' read -r name mt _ <<<"$w"
  [ "$mt" = 1 ] && mts="$mts $name"
done
names=""
for w in "${selected[@]}"; do names="$names ${w%%|*}"; done
avail_list=""
for a in "${allocs[@]}"; do avail_list="$avail_list $a=${avail[$a]}"; done

report() { # $1 = text | md
  awk -F'\t' -v fmt="$1" -v names="$names" -v mts="$mts" -v allocs="${allocs[*]}" -v avail="$avail_list" '
  function median(key,   n, i, j, t, v) {
    n = cnt[key]
    for (i = 1; i <= n; i++) v[i] = val[key, i]
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function row(cells, n,   i, s) {
    if (fmt == "md") { s = "|"; for (i = 1; i <= n; i++) s = s " " cells[i] " |"; print s; return }
    s = sprintf("%-20s", cells[1]); for (i = 2; i <= n; i++) s = s sprintf(" %12s", cells[i]); print s
  }
  function sep(n,   i, s) {
    if (fmt == "md") { s = "|---|"; for (i = 2; i <= n; i++) s = s "---:|"; print s }
    else { s = ""; for (i = 1; i <= 20 + 13 * (n - 1); i++) s = s "-"; print s }
  }
  {
    w = $1; a = $2
    if ($4 != "ok") { bad[w, a] = bad[w, a] ? bad[w, a] : $4; next }
    cnt[w, a "t"]++; val[w, a "t", cnt[w, a "t"]] = $5
    cnt[w, a "m"]++; val[w, a "m", cnt[w, a "m"]] = $6 / 1024
    cnt[w, a "c"]++; val[w, a "c", cnt[w, a "c"]] = $7
  }
  END {
    nw = split(names, W, " "); na = split(allocs, A, " ")
    split(avail, AV, " "); for (i in AV) { split(AV[i], kv, "="); has[kv[1]] = kv[2] }
    nm = split(mts, M, " "); for (i = 1; i <= nm; i++) ismt[M[i]] = 1
    npeer = 0; for (i = 1; i <= na; i++) if (A[i] != "ptmem") P[++npeer] = A[i]
    # Wall time is the headline; CPU time (user+sys, all threads) is less disturbed by other jobs on
    # a shared machine (waiting for a core is not counted) but also hides lost parallelism.
    for (q = 1; q <= 3; q++) {
      kind = q == 1 ? "t" : q == 2 ? "m" : "c"
      title = q == 1 ? "Wall time, median seconds (lower is better); ratio = ptmem / peer" \
            : q == 2 ? "Peak RSS, median MiB (lower is better); ratio = ptmem / peer" \
                     : "CPU time (user+sys), median seconds (lower is better); ratio = ptmem / peer"
      print (fmt == "md" ? "### " : "== ") title (fmt == "md" ? "" : " ==")
      if (fmt == "md") print ""
      n = 0; c[++n] = "workload"; for (i = 1; i <= na; i++) c[++n] = A[i]
      for (i = 1; i <= npeer; i++) c[++n] = "pt/" P[i]
      row(c, n); sep(n)
      for (i = 1; i <= npeer; i++) { lsum[i] = 0; lcnt[i] = 0 }
      for (k = 1; k <= nw; k++) {
        w = W[k]; n = 0; c[++n] = w (w in ismt ? " *" : "")
        for (i = 1; i <= na; i++) {
          a = A[i]
          if (has[a] == 0) { c[++n] = "n/a"; v[a] = "" }
          else if ((w, a) in bad) {
            c[++n] = "FAIL"; v[a] = ""
            if (q == 1) fails = fails sprintf("  %s under %s: %s\n", w, a, bad[w, a])
          }
          else if (cnt[w, a kind] == 0) { c[++n] = "-"; v[a] = "" }
          else { v[a] = median(w SUBSEP a kind); c[++n] = sprintf(kind == "m" ? "%.1f" : "%.3f", v[a]) }
        }
        for (i = 1; i <= npeer; i++) {
          p = P[i]
          if (v["ptmem"] != "" && v[p] != "" && v[p] > 0 && v["ptmem"] > 0) {
            r = v["ptmem"] / v[p]; c[++n] = sprintf("%.2f", r)
            lsum[i] += log(r); lcnt[i]++
            if (p == "glibc" && (w in ismt)) { mtsum += log(r); mtcnt++ }
          } else c[++n] = "-"
        }
        row(c, n)
      }
      n = 0; c[++n] = "geomean (all)"; for (i = 1; i <= na; i++) c[++n] = ""
      for (i = 1; i <= npeer; i++) c[++n] = lcnt[i] ? sprintf("%.2f", exp(lsum[i] / lcnt[i])) : "-"
      row(c, n)
      gm_mt[kind] = mtcnt ? sprintf("%.2f (over %d workloads)", exp(mtsum / mtcnt), mtcnt) : "-"
      mtsum = 0; mtcnt = 0
      print ""
    }
    print "* = multithreaded workload."
    print "Geometric mean of ptmem/glibc over the multithreaded workloads: wall time " gm_mt["t"] ", peak RSS " gm_mt["m"] \
          ", CPU time " gm_mt["c"] "."
    if (fails != "") { print ""; print "FAIL cells (crash, timeout, non-zero exit or output different from glibc):"; printf "%s", fails }
  }' "$results"
}

machine() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc)"
  echo "- kernel: $(uname -srm)"
  echo "- glibc: $(ldd --version 2>/dev/null | head -1 | sed 's/^ldd //')"
  for a in jemalloc mimalloc tcmalloc; do
    echo "- $a: $(dpkg-query -W -f='${Package} ${Version}' "${pkg[$a]}" 2>/dev/null || echo "not installed")"
  done
  echo "- ptmem: $build (git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ', dirty'))"
  echo "- runs per cell: $runs (median), scale $scale$([ "$quick" = 1 ] && echo ' (--quick)'), load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

report text
for a in "${allocs[@]}"; do [ -n "${note[$a]:-}" ] && echo "note: ${note[$a]}"; done
if [ -n "$markdown" ]; then
  {
    echo "# ptmem benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    machine
    echo
    report md
    for a in "${allocs[@]}"; do [ -n "${note[$a]:-}" ] && echo "- note: ${note[$a]}"; done
  } >"$markdown"
  echo "bench.sh: wrote $markdown" >&2
fi
exit 0
