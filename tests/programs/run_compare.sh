#!/usr/bin/env bash
# run_compare.sh - run one real-program workload twice, on the C library's malloc and with
# LD_PRELOAD=libptmem.so, and require identical stdout, stderr and exit status.
#
# usage: run_compare.sh --lib LIB --name NAME [--require PROG]... [--expect EXE]... [--sanity]
#                       [--run-timeout SECS] WORKLOAD
#
#   WORKLOAD   a bash script; it runs with a fresh empty temp dir as cwd and as $WORK, $HOME and
#              $TMPDIR (so no user config leaks in, and temp files never appear in the output).
#   --require  a program the workload needs; if one is missing the test is skipped (exit 77).
#   --sanity   run the workload twice WITHOUT the preload (checks that the workload is deterministic)
#   --run-timeout SECS  limit for each run (default 100): a hung run (say, a deadlock in the
#              allocator) is killed and reported with its output so far, rather than the whole
#              test being killed by CTest without a word.
#   --expect   an executable (basename, e.g. cc1) that must have been started, under ptmem, during
#              the preloaded run - proves that LD_PRELOAD really reached the child processes.
#
# Why it cannot pass vacuously:
#   1. precheck: `LD_PRELOAD=LIB cat /proc/self/maps` must show libptmem.so mapped;
#   2. both runs set LD_DEBUG=files with LD_DEBUG_OUTPUT in a private dir, so the dynamic loader of
#      EVERY process the workload starts logs which objects it loaded. In the preloaded run every
#      dynamically linked process must have initialised libptmem.so; in the plain run none may have
#      (which shows that the check itself works). The count of processes is printed.
#   3. workloads may add in-process proofs (python3: ctypes.CDLL(None).pt_pool_create resolves)
#      as lines "what yes|no" in $PTMEM_PROBE: all "yes" when preloaded, all "no" when not.
#
# ptmem's own options (PTMEM_PURGE_DELAY_MS, PTMEM_HUGE_CACHE_MB, ...) set in the caller's
# environment are passed to both runs (the plain run ignores them), e.g.
#   PTMEM_PURGE_DELAY_MS=0 ctest -R programs
#
# Output normalisation: the temp dir path is replaced by @WORK@ and durations like "(0.3s)" by
# "(@Ts)"; nothing else is rewritten, so any real difference shows up in the printed diff.
set -euo pipefail

lib="" name="" workload=""
requires=() expects=() sanity=0 run_timeout=100
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) lib=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --require) requires+=("$2"); shift 2 ;;
    --expect) expects+=("$2"); shift 2 ;;
    --sanity) sanity=1; shift ;;
    --run-timeout) run_timeout=$2; shift 2 ;;
    -*) echo "run_compare.sh: unknown option $1" >&2; exit 2 ;;
    *) workload=$1; shift ;;
  esac
done
[ -n "$lib" ] && [ -n "$workload" ] || { echo "usage: run_compare.sh --lib LIB --name NAME [--require PROG]... [--expect EXE]... WORKLOAD" >&2; exit 2; }
[ -n "$name" ] || name=$(basename "$workload")
lib=$(readlink -f "$lib")
workload=$(readlink -f "$workload")
[ -f "$lib" ] || { echo "$name: preload library $lib not found" >&2; exit 1; }
[ -f "$workload" ] || { echo "$name: workload $workload not found" >&2; exit 1; }

for p in "${requires[@]}"; do
  if ! command -v "$p" >/dev/null 2>&1; then
    echo "$name: SKIPPED - '$p' is not installed (scripts/bootstrap.sh test installs it)"
    exit 77
  fi
done

# 1. precheck: the library can be preloaded at all.
# (the maps text is captured first: `cat | grep -q` could fail on SIGPIPE under pipefail)
maps=$(PTMEM_TRACK=0 LD_PRELOAD=$lib cat /proc/self/maps) || true
if ! grep -q libptmem <<<"$maps"; then
  echo "$name: FAIL - LD_PRELOAD=$lib does not map libptmem into cat" >&2
  exit 1
fi

ptmem_env=()
while IFS= read -r v; do
  case "$v" in PTMEM_PROBE | PTMEM_KEEP_RUNS) ;; *) ptmem_env+=("$v=${!v}") ;; esac
done < <(compgen -e | grep '^PTMEM_' || true)
# The allocator alone unless the caller asks for tracking (run_tracked.sh sets PTMEM_TRACK=1).
[ -n "${PTMEM_TRACK+set}" ] || ptmem_env+=(PTMEM_TRACK=0)

top=$(mktemp -d "${TMPDIR:-/tmp}/ptmem-programs-$name.XXXXXX")
trap 'rm -rf "$top"' EXIT

