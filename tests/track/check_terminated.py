#!/usr/bin/env python3
"""check_terminated.py - a process that SIGTERM ends while it runs has its leaks checked as it dies.

  wait        `terminated wait` dies of the SIGTERM one of its threads sends; its final trace has the
              leak scan, and its leaks are exactly terminated.expect's (a block kept only by another
              thread's local must not be among them)
  churn       `terminated churn`, sent SIGTERM at random moments while two threads allocate, move and
              free blocks that stay reachable: every run dies of it with a final, scanned trace and
              nothing leaked (a thread held between realloc's two tracking calls made its block's
              child look leaked)
  churn_self  the same with the signal taken by a churning thread, often inside the allocator: no
              scan there (a snapshot instead), and nothing leaked where the scan ran
  malloc_loop `terminated malloc_loop` (one thread in malloc and free most of the time), sent SIGTERM
              at random moments: every run is scanned (a signal inside malloc comes back a
              millisecond later; it gave a snapshot, and the gate's "leaks unknown", in 1 run of 6)
  fork        `terminated fork` sends SIGTERM to a forked child that lost 55 bytes: the child's final
              trace has no leak scan ("forked_child": its heap is its parent's copy, as for _exit),
              and ptmem-report passes the program with a note saying its leaks were not checked
  fork_other  the same child, sent SIGTERM by a sibling (a daemon stopped by someone else): its trace
              has the leak scan, and its 55 bytes are a definite leak of lost_in_child
  nested      `terminated nested` raises SIGTERM from a timer's handler that reallocs, often inside
              the main thread's realloc: 20 runs die of SIGTERM, and none of the scanned leaks (a
              one-flag window closed by the handler's own realloc: the moved block's child leaked)
  longjmp     `terminated longjmp` leaves realloc with siglongjmp for 0.5 s, then raises SIGTERM: it
              dies of it within seconds (a window left open for good deferred it for ever)
  twosig      `terminated twosig` (2 million live blocks) is sent SIGTERM, then SIGHUP while the scan
              runs: it dies of SIGTERM, as natively, with its final trace (the SIGHUP ended it
              mid-scan, of SIGHUP, without one)
Exit: 0 pass, 1 fail.
"""
import argparse
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_trace  # noqa: E402

fail = check_trace.fail
RUNS = 15


def env(a, outdir):
    return dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{outdir}/t.%p.json")


def one_trace(outdir, what):
    traces = glob.glob(os.path.join(outdir, "t.*.json"))
    if len(traces) != 1:
        fail(f"{what}: expected one trace, found {traces}")
    return check_trace.Trace(traces[0])


