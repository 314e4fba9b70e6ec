#!/usr/bin/env bash
# Installs what is missing, builds ptmem three ways and runs every test:
#   build/       release build: unit tests, API conformance, stress and real programs under the preload
#   build-asan/  unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tsan/  unit tests under ThreadSanitizer
# Exit status 0 only if every test passed. Usage: scripts/test.sh  (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh test
jobs=$(nproc 2>/dev/null || echo 2)

run() { # name, extra cmake args...
  local dir=$1
  shift
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -DPTMEM_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $dir: test"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

run build
run build-asan -DPTMEM_SANITIZE=address
run build-tsan -DPTMEM_SANITIZE=thread
echo "== all tests passed"
