#!/usr/bin/env bash
# bench-track.sh - the cost of ptmem's allocation tracking (PTMEM_TRACK=1), against ptmem untracked,
# heaptrack and plain glibc, on the workloads of tests/bench and on real programs (python3, sqlite3, gcc).
#
#   scripts/bench-track.sh [BUILD_DIR] [--runs N] [--quick] [--markdown FILE] [--only REGEX]
#                          [--timeout SECONDS] [--keep]
#
# BUILD_DIR (default ./build) must already be built; heaptrack must be installed (else its column is n/a).
#
# Method. Every run is one process started by tests/bench/bench_run (wall time CLOCK_MONOTONIC from fork
# to exit, peak RSS from wait4, children included), as in scripts/bench.sh. Each repetition runs every
# workload in four modes, interleaved and rotated so that drift on a shared machine hits all modes alike:
#   glibc      no preload (reference)
#   untracked  LD_PRELOAD=libptmem.so PTMEM_TRACK=0
#   tracked    LD_PRELOAD=libptmem.so PTMEM_TRACK=1 PTMEM_OUT=<run dir>/ptmem.%e.%p.json
#   heaptrack  heaptrack -o <run dir>/ht.<workload>.<rep> COMMAND...
# heaptrack is a shell script: it starts heaptrack_interpret | zstd in the background reading a fifo,
# runs the program with its preload, then waits for zstd before it exits, so the measured wall time
# includes interpreting and compressing the whole record (zstd and the interpreter run concurrently with
# the program, on the other core). Peak RSS is the largest of the processes (wait4 reports a maximum,
# not a sum). heaptrack 1.4 does not expand %p in -o's final file name (it substitutes it only to create
# the directory), so each run gets its own file name. heaptrack tracks only the process it starts (its
# preload unsets the fifo variable), while ptmem tracks every process that inherits LD_PRELOAD; for gcc,
# heaptrack is therefore also put on the compiler passes with `gcc -wrapper heaptrack` (their files
# land in the run directory), so both trace gcc, cc1 and as. heaptrack's own messages are removed from
# stdout before it is compared.
#
# Correctness: a run that crashes, times out, exits non-zero, prints a stdout different from the
# untracked run's, or (tracked) leaves a trace without its summary line is a FAIL cell; the rest goes on.
# python3 is the interpreter itself (os.path.realpath(sys.executable)), not a pyenv/venv shim script.
#
# Trace size: bytes of all ptmem trace files of the run (gcc: one per process) and of all heaptrack
# .zst files. Allocation counts are the sum of "allocs" of the traces' summary lines. A second part runs
# python3 (PYTHONMALLOC=malloc) at two sizes under ptmem tracked to show how the trace grows with the
# number of allocations.
set -uo pipefail

. "$(dirname "$0")/bench-common.sh"
bench_parse_args bench-track.sh 2,7 "$@"
root=$(cd "$(dirname "$0")/.." && pwd)
runner=$build/tests/bench/bench_run
bindir=$build/tests/bench
if [ ! -x "$runner" ] || [ ! -f "$build/preload/libptmem.so" ]; then
  echo "bench-track.sh: $runner or $build/preload/libptmem.so not found - build first: cmake --build $build -j2" >&2
  exit 2
fi
if [ "$quick" = 1 ]; then
  runs=1
  scale=0.1
  : "${timeout:=60}"
else
  scale=1
  : "${timeout:=300}"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ptmem-bench-track.XXXXXX")
