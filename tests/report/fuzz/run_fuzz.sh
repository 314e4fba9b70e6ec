#!/bin/sh
# run_fuzz.sh FUZZER WORKDIR SECONDS SEED_DIR... - runs the libFuzzer target for a bounded time.
# New inputs go to WORKDIR/corpus (the seed folders stay untouched; libFuzzer reads them
# recursively), a crashing input to WORKDIR/crash-*: reproduce it with `FUZZER WORKDIR/crash-...`.
# Exit 77 (skipped) when the fuzzer could not be built (no clang with libFuzzer).
set -eu
fuzzer=$1 work=$2 seconds=$3
shift 3
if [ ! -x "$fuzzer" ]; then
  echo "skipped: no fuzzer built (clang with libFuzzer: clang-14 and libclang-rt-14-dev)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work/corpus"
dict=$(dirname "$0")/trace.dict
exec "$fuzzer" -dict="$dict" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$@"
