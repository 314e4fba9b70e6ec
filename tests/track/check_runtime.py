#!/usr/bin/env python3
"""check_runtime.py - the tracker's run-time behaviour under the preload (tests/track/runtime.c):
  snapshot   ptmem_snapshot(path) writes a complete trace with "final": false while the program runs;
             a path too long to keep is ENAMETOOLONG (it was written to PTMEM_OUT's path instead)
  signal     PTMEM_SNAPSHOT_SIGNAL makes the next allocation write a snapshot; one that cannot be
             caught (9, 32) is said once on stderr
  kill       a program killed with SIGKILL after its first periodic snapshot leaves a complete trace
  sample     PTMEM_SAMPLE: the trace says it is sampled, counts are estimates within 15%
  busy_exit  exit while another thread allocates and frees: no crash, a final trace
  unwritable a trace that cannot be written (its directory missing; a full disk, /dev/full): the
             program's output and exit status are unchanged and there is exactly one warning on
             stderr, naming the path
  fifo       PTMEM_OUT naming a FIFO (like /dev/null, not a regular file) is written in place: the
             reader gets the whole trace and the FIFO is still a FIFO (renaming over /dev/null made
             it a regular file for every process of the machine)
  symlink    PTMEM_OUT naming a symlink never replaces the link (renaming over it did: as root,
             PTMEM_OUT=/dev/stderr replaced the system's /dev/stderr with a regular file). A link
             to the program's stderr, redirected to a file: the trace comes after the program's
             output there, a snapshot's in order with what the program writes after it; a link
             (two hops, relative) to a regular file: the file gets the trace, no temporary file
             is left; a dangling link: its target is created with the trace
  relative   a relative PTMEM_OUT names a file in the directory the program started in, even after
             the program changed directory (daemons chdir to /); a fork child writes there too
  exec       a program that execs starts a new trace: the new image's trace (same pid) counts only
             its own allocations, not the 1000 blocks the image before the exec left
  exec_snapshot  a program that execs after a snapshot of it was written (a shell script running
             over a second, then `exec prog`; bash's exec of the last command of -c): the final
             trace is written before the exec, without a leak scan ("exit_call" naming the call),
             and the gate passes with a note (the snapshot stayed, and failed the gate: "leaks
             unknown"). An exec that fails first leaves the process going: one that then returns
             writes its final trace at exit, with its leak scan (needs --report)
  crash      a program that crashes (SIGSEGV, abort()'s SIGABRT), is sent SIGTERM, SIGHUP, SIGQUIT or
             SIGALRM, or writes to a pipe nobody reads (SIGPIPE) well before the first periodic
             snapshot still leaves a trace, written as it crashed, "signal" naming the signal, its
             allocations counted: for a crash a snapshot ("final": false), for a request to end
             the final trace with the leak scan (its 1000 dropped blocks definite); and it dies of
             that signal, as without ptmem. A
             program with its own SIGSEGV handler keeps it (ours is not installed over it). One whose
             own SIGPIPE handler calls the handler it found (as the JVM's does) goes on, its writes
             failing with EPIPE (ptmem's handler raised the signal into the program's again: a loop).
             Python, saving a handler and putting it back, sees the default action where ptmem's
             handler stands for it, as natively (it raised TypeError on the None it made of ours).
             One that put back with signal() the SIGPIPE handler signal() gave it still dies of
             SIGPIPE (ptmem's handler, without SA_RESETHAND, took itself for another's and returned).
             One whose own SIGSEGV handler calls the handler it found, on a null write, dies of
             SIGSEGV (ptmem's did nothing, and the fault came back for ever). A vfork child
             reached by SIGTERM before its exec dies of it, and ptmem writes nothing there (the
             program's trace named the signal). A library preloaded after ptmem that wraps sigaction
             and signal (libjsig) sees the program's calls (ptmem's went to the C library's)
  exit_call  processes ending through _exit, _Exit and quick_exit (which skip destructors) still
             write their final trace, without a leak scan ("exit_call" names the way out): the
             program and its forked child, not its vfork child (it runs in its parent's memory);
             exit statuses unchanged; with --report, the gate passes with a note
  fork_while_writing  a fork while another thread is writing a snapshot (blocked opening a FIFO):
             the child writes its own final trace and exits (it used to wait forever for the
             writer, which did not come along into the child)
  main_exit  main ends with pthread_exit and the last thread's exit runs the scan: main, a zombie
             thread by then, is not waited for (that cost the 2 s bound), every running thread
             was held (threads_unheld 0), the thread's leak is definite and the block a global
             keeps is not (the process's mappings are read from /proc/thread-self: /proc/self
             is the zombie's, and empty), and the header names the program
  exit_while_writing  exit while another thread's snapshot is stuck opening a FIFO nobody reads:
             the exit gives up waiting for it (it waited forever), with one warning, and the
             program's status and output are unchanged
  depth      PTMEM_DEPTH and PTMEM_FRAME_POINTERS: a leak 40 calls deep has 32 frames by default,
             exactly N with PTMEM_DEPTH=N (the default's first N), all of them down to the
             program's entry with PTMEM_DEPTH=128; the frame-pointer walk (the program keeps frame
             pointers) gives the default's 32 frames
  spike      8 MiB live for 5 ms in a 0.4 s run shows in the timeline: a sample at the exact peak,
             low samples before and after, and the high ones no longer apart than the spike lasted
             plus two sampling intervals
  low_memory a program that lowers RLIMIT_AS below its size (no new mapping for the trace writer's
             stack tree) still gets a trace that ptmem-report accepts, with its allocation site
             and its 100 allocations (its sites named stacks that were never written; needs --report)
  closing    a program making a handful of allocations and exiting at once (too short for the
             event path to sample) gets a trace whose timeline ends with a sample taken when it was
             written, RSS included, and `ptmem-report` prints its peak RSS (not "not sampled"); a
             snapshot ends with such a sample too (needs --report)
  handler_snapshot  (lifecycle) a signal handler allocating every 20 us while snapshots are asked
             for every 2 ms: the program ends, with its final trace (a handler that landed in
             the timeline's sampling with a snapshot due waited forever for its own thread's lock)
  after_final  (lifecycle) nothing replaces the final trace once it is written: not the periodic
             snapshot of a thread still allocating while exit is held up flushing stdout, nor a
             SIGTERM then: the trace keeps its leak scan (the 777-byte definite leak) and its
             "final": true (the snapshot over it had no leak scan, and the gate passed)
  one_fd     (lifecycle) with one file descriptor free at exit, the scan still reads the process's
             mappings: the 4444 bytes a global keeps are not a leak, the 555 bytes are (the
             pagemap took the descriptor: no roots, both "definite", the gate failed)
  fault_in_scan  (lifecycle) a thread the exit scan cannot hold faults while the scan reads: the
             process dies of SIGSEGV, as without ptmem (the scan's handler jumped to the scanner
             from that thread, and the process exited 0); run without CAP_SYS_PTRACE (capsh)
  fork_loader  (lifecycle) 40 children forked while a parent thread walks the loaded objects
             (dl_iterate_phdr): every child ends (the loader's
             lock held by a parent thread at the fork stays held in the child, and the tracker's
             own dl_iterate_phdr, for its module table and for unwind rules, waited for it:
             children hung; and libunwind, for a function without unwind tables), and each
             child's trace has its 4321-byte and 1234-byte definite leaks, whose first frames lie
             in the program's module in that trace's module table
  address_limit  under a limit on address space (RLIMIT_AS, `ulimit -v`): 60 MB untracked and
             400 MB tracked, the program runs as under glibc, and the tracked trace has its
             99-byte definite leak (1 GiB regions failed every malloc under 1 GB; the tracker's
             tables failed silently below 3.4 GB: a trace of no allocations)
  utf8       a program whose file name holds the byte 0xff, run with an argument in Latin-1 and one of
             2501 characters (5001 bytes) of UTF-8: the trace is valid UTF-8 (each invalid byte is
             U+FFFD, the long argument is cut on a character boundary) and `ptmem-report` reads it
             (it rejected the whole trace; needs --report)
  fsize      a trace bigger than RLIMIT_FSIZE (2 KiB): its write fails with EFBIG instead of
             SIGXFSZ killing the program (status 153), with one warning naming the trace and no
             .tmp file left, at exit (plain), in a snapshot and at exit (fsize: the program's own
             SIGXFSZ handler is kept, not run by ptmem's writes, and its own pending SIGXFSZ stays
             pending) and in the crash handler (crash: the process dies of its SIGSEGV)
  fork_unwritable  a parent whose trace cannot be written warns (in a snapshot), then forks: the
             child's trace fails too, and the child warns for its own (it inherited the parent's
             one-warning latch, and was silent); exactly one warning per process, each naming
             that process's trace
usage: check_runtime.py --cmake CMAKE --preload LIB --exe PROG --outdir DIR [--report TOOL] CASE"""
import argparse
import glob
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_trace  # noqa: E402

