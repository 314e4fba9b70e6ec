#!/usr/bin/env bash
# bench-report.sh - how long ptmem-report takes to report on the trace of a real program, against
# heaptrack_print on the heaptrack trace of the same program (issue 4: at most 1/10 of its time).
#
#   scripts/bench-report.sh [BUILD_DIR] [--runs N] [--quick] [--markdown FILE] [--only REGEX]
#                           [--timeout SECONDS] [--keep] [--traces DIR]
#
# BUILD_DIR (default ./build) must have ptmem, bench_run and ptmem-report built; heaptrack (with
# heaptrack_print) must be installed. --traces DIR keeps the recorded traces in DIR and reuses the
# ones already there (recording python3 under both tools takes minutes); --only picks programs
# (python3, gcc, sqlite3, perl) by regular expression.
#
# Method. Each program (the inputs of scripts/bench-common.sh; python3 runs the workload of
# tests/programs/workloads/python3.py with PYTHONMALLOC=malloc, so every object is a malloc call) is
# recorded once with each tool: PTMEM_TRACK=1 LD_PRELOAD=libptmem.so, and heaptrack (gcc with
# `-wrapper heaptrack`, which puts it on each compiler pass). Both tools record the same process:
# for gcc that is cc1, for python3 the interpreter the run started (not its forked pool workers,
# which heaptrack does not follow); a program's own output goes to /dev/null. Recording is not timed.
# Then every repetition runs four reports per program, interleaved and rotated so that drift on a
# shared machine hits all of them alike, each one process under tests/bench/bench_run (wall time
# fork to exit, user+sys CPU, peak RSS), output to a file:
#   text       ptmem-report TRACE                  (the default report: summary, leaks, peak, hot
#                                                   and temporary sites; leaks are always in it)
#   json       ptmem-report --format json TRACE
#   print      heaptrack_print -f FILE.zst         (its default analysis: leaks not printed)
#   print-l    heaptrack_print -l 1 -f FILE.zst    (leaks printed too: like for like with text)
# ptmem-report exits 1 when its default gate finds a leak, which is a result here, not a failure.
# The tables give medians and the ratios ptmem-report / heaptrack_print: quote ratios, not seconds
# (the machine is shared). The CPU ratio is the steadier one when the machine is loaded.
set -uo pipefail

# --traces is this script's own option; the rest are the options every bench script takes.
traces_dir=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --traces) traces_dir=${2:?--traces needs a directory}; shift 2 ;;
    --traces=*) traces_dir=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
. "$(dirname "$0")/bench-common.sh"
bench_parse_args bench-report.sh 4,11 ${args[@]+"${args[@]}"}
root=$(cd "$(dirname "$0")/.." && pwd)
runner=$build/tests/bench/bench_run
for f in "$runner" "$build/preload/libptmem.so" "$build/tools/ptmem-report"; do
  [ -e "$f" ] || { echo "bench-report.sh: $f not found - build first: cmake --build $build -j2" >&2; exit 2; }
done
for c in heaptrack heaptrack_print zstd; do
  command -v "$c" >/dev/null || { echo "bench-report.sh: $c is not installed (Debian: heaptrack, zstd)" >&2; exit 2; }
done
if [ "$quick" = 1 ]; then runs=1; : "${timeout:=120}"; else : "${timeout:=900}"; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ptmem-bench-report.XXXXXX")
cleanup() { [ "$keep" = 1 ] && echo "bench-report.sh: kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$traces_dir" ]; then
  mkdir -p "$traces_dir" && traces_dir=$(cd "$traces_dir" && pwd) || exit 2
else
  traces_dir=$work/traces
  mkdir -p "$traces_dir"
fi

# One build is measured even if the build directory is rebuilt meanwhile.
ptlib=$work/libptmem.so
report_bin=$work/ptmem-report
cp "$build/preload/libptmem.so" "$ptlib" && cp "$build/tools/ptmem-report" "$report_bin" || exit 2
report_sum=$(md5sum <"$report_bin" | cut -c1-12)
git_state="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- tools 2>/dev/null || echo ', tools/ dirty')"

bench_write_inputs "$work" "$quick"
python=""
# A pyenv shim is a bash script: heaptrack would record bash.
command -v python3 >/dev/null && python=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
if [ "$quick" = 1 ]; then py_cmd="$python $work/objs.py $py_n"; else py_cmd="$python $root/tests/programs/workloads/python3.py"; fi

