#!/usr/bin/env bash
# run_tracked.sh - the real-program comparison with tracking on: run_compare.sh with PTMEM_TRACK=1
# (so the preloaded run must still print exactly what glibc's run prints), traces written to a
# scratch directory outside the workload's (a workload that lists its directory must not see them),
# then every trace is validated by the project's trace reader. Same arguments as run_compare.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
PTMEM_TRACK=1 PTMEM_OUT="$out/ptmem.%e.%p.json" bash "$here/run_compare.sh" "$@" || status=$?
[ "$status" -eq 0 ] || exit "$status"
shopt -s nullglob
traces=("$out"/*.json)
if [ ${#traces[@]} -eq 0 ]; then
  echo "run_tracked.sh: the preloaded run wrote no trace" >&2
  exit 1
fi
echo "run_tracked.sh: ${#traces[@]} traces written; validating"
python3 "$here/../track/check_trace.py" --validate "${traces[@]}" | tail -n 3
