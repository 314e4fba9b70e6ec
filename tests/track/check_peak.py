#!/usr/bin/env python3
"""check_peak.py - runs a program under ptmem with tracking and checks the trace's peak: the total,
each listed function's share of it (the function that called malloc), temporary counts, that the
shares of all sites add up to the peak (exactly single-threaded; within a bound with threads), and
that the timeline's heap never goes below zero.

usage: check_peak.py --cmake CMAKE --preload LIB --exe PROG --outdir DIR --addr2line A2L
                     [--slack BYTES] [--base-max BYTES] SPEC...
SPEC: total=BYTES (the peak held by the listed sites), share:FUNC=BYTES, temporary:FUNC=COUNT
A program's own startup (the C library's buffers) may add up to --base-max bytes to the peak."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_trace  # noqa: E402  (the project's trace reader: validation, modules, addr2line)


def main():
    ap = argparse.ArgumentParser()
    for k in ("--cmake", "--preload", "--exe", "--outdir", "--addr2line"):
        ap.add_argument(k, required=True)
    ap.add_argument("--slack", type=int, default=0, help="allowed error of the shares' sum")
    ap.add_argument("--base-max", type=int, default=65536)
    ap.add_argument("spec", nargs="+")
    a = ap.parse_args()
    shutil.rmtree(a.outdir, ignore_errors=True)
    os.makedirs(a.outdir)
    env_args = [a.cmake, "-E", "env", "PTMEM_TRACK=1", f"PTMEM_OUT={a.outdir}/ptmem.%e.%p.json",
                f"LD_PRELOAD={a.preload}", a.exe]
    run = subprocess.run(env_args, capture_output=True, text=True, timeout=100)
    if run.returncode != 0:
        check_trace.fail(f"{a.exe} exited {run.returncode}: {run.stderr}")
    paths = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))
    if len(paths) != 1:
        check_trace.fail(f"expected one trace in {a.outdir}, found {paths}")
    trace = check_trace.Trace(paths[0])
    sites = trace.sites
    # Name each site by its first frame, as the leak checker names leaks.
    by_func = {}
    for s in sites:
        frames = trace.stacks.get(s["stack"])
        name = "??"
        if frames:
            m = trace.module_of(frames[0])
            if m and os.path.isfile(m.path):
                out = subprocess.run([a.addr2line, "-f", "-C", "-e", m.path, f"{frames[0] - m.base - 1:#x}"],
                                     capture_output=True, text=True, check=False)
                name = check_trace.strip_params(out.stdout.splitlines()[0]) if out.stdout else "??"
        agg = by_func.setdefault(name, {"peak_bytes": 0, "temporary": 0})
        agg["peak_bytes"] += s["peak_bytes"]
        agg["temporary"] += s["temporary"]
    # The heap is never below zero, whichever thread frees what another allocated.
    with open(paths[0]) as f:
        for lineno, line in enumerate(f, 1):
            if '"timeline"' in line:
                heap = json.loads(line)["heap_bytes"]
                if any(h < 0 for h in heap):
                    check_trace.fail(f"{paths[0]}:{lineno}: the timeline's heap goes below zero: {min(heap)}")
    peak = trace.summary["peak_bytes"]
    shares = sum(s["peak_bytes"] for s in sites)
    print(f"peak {peak}, sum of site shares {shares}; by function: " +
          ", ".join(f"{k}={v['peak_bytes']}" for k, v in sorted(by_func.items()) if v["peak_bytes"]))
    if abs(shares - peak) > a.slack:
        check_trace.fail(f"site shares add up to {shares}, the peak is {peak} (allowed error {a.slack})")
    listed = 0
    for spec in a.spec:
        key, _, value = spec.partition("=")
        value = int(value)
        if key == "total":
            if not (value - a.slack <= peak <= value + a.base_max):
                check_trace.fail(f"peak {peak} is not {value} (-{a.slack}, +{a.base_max} of start-up)")
        elif key.startswith("share:"):
            func = key[6:]
            got = by_func.get(func, {}).get("peak_bytes", 0)
            if abs(got - value) > a.slack:
                check_trace.fail(f"{func} holds {got} bytes of the peak, expected {value} (+-{a.slack})")
            listed += got
        elif key.startswith("temporary:"):
            func = key[10:]
            got = by_func.get(func, {}).get("temporary", 0)
            if got != value:
                check_trace.fail(f"{func} made {got} temporary allocations, expected {value}")
        else:
            check_trace.fail(f"bad spec {spec!r}")
    print("ok")


if __name__ == "__main__":
    main()