def run_to_sigterm(a, mode, name):
    """`terminated mode` in a directory of its own, which must die of SIGTERM: the directory."""
    outdir = os.path.join(a.outdir, name)
    os.makedirs(outdir)
    # Directly, not through `cmake -E env`, which would turn the death by a signal into status 1.
    r = subprocess.run([a.exe, mode], env=env(a, outdir), capture_output=True, text=True, timeout=60)
    if r.returncode != -signal.SIGTERM:
        fail(f"{name}: status {r.returncode}, expected death by SIGTERM; stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
    return outdir


def check_wait(a):
    outdir = run_to_sigterm(a, "wait", "wait")
    s = one_trace(outdir, "wait").summary
    if (s.get("signal"), s.get("final"), s.get("leak_scan")) != (signal.SIGTERM, True, True):
        fail(f"wait: signal {s.get('signal')}, final {s.get('final')}, leak_scan {s.get('leak_scan')}; "
             "expected 15, true, true (the leaks of a process SIGTERM ends are checked as it dies)")
    check_trace.check(a.expect, glob.glob(os.path.join(outdir, "t.*.json")), a.addr2line)


def check_fork(a, mode):
    outdir = os.path.join(a.outdir, mode)
    os.makedirs(outdir)
    r = subprocess.run([a.exe, mode], env=env(a, outdir), capture_output=True, text=True, timeout=60)
    if (r.returncode, r.stdout) != (0, "child killed 15\n"):
        fail(f"fork: status {r.returncode}, stdout {r.stdout!r}; stderr {r.stderr[-300:]}")
    traces = [check_trace.Trace(p) for p in glob.glob(os.path.join(outdir, "t.*.json"))]
    child = [t for t in traces if t.summary.get("signal")]
    parent = [t for t in traces if not t.summary.get("forked_child")]
    # fork_other: the sibling that sent the signal, ending in _exit, leaves a trace too
    if len(traces) != (3 if mode == "fork_other" else 2) or len(child) != 1 or len(parent) != 1:
        fail(f"{mode}: expected the program's trace and its killed child's, found {[t.path for t in traces]}")
    s = child[0].summary
    scanned = mode == "fork_other"
    if (s.get("signal"), s.get("final"), s.get("leak_scan"), s.get("forked_child")) != (signal.SIGTERM, True, scanned, True):
        fail(f"{mode}: the child's summary is {s}; expected signal 15, final, leak scan {scanned}, forked_child")
    if parent[0].summary.get("forked_child") or parent[0].summary["definite"]["count"]:
        fail(f"{mode}: the program's summary is {parent[0].summary}")
    if scanned:
        child[0].symbolize(a.addr2line)
        got = {k: v for k, v in child[0].totals_by_function().items() if k[0] in ("definite", "indirect")}
        if got != {("definite", "lost_in_child"): [1, 55]}:
            fail(f"fork_other: the child's leaks are {got}; expected definite lost_in_child 1 block / 55 bytes")
        print("fork_other: the child, killed by its sibling, died of SIGTERM with its 55-byte leak found")
        return
    if a.report:
        rep = subprocess.run([a.report, outdir], capture_output=True, text=True, timeout=60)
        if rep.returncode != 0 or "a forked child (its heap a copy of its parent's) its parent killed" not in rep.stdout:
            fail(f"fork: ptmem-report exit {rep.returncode}: {rep.stdout[-800:]} {rep.stderr[-300:]}")
    print(f"fork: the child died of SIGTERM, its final trace unscanned; the report passed")


def check_nested(a):
    scanned = 0
    for i in range(20):
        outdir = run_to_sigterm(a, "nested", f"nested{i}")
        s = one_trace(outdir, f"nested run {i}").summary
        if s.get("leak_scan"):
            scanned += 1
            if s["definite"]["count"] or s["indirect"]["count"]:
                fail(f"nested run {i}: nothing was lost, yet the scan found definite {s['definite']}, "
                     f"indirect {s['indirect']}")
    print(f"nested: 20 runs died of SIGTERM, {scanned} scanned with nothing leaked")


def check_longjmp(a):
    run_to_sigterm(a, "longjmp", "longjmp")  # it prints "alive" if the SIGTERM it raised did not end it
    print("longjmp: died of the SIGTERM it raised after leaving realloc with siglongjmp")


def check_twosig(a):
    outdir = os.path.join(a.outdir, "twosig")
    os.makedirs(outdir)
    p = subprocess.Popen([a.exe, "twosig"], env=env(a, outdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        if p.stdout.readline() != "ready\n":
            fail(f"twosig: no 'ready' line; stderr {p.stderr.read()[-300:]}")
        p.send_signal(signal.SIGTERM)
        time.sleep(0.03)  # the scan of 2 million blocks takes longer
        p.send_signal(signal.SIGHUP)
        _, err = p.communicate(timeout=60)
    except ProcessLookupError:
        p.wait()
    except subprocess.TimeoutExpired:
        p.kill()
        fail("twosig: still running 60 s after SIGTERM")
    if p.returncode != -signal.SIGTERM:
        fail(f"twosig: status {p.returncode}, expected death by SIGTERM (the first signal)")
    s = one_trace(outdir, "twosig").summary
    if (s.get("signal"), s.get("final"), s.get("leak_scan")) != (signal.SIGTERM, True, True):
        fail(f"twosig: the trace's summary is {s}")
    print(f"twosig: died of SIGTERM with its final trace ({s['reachable']['count']} reachable blocks)")


def run_churn(a, mode, i):
    outdir = os.path.join(a.outdir, f"{mode}{i}")
    os.makedirs(outdir)
    p = subprocess.Popen([a.exe, mode], env=env(a, outdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        if p.stdout.readline() != "ready\n":
            fail(f"{mode} run {i}: no 'ready' line; stderr {p.stderr.read()[-300:]}")
        time.sleep(random.uniform(0, 0.03))
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail(f"{mode} run {i}: still running 60 s after SIGTERM (the handler's scan hung)")
    if p.returncode != -signal.SIGTERM:
        fail(f"{mode} run {i}: status {p.returncode}, expected death by SIGTERM; stderr {err[-300:]}")
    s = one_trace(outdir, f"{mode} run {i}").summary
    if s.get("signal") != signal.SIGTERM:
        fail(f"{mode} run {i}: the trace does not name SIGTERM: {s}")
    if not s.get("leak_scan"):
        return False
    leaked = {k: (s[k]["count"], s[k]["bytes"]) for k in ("definite", "indirect")}
    if any(c for c, _ in leaked.values()):
        fail(f"{mode} run {i}: nothing was lost, yet the scan found {leaked}")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preload", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--addr2line", default="addr2line")
    ap.add_argument("--report", help="ptmem-report, for the fork case's gate")
    ap.add_argument("case", choices=("wait", "churn", "churn_self", "malloc_loop", "fork", "fork_other", "nested",
                                     "longjmp", "twosig"))
    a = ap.parse_args()
    shutil.rmtree(a.outdir, ignore_errors=True)
    os.makedirs(a.outdir)
    try:
        if a.case == "wait":
            check_wait(a)
        elif a.case in ("fork", "fork_other"):
            check_fork(a, a.case)
        elif a.case == "nested":
            check_nested(a)
        elif a.case == "twosig":
            check_twosig(a)
        elif a.case == "longjmp":
            check_longjmp(a)
        else:
            scanned = sum(run_churn(a, a.case, i) for i in range(RUNS))
            print(f"{a.case}: {RUNS} runs died of SIGTERM, {scanned} scanned with nothing leaked")
            if a.case == "malloc_loop" and scanned != RUNS:
                fail(f"malloc_loop: only {scanned} of {RUNS} traces have the leak scan")
            if a.case == "churn" and scanned != RUNS:
                fail(f"churn: only {scanned} of {RUNS} traces have the leak scan; the main thread, which took the "
                     "signal, was waiting, not inside the allocator")
            if a.case == "churn_self" and scanned == 0:
                fail(f"churn_self: none of {RUNS} traces has the leak scan")
    except check_trace.CheckError as e:
        print(f"check_terminated: FAIL: {e}")
        return 1
    print(f"check_terminated: {a.case}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
