#!/usr/bin/env python3
"""check_exit_race.py - a process that a thread other than main ends with exit (exit_race.c).

Each mode runs natively once (the status it must keep) and then tracked: the tracked run must end
with the same status and leave one final trace, with the leak scan, whose leaks are exactly
exit_race.expect's.

  sleeping  3 runs; the main thread sleeps while a worker calls exit(4)
  stopped   3 runs; as sleeping, the program stopped and continued by a child first (its trace,
            a forked child's, is left aside)
  waiting   3 runs; the main thread in pause(), two more in select() and poll()
  pool      5 runs; a library's destructor joins its worker after the scan, a thread sleeps inside
            a dl_iterate_phdr callback (the trace's module list needs that lock): no hang
  together  20 runs; five threads call exit(3) at once
Exit: 0 pass, 1 fail.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_trace  # noqa: E402

fail = check_trace.fail
RUNS = {"sleeping": 3, "stopped": 3, "waiting": 3, "pool": 5, "together": 20}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preload", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--addr2line", default="addr2line")
    ap.add_argument("mode", choices=sorted(RUNS))
    a = ap.parse_args()
    shutil.rmtree(a.outdir, ignore_errors=True)
    os.makedirs(a.outdir)
    try:
        native = subprocess.run([a.exe, a.mode], capture_output=True, timeout=60).returncode
        if native not in (3, 4):
            fail(f"{a.mode}: the program itself ended with {native}, not its exit call's status")
        for i in range(RUNS[a.mode]):
            outdir = os.path.join(a.outdir, str(i))
            os.makedirs(outdir)
            env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{outdir}/t.%p.json")
            r = subprocess.run([a.exe, a.mode], env=env, capture_output=True, text=True, timeout=60)
            if r.returncode != native:
                fail(f"{a.mode} run {i}: status {r.returncode}, natively {native}; stderr {r.stderr[-300:]}")
            traces = [t for t in map(check_trace.Trace, glob.glob(os.path.join(outdir, "t.*.json")))
                      if not t.summary.get("forked_child")]
            if len(traces) != 1:
                fail(f"{a.mode} run {i}: expected one trace, found {os.listdir(outdir)}")
            s = traces[0].summary
            if (s.get("final"), s.get("leak_scan")) != (True, True):
                fail(f"{a.mode} run {i}: final {s.get('final')}, leak_scan {s.get('leak_scan')}; expected both true")
            check_trace.check(a.expect, [traces[0].path], a.addr2line, verbose=i == 0)
        print(f"{a.mode}: {RUNS[a.mode]} runs ended with status {native}, each with its scanned final trace")
    except check_trace.CheckError as e:
        print(f"FAIL: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