fail = check_trace.fail


def env_cmd(a, *env, args=()):
    return [a.cmake, "-E", "env", "PTMEM_TRACK=1", f"LD_PRELOAD={a.preload}", *env, a.exe, *args]


def summary(path):
    return check_trace.Trace(path).summary


def timeline(path):
    """The trace's samples in order, as (t_ns, heap_bytes, rss_bytes)."""
    samples = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") == "timeline":
                samples += zip(rec["t_ns"], rec["heap_bytes"], rec["rss_bytes"])
    return samples


def leak_stack(a, name, *env):
    """The stack of the one 99-byte definite leak of `runtime deep`, as (module path, offset)
    pairs (comparable across runs), and the trace's header."""
    outdir = os.path.join(a.outdir, name)
    os.makedirs(outdir)
    r = subprocess.run(env_cmd(a, f"PTMEM_OUT={outdir}/t.json", *env, args=("deep",)), capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0 or r.stdout != "done\n":
        fail(f"{name}: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
    t = check_trace.Trace(os.path.join(outdir, "t.json"))
    leaks = [l for l in t.leaks if l["kind"] == "definite" and l["bytes"] == 99]
    if len(leaks) != 1:
        fail(f"{name}: expected one definite leak of 99 bytes, found {t.leaks}")
    frames = []
    for addr in t.stacks[leaks[0]["stack"]]:
        m = t.module_of(addr)
        frames.append((m.path, addr - m.base))
    return frames, t.header


def run_with_stuck_fifo(a, out, mode, hung):
    """Runs `runtime MODE FIFO`, whose snapshot thread blocks opening a new FIFO until (if ever) the
    program reads it; fails with `hung` if the run does not end within a minute."""
    fifo = os.path.join(a.outdir, mode + ".fifo")
    os.mkfifo(fifo)
    try:
        return subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=(mode, fifo)), capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        fail(hung)


def split_traces(data, outdir):
    """The traces in `data` (a stream with other output around them), each saved as a file, and
    the other lines, in order: (["before\n", trace path, ...])."""
    parts, trace = [], []
    for line in data.splitlines(keepends=True):
        if line.startswith('{"type":'):
            trace.append(line)
            if line.startswith('{"type":"summary"'):
                path = os.path.join(outdir, f"from-stream.{len(parts)}.json")
                with open(path, "w", encoding="utf-8") as f:
                    f.writelines(trace)
                parts.append(path)
                trace = []
        elif trace:
            fail(f"program output inside a trace: {line!r}")
        else:
            parts.append(line)
    if trace:
        fail(f"a trace without its summary at the end of the stream: {trace[-1][:100]!r}")
    return parts


def check_link_kept(link, text):
    if not os.path.islink(link) or os.readlink(link) != text:
        fail(f"{link} is no longer the symlink to {text}: the trace replaced it")


def check_to_std_stream(a, link, snapshot):
    """Runs `runtime stderr` with stderr in a file and PTMEM_OUT=link (a link to the program's
    stderr): the file must hold the program's lines with the traces where they were written."""
    name = os.path.basename(link)
    err = os.path.join(a.outdir, name + ".err")
    with open(err, "w", encoding="utf-8") as f:
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={link}", args=("stderr", link) if snapshot else ("stderr",)),
                           stdout=subprocess.PIPE, stderr=f, text=True, timeout=60)
    if r.returncode != 0 or r.stdout != "done\n":
        fail(f"{name}: status {r.returncode}, stdout {r.stdout!r}")
    with open(err, encoding="utf-8") as f:
        parts = split_traces(f.read(), a.outdir)
    want = 4 if snapshot else 3  # before, [a snapshot,] after, the final trace
    if len(parts) != want or parts[0] != "before\n" or parts[-2] != "after\n":
        fail(f"{name}: stderr should be the program's lines and the traces in order, got {parts}")
    if snapshot and summary(parts[1]).get("final") is not False:
        fail(f"{name}: the snapshot between the program's lines is not one")
    if summary(parts[-1]).get("final") is not True:
        fail(f"{name}: the trace after the program's output is not the final trace")
    print(f"{name}: stderr holds {len(parts)} parts in order")