cleanup() { [ "$keep" = 1 ] && echo "bench-track.sh: kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The library is copied once: the whole run measures one build even if the build directory is rebuilt
# meanwhile (the tracker is under active development).
ptlib=$work/libptmem.so
cp "$build/preload/libptmem.so" "$ptlib" || exit 2
lib_sum=$(md5sum <"$ptlib" | cut -c1-12)
git_state="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ', dirty')"

have_ht=1
if ! command -v heaptrack >/dev/null; then
  have_ht=0
  echo "bench-track.sh: note: heaptrack not installed - its column shows n/a" >&2
fi
ht_version=$( ( [ "$have_ht" = 1 ] && heaptrack --version 2>/dev/null) | head -1)

# ---- inputs of the real programs: scripts/bench-common.sh (the same as bench.sh) -------------------
bench_write_inputs "$work" "$quick"
if [ "$quick" = 1 ]; then sc_small=10000 sc_big=100000; else sc_small=100000 sc_big=1000000; fi

python=""
if command -v python3 >/dev/null; then
  # A pyenv shim is a bash script: heaptrack would trace bash, and every mode would pay for the shim.
  python=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
fi


# ---- workloads ---------------------------------------------------------------------------------------
# name|threads class (st/mt)|stdin file or -|extra environment or -|command (split on spaces)
workloads=(
  "alloc_small-1t|st|-|-|$bindir/alloc_small 1 $scale"
  "mixed-1t|st|-|-|$bindir/mixed 1 $scale"
  "realloc-1t|st|-|-|$bindir/realloc 1 $scale"
  "larson-2t|mt|-|-|$bindir/larson 2 $scale"
  "xmalloc-2t|mt|-|-|$bindir/xmalloc 2 $scale"
  "mixed-2t|mt|-|-|$bindir/mixed 2 $scale"
  "python3-malloc|st|-|PYTHONMALLOC=malloc|$python $work/objs.py $py_n"
  "sqlite3|st|$work/db.sql|-|sqlite3 :memory:"
  "gcc|st|-|-|gcc -O2 -c $work/gen.c -o $work/gen.o"
)
selected=()
for w in "${workloads[@]}"; do
  name=${w%%|*}
  if [ -n "$only" ] && ! [[ $name =~ $only ]]; then continue; fi
  case $name in
    python3*) [ -n "$python" ] || { echo "bench-track.sh: note: python3 not found - skipping $name" >&2; continue; } ;;
    sqlite3 | gcc) command -v "$name" >/dev/null || { echo "bench-track.sh: note: $name not installed - skipping" >&2; continue; } ;;
  esac
  selected+=("$w")
