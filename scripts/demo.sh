#!/usr/bin/env bash
# The main job on a demo app: installs what is missing, builds libptmem.so, ptmem-report and the
# demo program (tests/demo/demo.c: a word counter that forks a child and leaks on purpose), runs it
# under `ptmem run` and prints the report: leaks by kind with their stacks, the heap peak and who
# held it, hot and temporary allocations, and the CI gate (which fails: the leaks are real). Then
# the same for a real program, sqlite3, whose output must be identical with and without ptmem, and
# an HTML report of the demo (ptmem-demo.html).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target ptmem ptmem-report ptmem_demo >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "=== build/ptmem run -- ptmem_demo 200000"
status=0
build/ptmem run --out "$work/demo" --frames 8 --top 3 -- build/tests/demo/ptmem_demo 200000 || status=$?
if [ "$status" -ne 1 ]; then
  echo "demo: expected the gate to fail (exit 1) on the demo's planted leaks, got exit $status" >&2
  exit 1
fi
echo "=== the gate failed (exit 1) on the leaks the demo plants; --fail-on=none or suppressions would pass it"
build/tools/ptmem-report --format html -o ptmem-demo.html "$work/demo" || true
echo "=== HTML report of the demo: $root/ptmem-demo.html"

cat >"$work/demo.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t SELECT i, printf('name-%08d', (i * 7919) % 300000), i % 97 FROM n;
CREATE INDEX t_name ON t(name);
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(DISTINCT name) FROM t;
SQL
echo
echo "=== build/ptmem run -- sqlite3 (300k rows, an index, grouped queries)"
sqlite3 :memory: ".read $work/demo.sql" >"$work/plain.out"
status=0
build/ptmem run --out "$work/sqlite3" --frames 6 --top 3 -- sqlite3 :memory: ".read $work/demo.sql" \
  >"$work/ptmem.out" || status=$?
if cmp -s "$work/plain.out" "$work/ptmem.out"; then echo "=== sqlite3's output is identical with and without ptmem"; else
  echo "OUTPUT DIFFERS:"; diff "$work/plain.out" "$work/ptmem.out" || true; exit 1; fi
echo "=== sqlite3 under ptmem: gate exit status $status"