# run MODE: runs the workload in $top/MODE/work; results in $top/MODE/{out,err,rc,ld.*,probe}
run() {
  local mode=$1 dir=$top/$1
  mkdir -p "$dir/work" "$dir/ld"
  : >"$dir/probe"
  local pre=()
  [ "$mode" = preload ] && [ $sanity = 0 ] && pre=(LD_PRELOAD="$lib")
  local t0=$SECONDS rc=0
  # A clean, fixed environment: C locale, UTC, no user or system config for git, a hash seed for
  # python (set iteration order depends on it), and no inherited LD_PRELOAD/MALLOC_* settings.
  (cd "$dir/work" && env -i PATH="$PATH" HOME="$dir/work" TMPDIR="$dir/work" WORK="$dir/work" \
      LC_ALL=C LANG=C TZ=UTC PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
      GIT_CONFIG_NOSYSTEM=1 "${ptmem_env[@]}" PTMEM_PROBE="$dir/probe" \
      LD_DEBUG=files LD_DEBUG_OUTPUT="$dir/ld/ld" "${pre[@]}" \
      timeout -k 5 "$run_timeout" bash "$workload" >"$dir/out" 2>"$dir/err" </dev/null) || rc=$?
  echo "$rc" >"$dir/rc"
  [ $rc = 124 ] && echo "$name: $mode run TIMED OUT after $run_timeout s (killed)"
  local label="$mode run"
  [ $sanity = 1 ] && label="$mode run (sanity mode: without the preload)"
  echo "$name: $label: exit $rc, $((SECONDS - t0)) s"
  local f
  for f in out err; do
    sed -e "s|$dir/work|@WORK@|g" -e 's/([0-9][0-9.]*s)/(@Ts)/g' "$dir/$f" >"$dir/$f.norm"
  done
  # Every process image: did libptmem.so's initialiser run before "initialize program: EXE"?
  # Prints "EXE yes|no" per process image (several per file when a process exec'd).
  cat "$dir"/ld/ld.* 2>/dev/null | awk '
    /calling init: .*libptmem\.so/ { seen = 1 }
    /initialize program: / { sub(/.*initialize program: /, ""); print $0, (seen ? "yes" : "no"); seen = 0 }
  ' >"$dir/procs"
}

run plain
run preload

status=0
# 2. the outputs
for f in out err rc; do
  a=$top/plain/$f b=$top/preload/$f
  [ "$f" != rc ] && a=$a.norm b=$b.norm
  if ! cmp -s "$a" "$b"; then
    echo "$name: FAIL - $f differs (--- glibc malloc, +++ LD_PRELOAD=libptmem.so):"
    diff -u --label "plain/$f" --label "preload/$f" "$a" "$b" | head -n 200 || true
    status=1
  fi
done
if [ "$(cat "$top/plain/rc")" != 0 ]; then
  echo "$name: FAIL - the workload itself fails without the preload (exit $(cat "$top/plain/rc")):"
  tail -n 40 "$top/plain/err"
  status=1
fi

if [ $sanity = 1 ]; then
  [ $status = 0 ] && echo "$name: SANITY PASS - two runs without the preload are identical"
  exit $status
fi

# 3. the preload really was (and was not) active
nplain=$(wc -l <"$top/plain/procs") npre=$(wc -l <"$top/preload/procs")
bad_plain=$(grep -c ' yes$' "$top/plain/procs" || true)
bad_pre=$(grep ' no$' "$top/preload/procs" | sort | uniq -c || true)
echo "$name: processes started: $nplain plain, $npre preloaded; by executable:"
sed 's/ yes$//; s/ no$//; s|.*/||' "$top/preload/procs" | sort | uniq -c | sort -rn | head -n 20 | sed 's/^/    /'
if [ "$npre" -eq 0 ] || [ -n "$bad_pre" ]; then
  echo "$name: FAIL - processes of the preloaded run that did not load libptmem.so:"
  echo "${bad_pre:-    (no process logged at all)}"
  status=1
fi
if [ "$bad_plain" -ne 0 ]; then
  echo "$name: FAIL - $bad_plain processes of the plain run loaded libptmem.so (leaked LD_PRELOAD?)"
  status=1
fi
for e in "${expects[@]}"; do
  if ! sed 's/ yes$//; s/ no$//; s|.*/||' "$top/preload/procs" | grep -x -- "$e" >/dev/null; then
    echo "$name: FAIL - '$e' never ran in the preloaded run (expected it to run under ptmem)"
    status=1
  fi
done
if grep -v ' yes$' "$top/preload/probe" >/dev/null || grep -v ' no$' "$top/plain/probe" >/dev/null; then
  echo "$name: FAIL - in-process probes (preloaded run must say yes, plain run no):"
  sed 's/^/    preload: /' "$top/preload/probe"; sed 's/^/    plain:   /' "$top/plain/probe"
  status=1
elif [ -s "$top/preload/probe" ]; then
  sed 's/^/    in-process probe (preloaded): /' "$top/preload/probe"
fi

if [ $status -eq 0 ]; then
  echo "$name: PASS - stdout ($(wc -l <"$top/preload/out") lines), stderr ($(wc -l <"$top/preload/err") lines) and exit status identical"
elif [ -n "${PTMEM_KEEP_RUNS:-}" ]; then
  trap - EXIT
  echo "$name: runs kept in $top"
fi
exit $status