done
[ ${#selected[@]} -gt 0 ] || { echo "bench-track.sh: no workload matches '$only'" >&2; exit 2; }

# ---- one run -----------------------------------------------------------------------------------------
rundir=$work/run
# heaptrack's own lines on stdout: "heaptrack output will be written to ...", the preload path,
# "starting application...", and at the end "Heaptrack finished! ..." followed by an empty line and
# "  heaptrack --analyze ...". (With gcc -wrapper they appear once per compiler pass.)
strip_heaptrack() {
  awk '/^heaptrack output will be written to "/ { next }
       /^\/.*\/libheaptrack_(preload|inject)\.so$/ { next }
       /^starting application, this might take some time\.\.\.$/ { next }
       /^Heaptrack finished! Now run the following to investigate the data:$/ { skipblank = 1; next }
       skipblank && /^$/ { skipblank = 0; next }
       /^  heaptrack --analyze "/ { next }
       { skipblank = 0; print }' "$1"
}

# sum of the "allocs" of each trace file's last summary line; prints "bytes allocs files incomplete"
ptmem_traces() {
  local f bytes=0 allocs=0 files=0 incomplete=0 s a
  for f in "$rundir"/ptmem.*.json; do
    [ -e "$f" ] || continue
    files=$((files + 1))
    bytes=$((bytes + $(stat -c %s "$f")))
    s=$(grep '^{"type":"summary"' "$f" | tail -n 1)
    if [ -z "$s" ]; then
      incomplete=$((incomplete + 1))
      continue
    fi
    a=$(sed -n 's/.*"allocs":\([0-9]*\).*/\1/p' <<<"$s")
    allocs=$((allocs + ${a:-0}))
  done
  echo "$bytes $allocs $files $incomplete"
}

# run_one MODE NAME STDIN ENV CMD -> sets status wall rss tbytes tallocs; the program's stdout in $work/out
run_one() {
  local mode=$1 name=$2 stdin=$3 extra=$4 cmd=$5 line
  local -a argv in_opt env_opt pre_opt
  read -r -a argv <<<"$cmd"
  rm -rf "$rundir"
  mkdir -p "$rundir"
  in_opt=()
  [ "$stdin" != - ] && in_opt=(-i "$stdin")
  env_opt=(-u PTMEM_TRACK -u PTMEM_OUT)
  [ "$extra" != - ] && env_opt+=("$extra")
  pre_opt=()
  case $mode in
    untracked) pre_opt=(-p "$ptlib"); env_opt+=(PTMEM_TRACK=0) ;;
    tracked) pre_opt=(-p "$ptlib"); env_opt+=(PTMEM_TRACK=1 "PTMEM_OUT=$rundir/ptmem.%e.%p.json") ;;
    heaptrack)
      argv=(heaptrack -o "$rundir/ht.$name.$rep" "${argv[@]}")
      [ "$name" = gcc ] && argv+=(-wrapper heaptrack) ;;
  esac
  local -a fifos_before=()
  [ "$mode" = heaptrack ] && fifos_before=(/tmp/heaptrack_fifo*)
  line=$(cd "$rundir" && env "${env_opt[@]}" "$runner" "${pre_opt[@]}" "${in_opt[@]}" -o "$work/out.raw" -e "$work/err" \
    -t "$timeout" -- "${argv[@]}")
  status=$(sed -n 's/.*status=\([^ ]*\).*/\1/p' <<<"$line")
  wall=$(sed -n 's/.*wall=\([^ ]*\).*/\1/p' <<<"$line")
  rss=$(sed -n 's/.*rss_kb=\([^ ]*\).*/\1/p' <<<"$line")
  [ -n "$status" ] || status=runner-error
  if [ "$mode" = heaptrack ] && [ "$status" = timeout ]; then
    # A killed heaptrack script leaves its /tmp/heaptrack_fifo<pid> behind: remove the one that appeared.
    local f g old
    for f in /tmp/heaptrack_fifo*; do
      [ -p "$f" ] || continue
      old=0
      for g in "${fifos_before[@]}"; do [ "$f" = "$g" ] && old=1; done
      [ "$old" = 1 ] || rm -f "$f"
    done
  fi
  if [ "$mode" = heaptrack ]; then strip_heaptrack "$work/out.raw" >"$work/out"; else mv "$work/out.raw" "$work/out"; fi
  tbytes=0 tallocs=0
  case $mode in
    tracked)
      local t
      read -r tbytes tallocs t incomplete <<<"$(ptmem_traces)"
      if [ "$status" = ok ] && [ "$t" = 0 ]; then status=no-trace
      elif [ "$status" = ok ] && [ "$incomplete" != 0 ]; then status=trace-without-summary; fi ;;
    heaptrack)
      local f
      for f in "$rundir"/*.zst; do [ -e "$f" ] && tbytes=$((tbytes + $(stat -c %s "$f"))); done
      [ "$status" = ok ] && [ "$tbytes" = 0 ] && status=no-trace ;;
  esac
  return 0
}

# ---- runs --------------------------------------------------------------------------------------------
modes=(untracked tracked heaptrack glibc)
nmodes=${#modes[@]}
results=$work/results.tsv # workload mode rep status wall rss_kb trace_bytes allocs
: >"$results"
declare -A ref
total=$((runs * ${#selected[@]} * nmodes))
done_runs=0
t_start=$(date +%s)
echo "bench-track.sh: ${#selected[@]} workloads x $nmodes modes x $runs runs (timeout ${timeout}s each), scratch $work" >&2
cd "$work" || exit 1
for ((rep = 1; rep <= runs; rep++)); do
  for w in "${selected[@]}"; do
    IFS='|' read -r name class stdin extra cmd <<<"$w"
    for ((i = 0; i < nmodes; i++)); do
      # untracked first in repetition 1: its stdout is the reference. Later repetitions rotate.
      m=${modes[$(((i + rep - 1) % nmodes))]}
      done_runs=$((done_runs + 1))
      [ "$m" = heaptrack ] && [ "$have_ht" = 0 ] && continue
      run_one "$m" "$name" "$stdin" "$extra" "$cmd"
      if [ "$status" = ok ]; then
        h=$(md5sum <"$work/out" | cut -d' ' -f1)
        if [ -z "${ref[$name]:-}" ]; then
          # the untracked run sets the reference; if it failed in repetition 1, glibc's does
          { [ "$m" = untracked ] || [ "$m" = glibc ]; } && ref[$name]=$h
        elif [ "$h" != "${ref[$name]}" ]; then
          status=wrong-output
        fi
      fi
      if [ "$status" = wrong-output ]; then
        printf '\nbench-track.sh: %s %s (run %d): stdout differs from the untracked run'"'"'s:\n' "$name" "$m" "$rep" >&2
        head -n 3 "$work/out" | sed 's/^/    /' >&2
      elif [ "$status" != ok ]; then
        printf '\nbench-track.sh: %s %s (run %d): %s; stderr:\n' "$name" "$m" "$rep" "$status" >&2
        tail -n 5 "$work/err" | sed 's/^/    /' >&2
      fi
      if [ "$status" != ok ] && [ "$keep" = 1 ]; then cp -r "$rundir" "$work/failed.$name.$m.$rep"; fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$m" "$rep" "$status" "${wall:-0}" "${rss:-0}" "$tbytes" "$tallocs" >>"$results"
      printf '\rbench-track.sh: run %d/%d (%ds) %-15s %-9s %-8s %ss      ' "$done_runs" "$total" \
        $(($(date +%s) - t_start)) "$name" "$m" "$status" "$wall" >&2
    done
  done
done
echo >&2

# ---- trace size against the number of allocations ------------------------------------------------------
scale_results=$work/scale.tsv # objects status wall trace_bytes allocs stacks
: >"$scale_results"
if [ -n "$python" ] && { [ -z "$only" ] || [[ python3-scale =~ $only ]]; }; then
  rep=scale
  for n in $sc_small $sc_big; do
    run_one tracked python3-scale - PYTHONMALLOC=malloc "$python $work/objs.py $n"
    stacks=0
    for f in "$rundir"/ptmem.*.json; do
      [ -e "$f" ] || continue
      s=$(grep '^{"type":"summary"' "$f" | tail -n 1 | sed -n 's/.*"stacks":\([0-9]*\).*/\1/p')
      stacks=$((stacks + ${s:-0}))
    done
    [ "$status" = ok ] || { printf 'bench-track.sh: python3 %d objects tracked: %s; stderr:\n' "$n" "$status" >&2; tail -n 5 "$work/err" | sed 's/^/    /' >&2; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$status" "${wall:-0}" "$tbytes" "$tallocs" "$stacks" >>"$scale_results"
    echo "bench-track.sh: python3 PYTHONMALLOC=malloc $n objects tracked: $status ${wall}s trace $tbytes B, $tallocs allocs" >&2
  done
fi

# ---- report ------------------------------------------------------------------------------------------
classes=""
for w in "${selected[@]}"; do
  IFS='|' read -r name class _ <<<"$w"
  classes="$classes $name=$class"
done

report() { # $1 = text | md
  awk -F'\t' -v fmt="$1" -v classes="$classes" -v have_ht="$have_ht" -v scalefile="$scale_results" -v w1=16 -v wc=11 "$BENCH_AWK_LIB"'
  function title(t) { print (fmt == "md" ? "### " t "\n" : "== " t " ==") }
  function human(b) {
    if (b == "") return "-"
    if (b >= 1048576) return sprintf("%.2f MB", b / 1048576)
    if (b >= 1024) return sprintf("%.1f kB", b / 1024)
    return b " B"
  }
  function cell(w, m, kind, f) { # median formatted, or FAIL / n/a / -
    if (m == "heaptrack" && have_ht == 0) { v[m] = ""; return "n/a" }
    if ((w, m) in bad) { v[m] = ""; return "FAIL" }
    if (cnt[w, m kind] == 0) { v[m] = ""; return "-" }
    v[m] = median(w SUBSEP m kind)
    return kind == "b" ? human(v[m]) : sprintf(f, v[m])
  }
  function ratio(a, b) { return (a != "" && b != "" && b > 0) ? a / b : "" }
  {
    w = $1; m = $2
    if ($4 != "ok") {
      if (!((w, m) in bad)) { bad[w, m] = $4; fails = fails sprintf("  %s %s (run %s): %s\n", w, m, $3, $4) }
      else if (index(bad[w, m], $4) == 0) bad[w, m] = bad[w, m] "," $4
      next
    }
    cnt[w, m "t"]++; val[w, m "t", cnt[w, m "t"]] = $5
    cnt[w, m "r"]++; val[w, m "r", cnt[w, m "r"]] = $6 / 1024
    if (m == "tracked" || m == "heaptrack") { cnt[w, m "b"]++; val[w, m "b", cnt[w, m "b"]] = $7 }
    if (m == "tracked") { cnt[w, m "a"]++; val[w, m "a", cnt[w, m "a"]] = $8 }
  }
  END {
    nw = split(classes, C, " ")
    for (k = 1; k <= nw; k++) { split(C[k], kv, "="); W[k] = kv[1]; cls[kv[1]] = kv[2] }

    title("Wall time, median seconds; trk/ht = tracked / heaptrack (target <= 0.20 single-threaded, <= 0.10 multithreaded), floor = untracked / heaptrack (no tracker can go below it), added = (tracked - untracked) / (heaptrack - glibc), the time each tool adds (judged where the floor is above the target: floor, added ok/MISS; heaptrack adds < 10%: floor, ht adds ~0), trk/untrk = tracked / untracked")
    n = 0; split("workload|glibc|untracked|tracked|heaptrack|trk/ht|target|floor|added|trk/untrk|trk/glibc", c, "|"); n = 11
    row(c, n); sep(n)
    for (k = 1; k <= nw; k++) {
      w = W[k]
      c[1] = w (cls[w] == "mt" ? " *" : "")
      c[2] = cell(w, "glibc", "t", "%.3f"); c[3] = cell(w, "untracked", "t", "%.3f")
      c[4] = cell(w, "tracked", "t", "%.3f"); c[5] = cell(w, "heaptrack", "t", "%.3f")
      r = ratio(v["tracked"], v["heaptrack"]); lim = cls[w] == "mt" ? 0.10 : 0.20
      c[6] = r == "" ? "-" : sprintf("%.3f", r)
      fl = ratio(v["untracked"], v["heaptrack"])
      # added: what tracking adds to the allocator of each tool. Where the program alone takes more
      # than the share of heaptrack time the target allows, this is the part of the target a tracker can meet.
      ad = ""; htadd = ""
      if (v["tracked"] != "" && v["untracked"] != "" && v["heaptrack"] != "" && v["glibc"] != "" && v["glibc"] > 0) {
        htadd = v["heaptrack"] - v["glibc"]
        if (htadd >= 0.10 * v["glibc"]) ad = (v["tracked"] - v["untracked"]) / htadd
      }
      floored = fl != "" && fl > lim
      if (r == "") c[7] = "-"
      else if (r <= lim) c[7] = sprintf("ok (%.2f)", lim)
      else if (!floored) c[7] = sprintf("MISS (%.2f)", lim)
      else if (ad == "" && htadd != "") c[7] = "floor, ht adds ~0"
      else if (ad == "") c[7] = "MISS, floor"
      else c[7] = ad <= lim ? sprintf("floor, added ok (%.2f)", lim) : sprintf("floor, added MISS (%.2f)", lim)
      if (r != "") {
        judged++
        if (r <= lim) met++
        else if (floored && ad != "" && ad <= lim) floor_ok = floor_ok " " w
        else if (floored && ad == "" && htadd != "") ht_zero = ht_zero " " w
        else missed = missed " " w
      }
      c[8] = fl == "" ? "-" : sprintf("%.3f", fl)
      c[9] = ad == "" ? "-" : sprintf("%.3f", ad)
      r2 = ratio(v["tracked"], v["untracked"]); c[10] = r2 == "" ? "-" : sprintf("%.2f", r2)
      tu[w] = r2; tw[w] = v["untracked"]
      r3 = ratio(v["tracked"], v["glibc"]); c[11] = r3 == "" ? "-" : sprintf("%.2f", r3)
      row(c, n)
    }
    print ""
    title("Peak RSS, median MiB (heaptrack: the largest of the program, heaptrack_interpret and zstd), and trace size")
    split("workload|glibc|untracked|tracked|heaptrack|ptmem trace|ht .zst|ht/ptmem|allocs|allocs/s", c, "|"); n = 10
    row(c, n); sep(n)
    for (k = 1; k <= nw; k++) {
      w = W[k]
      c[1] = w (cls[w] == "mt" ? " *" : "")
      c[2] = cell(w, "glibc", "r", "%.1f"); c[3] = cell(w, "untracked", "r", "%.1f")
      c[4] = cell(w, "tracked", "r", "%.1f"); c[5] = cell(w, "heaptrack", "r", "%.1f")
      c[6] = cell(w, "tracked", "b", ""); pb = v["tracked"]
      c[7] = cell(w, "heaptrack", "b", ""); hb = v["heaptrack"]
      r = ratio(hb, pb); c[8] = r == "" ? "-" : sprintf(r >= 10 ? "%.0fx" : "%.2fx", r)
      c[9] = cell(w, "tracked", "a", "%d"); al[w] = v["tracked"]
      # malloc intensity: allocations per second of the untracked run
      if (al[w] != "" && tw[w] != "" && tw[w] > 0) { rate[w] = al[w] / tw[w]; c[10] = sprintf("%.1fM", rate[w] / 1e6) }
      else c[10] = "-"
      row(c, n)
    }
    print ""
    print "* = multithreaded workload. Wall times and RSS are medians over the runs; a FAIL cell had at least one failed run."
    print ""

    # the most malloc-heavy workload: most allocations per second (untracked wall time)
    # (overall, and among the single-threaded ones: a multithreaded rate counts every thread)
    best = ""; bst = ""
    for (k = 1; k <= nw; k++) {
      w = W[k]; if (!(w in rate) || tu[w] == "") continue
      if (best == "" || rate[w] > rate[best]) best = w
      if (cls[w] == "st" && (bst == "" || rate[w] > rate[bst])) bst = w
    }
    title("Targets")
    if (judged) printf("%s tracked <= 1/5 (single-threaded) or 1/10 (multithreaded) of heaptrack wall time: met on %d of %d workloads%s%s%s\n",
                       fmt == "md" ? "-" : "*", met, judged,
                       floor_ok != "" ? sprintf("; floor-limited, added time within the share on%s", floor_ok) : "",
                       ht_zero != "" ? sprintf("; floor-limited, heaptrack adds < 10%% on%s", ht_zero) : "",
                       missed != "" ? "; missed on" missed : "")
    if (bst != "")
      printf("%s tracked <= 3x untracked on the most malloc-heavy single-threaded workload (%s, %.1fM allocations/s untracked): %.2fx - %s\n",
             fmt == "md" ? "-" : "*", bst, rate[bst] / 1e6, tu[bst], tu[bst] <= 3 ? "met" : "MISSED")
    if (best != "" && best != bst)
      printf("%s tracked <= 3x untracked on the most malloc-heavy workload overall (%s, %.1fM allocations/s untracked): %.2fx - %s\n",
             fmt == "md" ? "-" : "*", best, rate[best] / 1e6, tu[best], tu[best] <= 3 ? "met" : "MISSED")
    ns = 0
    while ((getline line < scalefile) > 0) { ns++; split(line, S, "\t"); so[ns] = S[1]; ss[ns] = S[2]; sw[ns] = S[3]; sb[ns] = S[4]; sa[ns] = S[5]; sk[ns] = S[6] }
    if (ns) {
      big = ns
      if (ss[big] == "ok")
        printf("%s python3 with %.1fM allocations writes a trace under 2 MB: %s (%s)\n", fmt == "md" ? "-" : "*", sa[big] / 1e6,
               sb[big] < 2097152 ? "met" : "MISSED", human(sb[big]))
      print ""
      title("Trace size against the number of allocations (python3, PYTHONMALLOC=malloc, ptmem tracked, one run each)")
      split("objects|status|wall s|allocs|stacks|trace|bytes/alloc", c, "|"); n = 7
      row(c, n); sep(n)
      for (i = 1; i <= ns; i++) {
        c[1] = so[i]; c[2] = ss[i] == "ok" ? "ok" : "FAIL (" ss[i] ")"; c[3] = sprintf("%.3f", sw[i]); c[4] = sa[i]; c[5] = sk[i]
        c[6] = human(sb[i]); c[7] = sa[i] > 0 ? sprintf("%.4f", sb[i] / sa[i]) : "-"
        row(c, n)
      }
      if (ns == 2 && sa[1] > 0 && sb[1] > 0)
        printf("\n%.1fx the allocations, %.2fx the trace bytes, %.2fx the stacks.\n", sa[2] / sa[1], sb[2] / sb[1], sk[1] ? sk[2] / sk[1] : 0)
    }
    if (fails != "") {
      print ""
      print "FAIL cells (crash, timeout, non-zero exit, stdout different from the untracked run, trace missing or without summary):"
      printf "%s", fails
    }
  }' "$work/results.tsv"
}

machine() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc)"
  echo "- kernel: $(uname -srm); glibc: $(ldd --version 2>/dev/null | head -1 | sed 's/^ldd //')"
  echo "- heaptrack: ${ht_version:-not installed}; python3: $python; $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 | sed 's/^/sqlite3 /'); $(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /')"
  echo "- ptmem: $build/preload/libptmem.so (md5 $lib_sum; source tree at start: git $git_state)"
  echo "- runs per cell: $runs (median), scale $scale$([ "$quick" = 1 ] && echo ' (--quick)'), python3 $py_n objects, sqlite3 $sql_n rows, gcc $gcc_fns functions; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

report text
if [ -n "$markdown" ]; then
  {
    echo "# ptmem tracking overhead ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    machine
    echo
    report md
  } >"$markdown"
  echo "bench-track.sh: wrote $markdown" >&2
fi
exit 0