def check_symlinks(a):
    # A link to the program's stderr, and one through the system's /dev/stderr (never that one
    # itself: before the fix the test would have replaced it, as root).
    mine = os.path.join(a.outdir, "mystderr")
    os.symlink("/proc/self/fd/2", mine)
    check_to_std_stream(a, mine, snapshot=False)
    check_to_std_stream(a, mine, snapshot=True)
    check_link_kept(mine, "/proc/self/fd/2")
    if os.path.exists("/dev/stderr"):
        via_dev = os.path.join(a.outdir, "via-dev-stderr")
        os.symlink("/dev/stderr", via_dev)
        check_to_std_stream(a, via_dev, snapshot=True)
        check_link_kept(via_dev, "/dev/stderr")
    # sub/hop.json -> ../link.json -> real/trace.json (a regular file): both links are followed.
    for d in ("real", "sub"):
        os.makedirs(os.path.join(a.outdir, d))
    target = os.path.join(a.outdir, "real", "trace.json")
    with open(target, "w", encoding="utf-8") as f:
        f.write("not a trace yet\n")
    link, hop = os.path.join(a.outdir, "link.json"), os.path.join(a.outdir, "sub", "hop.json")
    os.symlink("real/trace.json", link)
    os.symlink("../link.json", hop)
    for out in (link, hop):
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("plain",)), capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0 or r.stderr:
            fail(f"{out}: status {r.returncode}, stderr {r.stderr[-300:]}")
        check_link_kept(link, "real/trace.json")
        check_link_kept(hop, "../link.json")
        if os.path.islink(target) or summary(target).get("final") is not True:
            fail(f"{out}: {target} does not hold the final trace")
        left = [p for d in (a.outdir, os.path.dirname(target), os.path.dirname(hop)) for p in os.listdir(d)
                if p.endswith(".tmp")]
        if left:
            fail(f"{out}: temporary files left: {left}")
    print(f"link to a regular file: {target} holds the trace, both links kept")
    # A dangling link: its target is created through it.
    dangling, new = os.path.join(a.outdir, "dangling.json"), os.path.join(a.outdir, "real", "new.json")
    os.symlink("real/new.json", dangling)
    r = subprocess.run(env_cmd(a, f"PTMEM_OUT={dangling}", args=("plain",)), capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0 or r.stderr:
        fail(f"dangling: status {r.returncode}, stderr {r.stderr[-300:]}")
    check_link_kept(dangling, "real/new.json")
    if os.path.islink(new) or summary(new).get("final") is not True:
        fail(f"dangling: {new} does not hold the final trace")
    print(f"dangling link: {new} created with the trace, the link kept")


def check_low_memory(a, out):
    r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("low_memory",)), capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0 or r.stdout != "limited\ndone\n":
        fail(f"program failed: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
    trace = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0]
    rep = subprocess.run([a.report, "--format", "folded", "--cost", "allocations", trace], capture_output=True,
                         text=True, timeout=60)
    if rep.returncode != 0:
        fail(f"ptmem-report rejects the trace written without memory: exit {rep.returncode}, {rep.stderr[-500:]}")
    site = [l for l in rep.stdout.splitlines() if l.rsplit(" ", 1)[0].endswith(";low_memory_site")]
    if len(site) != 1 or int(site[0].rsplit(" ", 1)[1]) != 100:
        fail(f"expected low_memory_site's 100 allocations in the report, got {site}")
    # Not check_trace.Trace: it rejects the incomplete leak scan, which is right here (the scan
    # had no memory either, and says so).
    with open(trace, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    nodes = sum(len(r["parent"]) for r in records if r["type"] == "nodes")
    stacks = sum(len(r["node"]) for r in records if r["type"] == "stacks")
    print(f"{stacks} stacks, {nodes} nodes, summary {records[-1]}; {site[0]}")


def check_closing_sample(path):
    """The trace ends with a sample of the moment it was written: RSS read, no later than the
    summary's end, after every other sample, and its heap the live heap or more."""
    samples, s = timeline(path), summary(path)
    if not samples:
        fail(f"{path}: no timeline sample at all")
    t, heap, rss = samples[-1]
    if rss <= 0:
        fail(f"{path}: the last sample has no RSS: {samples[-3:]}")
    if t > s["duration_ns"] or any(prev[0] > t for prev in samples[:-1]):
        fail(f"{path}: the last sample ({t} ns) is not the last moment (duration {s['duration_ns']} ns)")
    if not s["live_bytes"] <= heap <= s["peak_bytes"]:
        fail(f"{path}: the last sample's heap {heap} is not between live {s['live_bytes']} and peak {s['peak_bytes']}")
    return samples


def run_mode(a, mode):
    """`exe mode` under the preload, tracked, its traces in a directory of its own: (directory, result)."""
    outdir = os.path.join(a.outdir, mode)
    os.makedirs(outdir)
    r = subprocess.run(env_cmd(a, f"PTMEM_OUT={outdir}/t.%p.json", args=(mode,)), capture_output=True, text=True,
                       timeout=60)
    return outdir, r


def definite_leaks(t):
    return sorted((l["count"], l["bytes"]) for l in t.leaks if l["kind"] == "definite")


def after_final(a, name, term):
    """lifecycle after_final, read late (and sent SIGTERM then if `term`): the final trace stays."""
    outdir = os.path.join(a.outdir, name)
    os.makedirs(outdir)
    env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{outdir}/t.json")
    p = subprocess.Popen([a.exe, "after_final"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.5)  # exit is stuck flushing stdout; the first periodic snapshot is due at 1 s
    if term:
        p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    want = -signal.SIGTERM if term else 0
    if p.returncode != want:
        fail(f"{name}: status {p.returncode}, expected {want}; stderr {err[-300:]}")
    if not term and len(out) != 1 << 19:
        fail(f"{name}: the program wrote {len(out)} bytes, not {1 << 19}")
    t = check_trace.Trace(os.path.join(outdir, "t.json"))
    s = t.summary
    if s.get("final") is not True or s.get("leak_scan") is not True or "signal" in s:
        fail(f"{name}: the final trace was replaced: final {s.get('final')}, leak_scan {s.get('leak_scan')}, "
             f"signal {s.get('signal')}")
    if definite_leaks(t) != [(1, 777)]:
        fail(f"{name}: definite leaks {definite_leaks(t)}, expected [(1, 777)]")
    print(f"{name}: status {p.returncode}; the final trace stayed, with its 777-byte leak")


def main():
    ap = argparse.ArgumentParser()
    for k in ("--cmake", "--preload", "--exe", "--outdir"):
        ap.add_argument(k, required=True)
    ap.add_argument("--report", help="ptmem-report (the closing case)")
    ap.add_argument("case")
    a = ap.parse_args()
    shutil.rmtree(a.outdir, ignore_errors=True)
    os.makedirs(a.outdir)
    out = os.path.join(a.outdir, "ptmem.%e.%p.json")
    if a.case == "snapshot":
        snap = os.path.join(a.outdir, "snap.json")
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("snapshot", snap)), capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0 or "snapshot: 0" not in r.stdout:
            fail(f"program failed: {r.returncode} {r.stdout} {r.stderr}")
        if "too long: ENAMETOOLONG" not in r.stdout:
            fail(f"a snapshot to a path too long to keep did not fail with ENAMETOOLONG: {r.stdout!r}")
        s = summary(snap)
        if s.get("final") is not False or s.get("leak_scan"):
            fail(f"the snapshot should be non-final and without a leak scan: {s}")
        final = summary(glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0])
        if final.get("final") is not True or final["allocs"] <= s["allocs"]:
            fail(f"the final trace should be final and count the later allocations: {final}")
    elif a.case == "signal":
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", "PTMEM_SNAPSHOT_SIGNAL=10", args=("signal",)),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or "signalled" not in r.stdout:
            fail(f"the signal killed the program or it failed: {r.returncode} {r.stderr}")
        for signo in ("9", "32"):  # SIGKILL; the C library keeps 32 for itself
            r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", f"PTMEM_SNAPSHOT_SIGNAL={signo}", args=("plain",)),
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or r.stderr.count("cannot be caught") != 1:
                fail(f"PTMEM_SNAPSHOT_SIGNAL={signo}: status {r.returncode}, expected one warning: {r.stderr!r}")
        # A fault signal is refused, and a crash still dies of it with its trace (it spun for ever).
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=out, PTMEM_SNAPSHOT_SIGNAL="11")
        r = subprocess.run([a.exe, "crash"], env=env, capture_output=True, text=True, timeout=60)
        if r.returncode != -signal.SIGSEGV or r.stderr.count("names a fault signal") != 1:
            fail(f"PTMEM_SNAPSHOT_SIGNAL=11 and a crash: status {r.returncode}, expected death by SIGSEGV and one "
                 f"warning: {r.stderr!r}")
    elif a.case == "kill":
        # The program itself, not cmake -E env: SIGKILL must hit the traced process.
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=out)
        p = subprocess.Popen([a.exe, "long", "30"], env=env)
        deadline = time.time() + 20
        traces = []
        while time.time() < deadline and not traces:  # the first snapshot comes after ~1 s
            time.sleep(0.2)
            traces = [t for t in glob.glob(os.path.join(a.outdir, "ptmem.*.json"))]
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait()
        if not traces:
            fail("no snapshot was written before the kill")
        s = summary(traces[0])
        if s.get("final") is not False or s["allocs"] < 1000:
            fail(f"expected a complete non-final snapshot with the activity so far: {s}")
    elif a.case == "sample":
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", "PTMEM_SAMPLE=65536", args=("sample",)),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail(f"program failed: {r.stderr}")
        path = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0]
        t = check_trace.Trace(path)
        if t.header.get("sample_bytes") != 65536 or t.summary.get("approximate") is not True:
            fail(f"a sampled trace must say so: header {t.header}, summary {t.summary}")
        allocs = t.summary["allocs"]
        if not 0.85 * 100000 <= allocs - 2 <= 1.15 * 100000:
            fail(f"estimated {allocs} allocations for 100002 made")
        print(f"sampled estimate: {allocs} allocations (100002 made)")
    elif a.case == "busy_exit":
        for _ in range(5):  # a race: try it a few times
            r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("busy_exit",)), capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0 or "done" not in r.stdout:
                fail(f"exit with a busy thread: status {r.returncode}, stderr {r.stderr[-500:]}")
        for path in glob.glob(os.path.join(a.outdir, "ptmem.*.json")):
            if summary(path).get("final") is not True:
                fail(f"{path}: no final trace")
    elif a.case == "unwritable":
        plain = subprocess.run([a.exe, "plain"], capture_output=True, text=True, timeout=60)
        r = subprocess.run(env_cmd(a, "PTMEM_OUT=/nonexistent-dir/ptmem.%p.json", args=("plain",)),
                           capture_output=True, text=True, timeout=60)
        if (r.returncode, r.stdout) != (plain.returncode, plain.stdout):
            fail(f"output changed: {r.returncode} {r.stdout!r} vs {plain.returncode} {plain.stdout!r}")
        warnings = [l for l in r.stderr.splitlines() if l.startswith("ptmem:")]
        if len(warnings) != 1 or "/nonexistent-dir/" not in warnings[0]:
            fail(f"expected exactly one warning naming the path, got {warnings}")
        if os.path.exists("/dev/full"):  # a disk that is full: every write fails with ENOSPC
            r = subprocess.run(env_cmd(a, "PTMEM_OUT=/dev/full", args=("plain",)), capture_output=True, text=True,
                               timeout=60)
            if (r.returncode, r.stdout) != (plain.returncode, plain.stdout):
                fail(f"output changed on a full disk: {r.returncode} {r.stdout!r}")
            warnings = [l for l in r.stderr.splitlines() if l.startswith("ptmem:")]
            if len(warnings) != 1 or "/dev/full: No space left on device" not in warnings[0]:
                fail(f"expected one warning naming /dev/full and ENOSPC, got {warnings}")
    elif a.case == "fifo":
        import stat
        import threading
        os.makedirs(a.outdir, exist_ok=True)
        fifo = os.path.join(a.outdir, "trace.fifo")
        if os.path.lexists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
        reader.start()
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={fifo}", args=("plain",)), capture_output=True, text=True, timeout=60)
        reader.join(60)
        if r.returncode != 0:
            fail(f"program failed with PTMEM_OUT on a FIFO: {r.returncode} {r.stderr[-300:]}")
        if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
            fail(f"{fifo} is no longer a FIFO: the trace was renamed over it")
        data = got[0] if got else b""
        copy = os.path.join(a.outdir, "from-fifo.json")
        with open(copy, "wb") as f:
            f.write(data)
        if summary(copy).get("final") is not True:
            fail("the trace read from the FIFO has no final summary")
        # Nobody reads the FIFO: exit waits in open() for a reader, as asked, but SIGTERM still ends
        # the process, its trace given up after a bounded wait (it waited for ever, signals blocked).
        lonely = os.path.join(a.outdir, "unread.fifo")
        if os.path.lexists(lonely):
            os.unlink(lonely)
        os.mkfifo(lonely)
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=lonely)
        p = subprocess.Popen([a.exe, "plain"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            fail("SIGTERM did not end a process waiting at exit for a reader of its trace FIFO")
        if p.returncode != -signal.SIGTERM:
            fail(f"SIGTERM while waiting for the FIFO's reader: status {p.returncode}, expected death by SIGTERM: {err!r}")
    elif a.case == "symlink":
        check_symlinks(a)
    elif a.case == "low_memory":
        if not a.report:
            fail("the low_memory case needs --report")
        check_low_memory(a, out)
    elif a.case == "relative":
        elsewhere = os.path.join(a.outdir, "elsewhere")
        os.makedirs(elsewhere)
        r = subprocess.run(env_cmd(a, "PTMEM_OUT=rel.%p.json", args=("chdir", elsewhere)), cwd=a.outdir,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or "done" not in r.stdout:
            fail(f"program failed: {r.returncode} {r.stderr[-300:]}")
        moved = os.listdir(elsewhere)
        if moved:
            fail(f"the trace followed the program's chdir into {elsewhere}: {moved}")
        traces = glob.glob(os.path.join(a.outdir, "rel.*.json"))
        if len(traces) != 1 or summary(traces[0]).get("final") is not True:
            fail(f"expected one final trace rel.<pid>.json in the start directory, found {traces}")
    elif a.case == "exec":
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("exec",)), capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or r.stdout != "done\n":
            fail(f"exec'd program: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        traces = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))
        if len(traces) != 1:
            fail(f"expected the new image's trace only, found {traces}")
        t = check_trace.Trace(traces[0])
        s = t.summary
        argv = t.header.get("argv", [])
        if s.get("final") is not True or argv[1:] != ["plain"]:
            fail(f"{traces[0]}: not the final trace of the exec'd image: argv {argv}, final {s.get('final')}")
        if s["allocs"] >= 1000 or s["live_bytes"] >= 48000:
            fail(f"{traces[0]}: the new image's trace counts the old image's blocks: {s}")
        print(f"new image: {s['allocs']} allocations, {s['live_bytes']} bytes live at exit")
    elif a.case == "exec_snapshot":
        for then in ("exec", "exit"):
            outdir = os.path.join(a.outdir, then)
            os.makedirs(outdir)
            env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{outdir}/t.%e.%p.json")
            r = subprocess.run([a.exe, "exec_snapshot", then], env=env, capture_output=True, text=True, timeout=60)
            want = "exec failed: ENOENT\n" + ("via execle\n" if then == "exec" else "done\n")
            if r.returncode != 0 or r.stdout != want:
                fail(f"{then}: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
            traces = glob.glob(f"{outdir}/t.*.json")
            own = [p for p in traces if os.path.basename(p).startswith("t.track_runtime.")]
            if len(own) != 1 or len(traces) != (2 if then == "exec" else 1):
                fail(f"{then}: expected the program's trace{' and the shell' + chr(39) + 's' if then == 'exec' else ''}, "
                     f"found {traces}")
            s = summary(own[0])
            want_s = ("execle", True, False) if then == "exec" else (None, True, True)
            if (s.get("exit_call"), s.get("final"), s.get("leak_scan")) != want_s or s["allocs"] < 1000:
                fail(f"{then}: {own[0]}: exit_call {s.get('exit_call')}, final {s.get('final')}, leak_scan "
                     f"{s.get('leak_scan')}, {s['allocs']} allocations; expected {want_s}, 1000 or more")
            if a.report and then == "exec":
                rep = subprocess.run([a.report, "--top", "0", outdir], capture_output=True, text=True, timeout=60)
                if rep.returncode != 0 or "ended through execle" not in rep.stdout:
                    fail(f"{then}: ptmem-report exit {rep.returncode}: {rep.stdout[-600:]} {rep.stderr[-300:]}")
            print(f"{then}: {own[0]}: exit_call {s.get('exit_call')}, leak_scan {s.get('leak_scan')}")
    elif a.case == "crash":
        def no_core():
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        for mode, signo in (("crash", signal.SIGSEGV), ("abort", signal.SIGABRT), ("term", signal.SIGTERM),
                            ("pipe", signal.SIGPIPE), ("hup", signal.SIGHUP), ("alarm", signal.SIGALRM),
                            ("quit", signal.SIGQUIT), ("restored_pipe", signal.SIGPIPE),
                            ("chained_segv", signal.SIGSEGV)):
            outdir = os.path.join(a.outdir, mode)
            os.makedirs(outdir)
            # Directly, not through `cmake -E env`, which would turn the death by a signal into status 1.
            env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{outdir}/t.%p.json")
            r = subprocess.run([a.exe, mode], env=env, capture_output=True, text=True, timeout=60, preexec_fn=no_core,
                               restore_signals=True)
            if r.returncode != -signo:
                fail(f"{mode}: status {r.returncode}, expected death by signal {signo}; stderr {r.stderr[-300:]}")
            traces = glob.glob(os.path.join(outdir, "t.*.json"))
            if len(traces) != 1:
                fail(f"{mode}: expected one trace, found {traces}")
            s = summary(traces[0])
            # A request to end (not a crash or an abort) has its leaks checked as the process dies:
            # the 1000 blocks before_crash dropped (one may still be in a register) are definite.
            asks_to_end = signo not in (signal.SIGSEGV, signal.SIGABRT)
            if (s.get("final") is not asks_to_end or s.get("leak_scan") is not asks_to_end or s.get("signal") != signo
                    or s["allocs"] < 1000 or (asks_to_end and not 999 <= s["definite"]["count"] <= 1000)):
                fail(f"{mode}: the crash trace's summary is {s}")
            print(f"{mode}: died of signal {signo}; trace has {s['allocs']} allocations, signal {s['signal']}, "
                  f"leak scan {s['leak_scan']}")
        outdir, r = run_mode(a, "own_handler")
        if (r.returncode, r.stdout) != (3, "own handler\n"):
            fail(f"own_handler: status {r.returncode}, stdout {r.stdout!r}: the program's handler did not run")
        for path in glob.glob(os.path.join(outdir, "t.*.json")):
            if "signal" in summary(path):
                fail(f"own_handler: {path} was written by ptmem's crash handler, which replaced the program's")
        # A program reading a signal's action is shown the default where ptmem's handler stands for
        # it: Python's timeout idiom (save the handler, put it back) raised TypeError on the None it
        # made of ours, and getsignal said None where it says SIG_DFL.
        script = ("import signal\n"
                  "for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGHUP, signal.SIGQUIT, signal.SIGSEGV):\n"
                  "    old = signal.signal(s, lambda *args: None)\n"
                  "    signal.signal(s, old)\n"
                  "    print(s.name, signal.getsignal(s))\n")
        native = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=os.devnull)
        preloaded = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        if native.returncode != 0 or (preloaded.returncode, preloaded.stdout) != (0, native.stdout):
            fail(f"python's save and restore of signal handlers: natively {native.returncode} {native.stdout!r}, "
                 f"preloaded {preloaded.returncode} {preloaded.stdout!r} {preloaded.stderr[-300:]}")
        print(f"python saves and restores its handlers as natively: {preloaded.stdout.split()}")
        # A vfork child keeps ptmem's handler where Python's subprocess puts back the default of the
        # handlers it is shown (it is shown the default): a signal there wrote a trace from the
        # parent's memory, and the parent's final trace named the signal.
        outdir, r = run_mode(a, "vfork_term")
        if (r.returncode, r.stdout) != (0, "child signal 15\n"):
            fail(f"vfork_term: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        traces = glob.glob(os.path.join(outdir, "t.*.json"))
        if len(traces) != 1:
            fail(f"vfork_term: expected the program's trace alone (none from its vfork child), found {traces}")
        s = summary(traces[0])
        if s.get("final") is not True or "signal" in s:
            fail(f"vfork_term: the program's trace's summary is {s}: its vfork child's SIGTERM wrote into it")
        print("vfork_term: the vfork child died of SIGTERM; the program's trace does not name it")
        # A library preloaded after ptmem that wraps sigaction and signal (the JVM's libjsig) sees the
        # program's calls: ptmem's wrappers went straight to the C library's, and a native library's
        # SIGSEGV handler replaced the JVM's.
        next_lib = os.path.join(os.path.dirname(a.exe), "sigaction_next.so")
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=f"{a.preload} {next_lib}", PTMEM_OUT=os.devnull)
        r = subprocess.run([a.exe, "next_sigaction"], env=env, capture_output=True, text=True, timeout=60)
        if (r.returncode, r.stdout) != (0, "next 4 default\n"):
            fail(f"next_sigaction: status {r.returncode}, stdout {r.stdout!r} (expected 'next 4 default': the calls "
                 f"reach the wrapper preloaded after ptmem), stderr {r.stderr[-300:]}")
        print("next_sigaction: the program's sigaction and signal calls reached the wrapper preloaded after ptmem")
        try:
            outdir, r = run_mode(a, "chained_pipe")
        except subprocess.TimeoutExpired:
            fail("chained_pipe: hung (ptmem's handler, called by the program's, raised SIGPIPE into it again)")
        if (r.returncode, r.stdout) != (0, "chained 3 EPIPE 3\n"):
            fail(f"chained_pipe: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        s = summary(glob.glob(os.path.join(outdir, "t.*.json"))[0])
        if s.get("final") is not True or "signal" in s:
            fail(f"chained_pipe: the trace's summary is {s}")
        print("chained_pipe: the program's own handler ran three times, the writes failed with EPIPE")
    elif a.case == "exit_call":
        for how, status in (("_exit", 6), ("_Exit", 7), ("quick_exit", 8)):
            outdir = os.path.join(a.outdir, how)
            os.makedirs(outdir)
            env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{outdir}/t.%p.json")
            r = subprocess.run([a.exe, "exit_call", how], env=env, capture_output=True, text=True, timeout=60)
            if (r.returncode, r.stdout) != (status, "children done\n"):
                fail(f"{how}: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
            traces = {check_trace.Trace(p).header["pid"]: check_trace.Trace(p) for p in glob.glob(f"{outdir}/t.*.json")}
            parent = [t for t in traces.values() if t.header["ppid"] not in traces]
            child = [t for t in traces.values() if t.header["ppid"] in traces]
            if len(traces) != 2 or len(parent) != 1 or len(child) != 1:
                fail(f"{how}: expected the program's trace and its forked child's (not the vfork child's): "
                     f"{[(t.header['pid'], t.header['ppid']) for t in traces.values()]}")
            for t, want in ((parent[0], how), (child[0], "_exit")):
                s = t.summary
                if (s.get("exit_call"), s.get("final"), s.get("leak_scan")) != (want, True, False):
                    fail(f"{how}: {t.path}: exit_call {s.get('exit_call')}, final {s.get('final')}, "
                         f"leak_scan {s.get('leak_scan')}; expected {want}, true, false")
            if child[0].summary["allocs"] < 1000:
                fail(f"{how}: the forked child's trace has {child[0].summary['allocs']} allocations, not its 1000")
            if a.report:
                rep = subprocess.run([a.report, "--top", "0", outdir], capture_output=True, text=True, timeout=60)
                if rep.returncode != 0 or f"ended through {how}" not in rep.stdout:
                    fail(f"{how}: ptmem-report exit {rep.returncode}: {rep.stdout[-600:]} {rep.stderr[-300:]}")
            print(f"{how}: status {status}; traces of the program and its forked child, exit_call {how} and _exit")
    elif a.case == "fork_while_writing":
        r = run_with_stuck_fifo(a, out, "fork_while_writing",
                                "the program hung: the forked child waited for a trace writer that is not in it")
        if r.returncode != 0 or r.stdout != "child exited 0\nsnapshot 0\ndone\n":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        finals = [p for p in glob.glob(os.path.join(a.outdir, "ptmem.*.json")) if summary(p).get("final") is True]
        if len(finals) != 2:
            fail(f"expected the final traces of the program and its child, found {finals}")
    elif a.case == "main_exit":
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("main_exit",)), capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or r.stdout != "done\n":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        path = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0]
        s = summary(path)
        header = check_trace.Trace(path).header
        if s.get("threads_unheld") != 0 or s["definite"] != {"count": 1, "bytes": 123}:
            fail(f"{path}: threads_unheld {s.get('threads_unheld')!r} (main, a zombie, counted as running?), "
                 f"definite {s['definite']} (expected only the 123 bytes: the global's block is reachable)")
        if header["exe"] != os.path.realpath(a.exe) or header["argv"][1:] != ["main_exit"]:
            fail(f"{path}: header exe {header['exe']!r}, argv {header['argv']!r}")
    elif a.case == "sparse":
        # No cmake -E env here: the peak RSS of this process's children is the program's alone.
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=out)
        r = subprocess.run([a.exe, "sparse"], env=env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or r.stdout != "done\n":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        s = summary(glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0])
        print(f"peak RSS {peak_mib:.0f} MiB with a 1 GiB block alive at exit; definite {s['definite']}")
        if s["definite"] != {"count": 1, "bytes": 555}:
            fail(f"definite {s['definite']}: expected only the 555 bytes (the 777 are kept from inside the big block)")
        if peak_mib > 256:
            fail(f"peak RSS {peak_mib:.0f} MiB: the exit scan read the big block's untouched pages")
    elif a.case == "exit_while_writing":
        r = run_with_stuck_fifo(a, out, "exit_while_writing", "the exit waited forever for a snapshot stuck on a FIFO")
        if r.returncode != 0 or r.stdout != "done\n" or "did not finish" not in r.stderr:
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
    elif a.case == "depth":
        default, h = leak_stack(a, "default")
        short, hs = leak_stack(a, "depth5", "PTMEM_DEPTH=5")
        full, _ = leak_stack(a, "depth128", "PTMEM_DEPTH=128")
        fp, hf = leak_stack(a, "frame_pointers", "PTMEM_FRAME_POINTERS=1")
        exe = h["exe"]
        print(f"frames: default {len(default)}, depth 5 {len(short)}, depth 128 {len(full)}, frame pointers {len(fp)}")
        if (h["depth"], hs["depth"], h["unwinder"], hf["unwinder"]) != (32, 5, "libunwind", "frame-pointers"):
            fail(f"headers: depth {h['depth']}/{hs['depth']}, unwinder {h['unwinder']}/{hf['unwinder']}")
        if len(default) != 32 or any(path != exe for path, _ in default):
            fail(f"default: expected 32 frames, all in the program (40 calls deep): {default}")
        if short != default[:5]:
            fail(f"PTMEM_DEPTH=5 gave {short}, not the default's first 5 frames {default[:5]}")
        # deep_leak at 41 levels (40 recursive calls + the first), main, the C library's start, _start
        if len(full) < 44 or full[:32] != default or full[-1][0] != exe:
            fail(f"PTMEM_DEPTH=128: {len(full)} frames; expected the whole stack down to _start: {full}")
        if fp != default:
            fail(f"frame pointers: {fp} differs from the unwind tables' walk {default}")
    elif a.case == "spike":
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("spike",)), capture_output=True, text=True, timeout=60)
        held = [l for l in r.stdout.splitlines() if l.startswith("spike held ")]
        if r.returncode != 0 or not held:
            fail(f"spike program: status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        held_ns = int(held[0].split()[2]) * 1000
        path = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0]
        samples, s = timeline(path), summary(path)
        spike_bytes, block = 64 * 128 * 1024, 128 * 1024
        # All 64 blocks live: within half a block of the peak (one block fewer is still the ramp).
        high = [i for i, (_, heap, _) in enumerate(samples) if heap > s["peak_bytes"] - block // 2]
        print(f"{len(samples)} samples; spike held {held_ns / 1e6:.1f} ms; high samples "
              f"{[(samples[i][0], samples[i][1]) for i in high]}; peak {s['peak_bytes']}")
        if not high or s["peak_bytes"] < spike_bytes:
            fail(f"no timeline sample shows the {spike_bytes}-byte spike: max {max(h for _, h, _ in samples)}")
        if max(samples[i][1] for i in high) != s["peak_bytes"]:
            fail(f"the spike's sample ({max(samples[i][1] for i in high)}) is not the exact peak ({s['peak_bytes']})")
        first, last = high[0], high[-1]
        if first == 0 or last == len(samples) - 1:
            fail("no low sample before or after the spike: it does not show as a spike")
        if high != list(range(first, last + 1)):
            fail(f"the high samples are not one run: {high}")
        interval_ns = 1_000_000  # the sampling interval while the buffer has not folded
        span = samples[last][0] - samples[first][0]
        if span > held_ns + 2 * interval_ns:
            fail(f"the high samples span {span} ns, more than the spike's {held_ns} ns plus two intervals")
        # The 8 MiB are touched as they are allocated (tens of ms of page faults in a VM) and given
        # back one block at a time: the samples next to the spike may be on its slopes. The
        # baseline is further out on both sides.
        before, after = min(h for _, h, _ in samples[:first]), min(h for _, h, _ in samples[last + 1:])
        if before >= spike_bytes // 2 or after >= spike_bytes // 2:
            fail(f"the samples around the spike are not low: lowest before {before}, lowest after {after}")
    elif a.case == "address_limit":
        for limit_mb, track in ((60, "0"), (400, "1")):
            def limit():
                resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
            trace = os.path.join(a.outdir, f"t{limit_mb}.json")
            env = dict(os.environ, PTMEM_TRACK=track, LD_PRELOAD=a.preload, PTMEM_OUT=trace)
            r = subprocess.run([a.exe, "deep"], env=env, capture_output=True, text=True, timeout=60, preexec_fn=limit)
            if r.returncode != 0 or r.stdout != "done\n" or r.stderr:
                fail(f"{limit_mb} MB, PTMEM_TRACK={track}: status {r.returncode}, stdout {r.stdout!r}, "
                     f"stderr {r.stderr[-300:]}")
            if track == "1":
                t = check_trace.Trace(trace)
                definite = [l for l in t.leaks if l["kind"] == "definite"]
                if [(l["count"], l["bytes"]) for l in definite] != [(1, 99)]:
                    fail(f"{limit_mb} MB: expected the one 99-byte definite leak, found {t.leaks}")
                if len(t.stacks[definite[0]["stack"]]) != 32:
                    fail(f"{limit_mb} MB: the leak's stack has {len(t.stacks[definite[0]['stack']])} frames, not 32")
            print(f"RLIMIT_AS {limit_mb} MB, PTMEM_TRACK={track}: ran as without the limit")
    elif a.case == "fault_in_scan":
        for delay_us in ("0", "5000"):  # the scan of a million blocks lasts longer
            cmd = [a.exe, "fault_in_scan", delay_us]
            if os.geteuid() == 0:  # root may ptrace anything: drop that, as in most containers
                capsh = shutil.which("capsh")
                if not capsh:
                    fail("capsh (Debian: libcap2-bin) is needed to drop CAP_SYS_PTRACE; scripts/bootstrap.sh installs it")
                cmd = [capsh, "--drop=cap_sys_ptrace", "--", "-c", 'exec "$0" "$@"', *cmd]
            env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{a.outdir}/t.%p.json")
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            if r.returncode != -signal.SIGSEGV:
                fail(f"fault {delay_us} us into the scan: status {r.returncode}, expected death by SIGSEGV; "
                     f"stderr {r.stderr[-300:]}")
            print(f"fault {delay_us} us into the scan: died of SIGSEGV")
    elif a.case == "fork_loader":
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=f"{a.outdir}/t.%p.json")
        p = subprocess.Popen([a.exe, "fork_loader", "40"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            out, err = p.communicate(timeout=100)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("the program did not end in 100 s")
        if p.returncode != 0 or out != "done\n":
            fail(f"status {p.returncode}, stdout {out!r}, stderr {err[-600:]}")
        exe = os.path.basename(a.exe)
        children = [f for f in glob.glob(os.path.join(a.outdir, "t.*.json")) if f != f"{a.outdir}/t.{p.pid}.json"]
        if len(children) != 40:
            fail(f"{len(children)} children's traces, expected 40")
        for path in children:
            t = check_trace.Trace(path)
            for size in (4321, 1234):
                leaks = [l for l in t.leaks if l["kind"] == "definite" and l["bytes"] == size]
                if t.summary.get("final") is not True or len(leaks) != 1:
                    fail(f"{path}: final {t.summary.get('final')}, expected one {size}-byte definite leak, "
                         f"found {t.leaks}")
                m = t.module_of(t.stacks[leaks[0]["stack"]][0])
                if m is None or os.path.basename(m.path) != exe:
                    fail(f"{path}: the {size}-byte leak's first frame is not in {exe} (module {m and m.path})")
        print("40 children ended, each with its two leaks in the program's module")
    elif a.case == "handler_snapshot":
        env = ("PTMEM_SNAPSHOT_SIGNAL=10", f"PTMEM_OUT={a.outdir}/t.json")
        try:
            r = subprocess.run(env_cmd(a, *env, args=("handler_snapshot", "5", "2000")), capture_output=True, text=True,
                               timeout=60)
        except subprocess.TimeoutExpired:
            fail("the program hung (a signal handler's allocation waiting for its own thread's lock?)")
        if r.returncode != 0 or r.stdout != "done\n":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        s = summary(os.path.join(a.outdir, "t.json"))
        if s.get("final") is not True:
            fail(f"no final trace: {s}")
        print(f"ended normally; final trace with {s['allocs']} allocations")
    elif a.case == "after_final":
        after_final(a, "exit", term=False)
        after_final(a, "term", term=True)
    elif a.case == "one_fd":
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={a.outdir}/t.json", args=("one_fd",)), capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0 or r.stdout != "done\n":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        t = check_trace.Trace(os.path.join(a.outdir, "t.json"))
        if definite_leaks(t) != [(1, 555)] or t.summary.get("leak_scan_complete") is not True:
            fail(f"definite leaks {definite_leaks(t)} (expected [(1, 555)]), "
                 f"leak_scan_complete {t.summary.get('leak_scan_complete')}")
        print("one descriptor free: the 555-byte leak only, scan complete")
    elif a.case == "closing":
        if not a.report:
            fail("the closing case needs --report")
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("plain",)), capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            fail(f"program failed: {r.returncode} {r.stderr[-300:]}")
        final = glob.glob(os.path.join(a.outdir, "ptmem.*.json"))[0]
        print(f"final trace's samples: {check_closing_sample(final)}")
        rep = subprocess.run([a.report, "--top", "0", final], capture_output=True, text=True, timeout=60)
        rss_lines = [l for l in rep.stdout.splitlines() if l.strip().startswith("peak RSS")]
        if rep.returncode != 0 or len(rss_lines) != 1 or "not sampled" in rss_lines[0]:
            fail(f"ptmem-report should print the peak RSS: exit {rep.returncode}, {rss_lines}, {rep.stderr}")
        print(rss_lines[0].strip())
        snap = os.path.join(a.outdir, "snap.json")
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={out}", args=("snapshot", snap)), capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0 or "snapshot: 0" not in r.stdout:
            fail(f"program failed: {r.returncode} {r.stdout} {r.stderr}")
        print(f"snapshot's samples: {check_closing_sample(snap)}")
    elif a.case == "utf8":
        if not a.report:
            fail("the utf8 case needs --report")
        exe = os.path.join(os.fsencode(a.outdir), b"run\xfftime")  # a file name that is not UTF-8
        shutil.copy(a.exe, exe)
        long_arg = "a" + "\u00e9" * 2500  # 5001 bytes: the 4096-byte cut falls inside an "é"
        env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=os.path.join(a.outdir, "t.json"))
        r = subprocess.run([exe, b"plain", b"x\xe9y", long_arg.encode()], env=env, capture_output=True, timeout=60)
        if r.returncode != 0 or r.stdout != b"done\n":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]!r}")
        path = os.path.join(a.outdir, "t.json")
        rep = subprocess.run([a.report, "--top", "0", path], capture_output=True, text=True, timeout=60)
        if rep.returncode != 0:
            fail(f"ptmem-report rejected the trace: exit {rep.returncode}, {rep.stderr[-300:]}")
        t = check_trace.Trace(path)  # strict UTF-8, every line JSON
        shown = exe.decode("utf-8", "replace")
        want = [shown, "plain", "x\ufffdy", "a" + "\u00e9" * 2047 + "..."]
        if t.header["argv"] != want:
            fail(f"argv {[v[:40] for v in t.header['argv']]}, expected {[v[:40] for v in want]} "
                 f"(lengths {[len(v) for v in t.header['argv']]} vs {[len(v) for v in want]})")
        real = os.path.realpath(exe).decode("utf-8", "replace")
        if t.header["exe"] != real or not any(m.path == real for m in t.modules):
            fail(f"exe {t.header['exe']!r}, modules {[m.path for m in t.modules][:3]}: expected {real!r}")
        print(f"argv {[v[:20] for v in t.header['argv']]}: read by ptmem-report")
    elif a.case == "fsize":
        def small_files():
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

        plain = subprocess.run([a.exe, "plain"], capture_output=True, text=True, timeout=60)
        fsize_out = ("own write stopped 1, handler ran 1\n"
                     "snapshot EIO, handler ran 1, handler kept 1\n"
                     "blocked: own write stopped 1, snapshot EIO, own signal pending 1\n"
                     "unblocked: handler ran 2\ndone\n")
        for mode, status, stdout in (("plain", plain.returncode, plain.stdout), ("fsize", 0, fsize_out),
                                     ("crash", -signal.SIGSEGV, "")):
            outdir = os.path.join(a.outdir, mode)
            os.makedirs(outdir)
            trace = os.path.join(outdir, "t.json")
            env = dict(os.environ, PTMEM_TRACK="1", LD_PRELOAD=a.preload, PTMEM_OUT=trace)
            r = subprocess.run([a.exe, mode, os.path.join(outdir, "own.bin")], env=env, capture_output=True,
                               text=True, timeout=60, preexec_fn=small_files)
            if (r.returncode, r.stdout) != (status, stdout):
                fail(f"{mode}: status {r.returncode}, stdout {r.stdout!r}; expected {status}, {stdout!r} "
                     f"(-{int(signal.SIGXFSZ)} is death by SIGXFSZ); stderr {r.stderr[-300:]}")
            warnings = [l for l in r.stderr.splitlines() if l.startswith("ptmem:")]
            if len(warnings) != 1 or f"{trace}: File too large" not in warnings[0]:
                fail(f"{mode}: expected one warning naming {trace} and EFBIG, got {warnings}")
            left = sorted(f for f in os.listdir(outdir) if f != "own.bin")
            if left:
                fail(f"{mode}: the failed trace left {left}")
            print(f"{mode}: status {r.returncode}; {warnings[0]}")
    elif a.case == "fork_unwritable":
        missing = os.path.join(a.outdir, "missing-dir")
        r = subprocess.run(env_cmd(a, f"PTMEM_OUT={missing}/ptmem.%p.json", args=("fork_unwritable",)),
                           capture_output=True, text=True, timeout=60)
        lines = r.stdout.splitlines()
        if r.returncode != 0 or len(lines) != 3 or lines[0] != "snapshot EIO" or lines[2] != "done":
            fail(f"status {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr[-300:]}")
        _, parent, _, child, _, child_status = lines[1].split()
        if child_status != "0":
            fail(f"the child exited {child_status}")
        warnings = [l for l in r.stderr.splitlines() if l.startswith("ptmem:")]
        want = [f"{missing}/ptmem.{pid}.json" for pid in (parent, child)]
        if len(warnings) != 2 or not all(any(w in l for l in warnings) for w in want):
            fail(f"expected one warning naming each of {want}, got {warnings}")
        print(f"parent {parent} and child {child} each warned once")
    else:
        fail(f"unknown case {a.case}")
    print("ok")


if __name__ == "__main__":
    main()