# name|process recorded (the trace file's program name, a glob)|stdin or -|environment or -|command
programs=(
  "python3|python3*|-|PYTHONMALLOC=malloc PTMEM_PROBE=/dev/null|$py_cmd"
  "gcc|cc1|-|-|gcc -O2 -c $work/gen.c -o $work/gen.o"
  "sqlite3|sqlite3|$work/db.sql|-|sqlite3 :memory:"
  "perl|perl|-|-|perl $work/hash.pl $perl_n"
)
selected=()
for p in "${programs[@]}"; do
  name=${p%%|*}
  if [ -n "$only" ] && ! [[ $name =~ $only ]]; then continue; fi
  exe=$name
  [ "$name" = python3 ] && exe=$python
  command -v "$exe" >/dev/null || { echo "bench-report.sh: note: $name not found - skipping" >&2; continue; }
  selected+=("$p")
done
[ ${#selected[@]} -gt 0 ] || { echo "bench-report.sh: no program matches '$only'" >&2; exit 2; }

# run CMD... under bench_run, stdout to $out; sets status wall rss cpu
run() {
  local line
  line=$("$runner" -o "$out" -e "$work/err" -t "$timeout" -- "$@")
  status=$(sed -n 's/.*status=\([^ ]*\).*/\1/p' <<<"$line")
  wall=$(sed -n 's/.*wall=\([^ ]*\).*/\1/p' <<<"$line")
  rss=$(sed -n 's/.*rss_kb=\([^ ]*\).*/\1/p' <<<"$line")
  cpu=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(user|sys)=/) { split($i, kv, "="); s += kv[2] } } END { print s + 0 }' <<<"$line")
  [ -n "$status" ] || status=runner-error
}

# The trace of the process to compare, among DIR's ptmem.*.json of program GLOB: the one whose
# parent has no trace of that program (python3's pool workers are its children), the biggest if several.
pick_ptmem_trace() {
  local dir=$1 glob=$2
  python3 - "$dir" "$glob" <<'EOF'
import fnmatch, json, os, sys
d, glob = sys.argv[1], sys.argv[2]
found = []
for f in os.listdir(d):
    if not (f.startswith("ptmem.") and f.endswith(".json")):
        continue
    with open(os.path.join(d, f)) as fh:
        h = json.loads(fh.readline())
    if fnmatch.fnmatch(os.path.basename(h.get("exe", "")), glob):
        found.append((h["pid"], h["ppid"], os.path.getsize(os.path.join(d, f)), f))
pids = {p for p, _, _, _ in found}
roots = sorted((s, f) for p, pp, s, f in found if pp not in pids)
print(os.path.join(d, roots[-1][1]) if roots else "")
EOF
}

# record NAME GLOB STDIN ENV CMD: $traces_dir/NAME.ptmem.json and NAME.heaptrack.zst, unless there
record() {
  local name=$1 glob=$2 stdin=$3 extra=$4 tool dir f target line
  local -a argv env_opt=() in_opt=() pre=() cmd
  read -r -a argv <<<"$5"
  [ "$extra" != - ] && read -r -a env_opt <<<"$extra"
  [ "$stdin" != - ] && in_opt=(-i "$stdin")
  for tool in ptmem heaptrack; do
    target=$traces_dir/$name.$tool.$([ $tool = ptmem ] && echo json || echo zst)
    [ -s "$target" ] && continue
    echo "bench-report.sh: recording $name with $tool" >&2
    dir=$work/rec.$name.$tool
    mkdir -p "$dir"
    case $tool in
      ptmem) pre=(-p "$ptlib"); cmd=(env PTMEM_TRACK=1 "PTMEM_OUT=$dir/ptmem.%e.%p.json" "${argv[@]}") ;;
      # heaptrack writes heaptrack.<program>.<pid>.zst into the working directory
      heaptrack) pre=(); if [ "$name" = gcc ]; then cmd=("${argv[@]}" -wrapper heaptrack); else cmd=(heaptrack "${argv[@]}"); fi ;;
    esac
    line=$(cd "$dir" && env -u PTMEM_TRACK -u PTMEM_OUT ${env_opt[@]+"${env_opt[@]}"} "$runner" "${pre[@]}" \
      "${in_opt[@]}" -o /dev/null -e "$work/err" -t "$timeout" -- "${cmd[@]}")
    status=$(sed -n 's/.*status=\([^ ]*\).*/\1/p' <<<"$line")
    if [ $tool = ptmem ]; then f=$(pick_ptmem_trace "$dir" "$glob"); else f=$(ls -S "$dir"/heaptrack.$glob.*.zst 2>/dev/null | head -n 1); fi
    if [ "$status" != ok ] || [ -z "$f" ]; then
      echo "bench-report.sh: $name under $tool: ${status:-runner-error}, trace '$f'; stderr:" >&2
      tail -n 5 "$work/err" | sed 's/^/    /' >&2
      return 1
    fi
    mv "$f" "$target"
    rm -rf "$dir"
  done
}

