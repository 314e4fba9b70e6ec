#!/usr/bin/env bash
# The main job on a demo app: installs what is missing, builds libptmem.so, then runs a real program
# (sqlite3 building and querying a 300k-row table, and python3 building and serialising 200k-entry dicts) with and
# without LD_PRELOAD=libptmem.so, checks both give the same answer, and prints ptmem's report of the
# run (PTMEM_STATS=1) with the wall time and peak memory of both runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target ptmem >/dev/null
lib="$root/build/preload/libptmem.so"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/demo.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t SELECT i, printf('name-%08d', (i * 7919) % 300000), i % 97 FROM n;
CREATE INDEX t_name ON t(name);
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(DISTINCT name) FROM t;
SQL
py='import json; d = {str(i): [i, str(i) * 3] for i in range(200000)}; s = json.dumps(d); print(len(s), len(json.loads(s)))'

measure() { # label, then the command; prints "label: seconds, peak KiB" from getrusage of the child
  local label=$1
  shift
  /usr/bin/env time -f "$label: %e s wall, %M KiB peak RSS" "$@"
}

for prog in sqlite3 python3; do
  echo "=== $prog"
  if [ "$prog" = sqlite3 ]; then cmd=(sqlite3 :memory: ".read $work/demo.sql"); else cmd=(/usr/bin/python3 -c "$py"); fi
  measure "glibc malloc" "${cmd[@]}" >"$work/plain.out" 2>"$work/plain.err"
  # time(1) itself runs on glibc; env puts only the program under ptmem.
  measure "ptmem       " env PTMEM_STATS=1 LD_PRELOAD="$lib" "${cmd[@]}" >"$work/ptmem.out" 2>"$work/ptmem.err"
  cat "$work/ptmem.out"
  if cmp -s "$work/plain.out" "$work/ptmem.out"; then echo "output identical with and without ptmem"; else
    echo "OUTPUT DIFFERS:"; diff "$work/plain.out" "$work/ptmem.out" || true; exit 1; fi
  tail -n1 "$work/plain.err"
  cat "$work/ptmem.err"
done
