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

. "$(dirname "$0")/bench-common.sh"
# The allocator alone: tracking (on by default) is measured by bench-track.sh. Peers ignore it.
export PTMEM_TRACK=0
unset PTMEM_OUT
bench_parse_args bench.sh 2,9 "$@"
root=$(cd "$(dirname "$0")/.." && pwd)
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

# Inputs of the real programs: scripts/bench-common.sh (shared with bench-track.sh).
bench_write_inputs "$work" "$quick"

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
  awk -F'\t' -v fmt="$1" -v names="$names" -v mts="$mts" -v allocs="${allocs[*]}" -v avail="$avail_list" -v w1=20 -v wc=12 "$BENCH_AWK_LIB"'
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
