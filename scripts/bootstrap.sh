#!/usr/bin/env bash
# Installs the Debian packages ptmem needs to build, test and benchmark. Idempotent and quiet: when
# everything is present it prints nothing and changes nothing. Usage: scripts/bootstrap.sh [build|test|bench]
set -euo pipefail
what=${1:-test}

build_pkgs=(build-essential cmake pkg-config libunwind8 libunwind-dev libjansson-dev libdw-dev libelf-dev)
# libunwind8: loaded by tracking at run time (libunwind-dev: its header, for the types); jansson and
# libdw (elfutils): ptmem-report
test_pkgs=(clang libclang-rt-14-dev liblsan0 python3 perl sqlite3 git bash time chromium libcap2-bin)
# clang + libclang-rt: the report fuzzer, and the leak corpus built by clang and compared with clang's
# LeakSanitizer; liblsan0: gcc's LeakSanitizer, for the corpus built by gcc (tests/track); libcap2-bin:
# capsh, to run a test without CAP_SYS_PTRACE
bench_pkgs=(libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 heaptrack time)
# heaptrack (with heaptrack_print and zstd): the tracker bench-track.sh and bench-report.sh measure against

case "$what" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "bootstrap.sh: unknown set '$what' (expected build, test or bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