recorded=()
for p in "${selected[@]}"; do
  IFS='|' read -r name glob stdin extra cmd <<<"$p"
  record "$name" "$glob" "$stdin" "$extra" "$cmd" && recorded+=("$name")
done
[ ${#recorded[@]} -gt 0 ] || { echo "bench-report.sh: no program could be recorded" >&2; exit 1; }

# ---- trace facts: sizes, allocations, stacks ---------------------------------------------------------
facts=$work/facts.tsv # name ptmem_bytes ptmem_allocs ptmem_stacks ptmem_nodes ht_bytes ht_raw_bytes
: >"$facts"
for name in "${recorded[@]}"; do
  pt=$traces_dir/$name.ptmem.json ht=$traces_dir/$name.heaptrack.zst
  read -r allocs stacks nodes < <(python3 - "$pt" <<'EOF'
import json, sys
allocs = stacks = nodes = 0
for line in open(sys.argv[1]):
    if line.startswith('{"type":"summary"'):
        s = json.loads(line); allocs, stacks = s["allocs"], s["stacks"]
    elif line.startswith('{"type":"nodes"'):
        nodes += len(json.loads(line)["parent"])
print(allocs, stacks, nodes)
EOF
  )
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(stat -c %s "$pt")" "$allocs" "$stacks" "$nodes" \
    "$(stat -c %s "$ht")" "$(zstd -dc "$ht" | wc -c)" >>"$facts"
done

# ---- timed reports -----------------------------------------------------------------------------------
modes=(text json print print-l)
results=$work/results.tsv # name mode rep status wall rss_kb cpu
: >"$results"
total=$((runs * ${#recorded[@]} * ${#modes[@]}))
done_runs=0
echo "bench-report.sh: ${#recorded[@]} programs x ${#modes[@]} reports x $runs runs, traces in $traces_dir" >&2
for ((rep = 1; rep <= runs; rep++)); do
  for name in "${recorded[@]}"; do
    pt=$traces_dir/$name.ptmem.json ht=$traces_dir/$name.heaptrack.zst
    for ((i = 0; i < ${#modes[@]}; i++)); do
      m=${modes[$(((i + rep - 1) % ${#modes[@]}))]}
      out=$work/out.$name.$m
      case $m in
        text) run "$report_bin" "$pt" ;;
        json) run "$report_bin" --format json "$pt" ;;
        print) run heaptrack_print -f "$ht" ;;
        print-l) run heaptrack_print -l 1 -f "$ht" ;;
      esac
      # ptmem-report's default gate fails on a leak (exit 1): the report is still complete.
      [ "$status" = exit:1 ] && [[ $m == text || $m == json ]] && status=ok
      [ "$status" = ok ] && [ ! -s "$out" ] && status=empty-output
      if [ "$status" != ok ]; then
        printf '\nbench-report.sh: %s %s (run %d): %s; stderr:\n' "$name" "$m" "$rep" "$status" >&2
        tail -n 5 "$work/err" | sed 's/^/    /' >&2
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$m" "$rep" "$status" "${wall:-0}" "${rss:-0}" "${cpu:-0}" >>"$results"
      done_runs=$((done_runs + 1))
      printf '\rbench-report.sh: run %d/%d %-8s %-8s %-8s %ss      ' "$done_runs" "$total" "$name" "$m" "$status" "$wall" >&2
    done
  done
done
echo >&2

# heaptrack_print's count of allocation calls, from its default report
for name in "${recorded[@]}"; do
  calls=$(sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' "$work/out.$name.print" 2>/dev/null | tail -n 1)
  printf '%s\t%s\n' "$name" "${calls:--}" >>"$work/calls.tsv"
done

report() { # $1 = text | md
  awk -F'\t' -v fmt="$1" -v order="${recorded[*]}" -v factsfile="$facts" -v callsfile="$work/calls.tsv" \
    -v w1=10 -v wc=12 "$BENCH_AWK_LIB"'
  function title(t) { print (fmt == "md" ? "### " t "\n" : "== " t " ==") }
  function human(b) {
    if (b >= 1048576) return sprintf("%.2f MB", b / 1048576)
    if (b >= 1024) return sprintf("%.1f kB", b / 1024)
    return b " B"
  }
  function med(p, m, k) { return ((p, m) in bad || cnt[p, m k] == 0) ? "" : median(p SUBSEP m k) }
  function fmtv(v, f) { return v == "" ? "FAIL" : sprintf(f, v) }
  function ratio(a, b) { return (a == "" || b == "" || b <= 0) ? "-" : sprintf("%.3f", a / b) }
  function table(k, what, f,   i, p, c, n) {
    title(what)
    split("program|text|json|print|print -l 1|text/print|json/print|text/print-l", c, "|"); n = 8
    row(c, n); sep(n)
    for (i = 1; i <= np; i++) {
      p = P[i]
      c[1] = p
      c[2] = fmtv(med(p, "text", k), f); c[3] = fmtv(med(p, "json", k), f)
      c[4] = fmtv(med(p, "print", k), f); c[5] = fmtv(med(p, "print-l", k), f)
      c[6] = ratio(med(p, "text", k), med(p, "print", k)); c[7] = ratio(med(p, "json", k), med(p, "print", k))
      c[8] = ratio(med(p, "text", k), med(p, "print-l", k))
      row(c, n)
    }
    print ""
  }
  {
    p = $1; m = $2
    if ($4 != "ok") {
      if (!((p, m) in bad)) fails = fails sprintf("  %s %s (run %s): %s\n", p, m, $3, $4)
      bad[p, m] = 1; next
    }
    cnt[p, m "t"]++; val[p, m "t", cnt[p, m "t"]] = $5
    cnt[p, m "r"]++; val[p, m "r", cnt[p, m "r"]] = $6 / 1024
    cnt[p, m "c"]++; val[p, m "c", cnt[p, m "c"]] = $7
    runs[p] = $3
  }
  END {
    np = split(order, P, " ")
    while ((getline line < factsfile) > 0) { split(line, F, "\t"); for (k = 2; k <= 7; k++) fact[F[1], k] = F[k] }
    while ((getline line < callsfile) > 0) { split(line, F, "\t"); calls[F[1]] = F[2] }
    title("Traces (the process both tools recorded)")
    split("program|ptmem trace|allocs|stacks|nodes|heaptrack .zst|unpacked|ht calls", c, "|"); n = 8
    row(c, n); sep(n)
    for (i = 1; i <= np; i++) {
      p = P[i]
      c[1] = p; c[2] = human(fact[p, 2]); c[3] = fact[p, 3]; c[4] = fact[p, 4]; c[5] = fact[p, 5]
      c[6] = human(fact[p, 6]); c[7] = human(fact[p, 7]); c[8] = calls[p]
      row(c, n)
    }
    print ""
    table("t", "Wall time, median seconds; ratios ptmem-report / heaptrack_print (target text/print <= 0.10)", "%.3f")
    table("c", "CPU time (user+sys), median seconds; same ratios", "%.3f")
    table("r", "Peak RSS, median MiB", "%.1f")
    title("Target")
    for (i = 1; i <= np; i++) {
      p = P[i]; a = med(p, "text", "t"); b = med(p, "print", "t"); cpa = med(p, "text", "c"); cpb = med(p, "print", "c")
      if (a == "" || b == "" || b <= 0) { printf("%s %s: no ratio (a run failed)\n", fmt == "md" ? "-" : "*", p); continue }
      printf("%s %s: ptmem-report text takes %.3f of heaptrack_print'"'"'s wall time (%.3f of its CPU time) - %s\n",
             fmt == "md" ? "-" : "*", p, a / b, cpb > 0 ? cpa / cpb : 0, a / b <= 0.10 ? "met" : "MISSED")
    }
    if (fails != "") { print ""; print "FAIL cells (exit status other than 0 (1 for ptmem-report), timeout, empty output):"; printf "%s", fails }
  }' "$results"
}

machine() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc); kernel $(uname -sr)"
  echo "- heaptrack_print: $(heaptrack --version 2>/dev/null | head -1); python3: $python; $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 | sed 's/^/sqlite3 /'); $(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /'); $(perl -e 'print "perl $^V"')"
  echo "- ptmem-report: $build/tools/ptmem-report (md5 $report_sum; source tree at start: git $git_state)"
  echo "- runs per cell: $runs (median)$([ "$quick" = 1 ] && echo ', --quick sizes'); load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

report text
if [ -n "$markdown" ]; then
  {
    echo "# ptmem-report against heaptrack_print ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    machine
    echo
    report md
  } >"$markdown"
  echo "bench-report.sh: wrote $markdown" >&2
fi
exit 0
