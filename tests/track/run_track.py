#!/usr/bin/env python3
"""run_track.py - the CTest driver of one leak-corpus test (tests/track/CMakeLists.txt).

  1. runs the corpus program under the preload with tracking on, through
     `cmake -E env PTMEM_TRACK=1 PTMEM_OUT=<outdir>/ptmem.%e.%p.json LD_PRELOAD=libptmem.so`,
     into a fresh per-test directory (so traces of an earlier run cannot be picked up);
  2. checks its trace(s) with check_trace.py against <name>.expect (or, with --self-test, runs the
     checker's self-test on them instead and stops there);
     With --compile the driver first builds the program itself with --cc/--cxx (clang: the
     corpus is run with both compilers' code, each against its own LeakSanitizer);
  3. builds the same sources with the compilers that built the program (--cc, --cxx) and
     `-fsanitize=leak`, runs them with LSAN_OPTIONS=exitcode=0 and requires ptmem's definite
     count/bytes to equal LSan's direct totals and ptmem's indirect ones to equal LSan's indirect
     totals, per process. The same compiler, because compilers keep different stale copies of a
     pointer (gcc -O0 keeps &a[i] in rbx across a call, live at exit; clang does not): only the same
     code gives LSan and ptmem the same memory to judge. Without the compiler or its LSan runtime
     (or where LSan cannot run, e.g. ptrace is forbidden) this step is skipped: exit 77 once steps
     1-2 have passed.
Exit: 0 pass, 1 fail, 77 skip. The driver itself never runs under the preload.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_trace  # noqa: E402  (the checker lives next to this driver)

SKIP = 77
RUN_TIMEOUT = 50  # seconds per program run; CTest's TIMEOUT (120) covers the whole test
CORPUS_FLAGS = ["-O0", "-g", "-fno-builtin", "-fno-omit-frame-pointer", "-D_GNU_SOURCE"]
LSAN_LINE = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)")


def log(msg):
    print(f"run_track: {msg}", flush=True)


def run(cmd, env=None, timeout=RUN_TIMEOUT):
    log("$ " + " ".join(cmd))
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        print(e.stdout or "", e.stderr or "")
        raise SystemExit(f"run_track: FAIL: timed out after {timeout} s: {' '.join(cmd)}")


def show(res):
    if res.stdout:
        sys.stdout.write(res.stdout)
    if res.stderr:
        sys.stdout.write(res.stderr)


def clean_env():
    """The environment without anything of ptmem's or of another sanitizer run."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("PTMEM_") or k in ("LD_PRELOAD", "LSAN_OPTIONS", "ASAN_OPTIONS"):
            del env[k]
    return env


def without_proc():
    """A command prefix that runs a command with an empty /proc (a tmpfs mounted over it in a mount
    namespace of its own, as in a chroot or a sandbox without /proc); None if this machine cannot."""
    hide = ["sh", "-c", 'mount -t tmpfs none /proc && exec "$@"', "sh"]
    for unshare in (["unshare", "--mount", "--"], ["unshare", "--mount", "--map-root-user", "--"]):
        if shutil.which("unshare") and run(unshare + hide + ["true"], env=clean_env()).returncode == 0:
            return unshare + hide
    return None


def run_ptmem(a, outdir):
    cmd = [a.cmake, "-E", "env", "PTMEM_TRACK=1", f"PTMEM_OUT={outdir}/ptmem.%e.%p.json",
           f"LD_PRELOAD={a.preload}"] + a.env + [a.exe] + a.args
    if a.no_proc:
        prefix = without_proc()
        if prefix is None:
            log("SKIP: cannot hide /proc here (unshare --mount, with or without a user namespace)")
            raise SystemExit(SKIP)
        cmd = prefix + cmd
    res = run(cmd, env=clean_env())
    show(res)
    if res.returncode != 0:
        raise SystemExit(f"run_track: FAIL: the program exited with {res.returncode} under the preload")
    traces = sorted(glob.glob(os.path.join(outdir, "ptmem.*.json")))
    if not traces:  # also what a preload that was never loaded looks like
        raise SystemExit(f"run_track: FAIL: no trace was written in {outdir}")
    return traces


# ---- LeakSanitizer --------------------------------------------------------------------------------

def has_cxx(a):
    return any(s.endswith((".cpp", ".cc")) for s in a.src)


def toolchain_fault(a, outdir, flags, run_it):
    """Why --cc/--cxx cannot build (and with run_it, run) a trivial program with `flags`; None if
    they can. Tried first, so that a failure means a missing toolchain or runtime, not a broken
    corpus program."""
    tool = a.cxx if has_cxx(a) else a.cc
    if not a.cc or not shutil.which(a.cc) or not tool or not shutil.which(tool):
        return f"the compiler {tool!r} was not found"
    probe = os.path.join(outdir, "probe" + "".join(flags) + ".c")
    with open(probe, "w", encoding="utf-8") as f:
        f.write("int main(void) { return 0; }\n")
    res = run([tool] + flags + ["-pthread", "-x", "c", probe, "-o", probe + ".exe"])
    if res.returncode != 0 or (run_it and run([probe + ".exe"], env=clean_env()).returncode != 0):
        show(res)
        kind = " ".join(flags) or "plain"
        return f"{tool} cannot build{' or run' if run_it else ''} a {kind} program here"
    return None


def compile_corpus(a, outdir, extra, exe, what):
    """Compiles and links the program's sources with --cc/--cxx, the corpus flags and `extra`."""
    objs = []
    for s in a.src:
        is_cxx = s.endswith((".cpp", ".cc"))
        obj = os.path.join(outdir, os.path.basename(s) + (".lsan.o" if extra else ".o"))
        res = run([a.cxx if is_cxx else a.cc] + CORPUS_FLAGS + extra + ["-I", a.srcdir, "-c", s, "-o", obj])
        show(res)
        if res.returncode != 0:
            raise SystemExit(f"run_track: FAIL: the compiler could not compile {s}{what}")
        objs.append(obj)
    res = run([a.cxx if has_cxx(a) else a.cc] + extra + ["-pthread"] + objs + ["-o", exe, "-ldl"])
    show(res)
    if res.returncode != 0:
        raise SystemExit(f"run_track: FAIL: the compiler could not link {exe}{what}")
    return exe


def build_lsan(a, outdir):
    """Builds the corpus program with -fsanitize=leak; None (with the reason logged) if impossible."""
    fault = toolchain_fault(a, outdir, ["-fsanitize=leak"], run_it=True)
    if fault:
        log(f"SKIP LSan comparison: {fault} (is its LSan runtime, liblsan0 or libclang-rt-*-dev, installed?)")
        return None
    return compile_corpus(a, outdir, ["-fsanitize=leak"], os.path.join(outdir, f"lsan_{a.name}"),
                          " with -fsanitize=leak")


def parse_lsan(path):
    """Sums of LSan's report lines: {'direct': [count, bytes], 'indirect': [count, bytes]}."""
    tot = {"direct": [0, 0], "indirect": [0, 0]}
    if path is None or not os.path.exists(path):
        return tot  # LSan writes nothing when it finds no leak
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LSAN_LINE.match(line.strip())
            if m:
                t = tot[m.group(1).lower()]
                t[0] += int(m.group(3))
                t[1] += int(m.group(2))
    return tot


def run_lsan(a, outdir, exe):
    """Runs the LSan build; {role: totals} or None when LSan cannot work here."""
    logdir = os.path.join(outdir, "lsan")
    os.makedirs(logdir, exist_ok=True)
    env = clean_env()
    # log_path: one report per process (report.<pid>), so a forked child's report is its own.
    env["LSAN_OPTIONS"] = f"exitcode=0:log_path={logdir}/report"
    log("$ LSAN_OPTIONS=" + env["LSAN_OPTIONS"] + " " + " ".join([exe] + a.args))
    p = subprocess.Popen([exe] + a.args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        raise SystemExit("run_track: FAIL: the LSan build timed out")
    reports = {int(f.rsplit(".", 1)[1]): f for f in glob.glob(os.path.join(logdir, "report.*"))}
    texts = "".join(open(f, encoding="utf-8", errors="replace").read() for f in reports.values())
    sys.stdout.write(out + err + texts)
    if "LeakSanitizer has encountered a fatal error" in texts + err or \
       "LeakSanitizer does not work under ptrace" in texts + err:
        log("SKIP LSan comparison: LeakSanitizer cannot run in this environment")
        return None
    if p.returncode != 0:
        raise SystemExit(f"run_track: FAIL: the LSan build exited with {p.returncode}")
    roles = {"main": parse_lsan(reports.get(p.pid))}
    others = [pid for pid in reports if pid != p.pid]
    if len(others) > 1:
        raise SystemExit(f"run_track: FAIL: LSan reports of unexpected processes {others}")
    # A forked child's report: the only other process. Absent means LSan found no leak in it.
    roles["child"] = parse_lsan(reports[others[0]] if others else None)
    return roles


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--cmake", required=True)
    ap.add_argument("--preload", required=True, help="libptmem.so")
    ap.add_argument("--exe", default="", help="the corpus program, built by CMake")
    ap.add_argument("--compile", action="store_true",
                    help="build the program here with --cc/--cxx instead of --exe (a second compiler)")
    ap.add_argument("--outdir", required=True, help="per-test scratch directory (emptied first)")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--srcdir", required=True, help="tests/track, for corpus.h")
    ap.add_argument("--src", action="append", default=[], help="a source of the program (for LSan)")
    ap.add_argument("--cc", default="", help="C compiler for the LSan build: the one that built the program")
    ap.add_argument("--cxx", default="", help="C++ compiler for the LSan build")
    ap.add_argument("--addr2line", default="addr2line")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the ptmem run")
    ap.add_argument("--no-lsan", action="store_true", help="check the expectations only")
    ap.add_argument("--no-proc", action="store_true",
                    help="run the program with /proc empty; implies --no-lsan, and checks the header's exe and argv")
    ap.add_argument("args", nargs="*", help="arguments of the program (after --)")
    a = ap.parse_args()

    outdir = os.path.abspath(a.outdir)
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)

    if a.compile:
        fault = toolchain_fault(a, outdir, [], run_it=False)
        if fault:
            log(f"SKIP: {fault}")
            return SKIP
        a.exe = compile_corpus(a, outdir, [], os.path.join(outdir, a.name), "")
    elif not a.exe:
        ap.error("--exe or --compile is required")
    traces = run_ptmem(a, outdir)
    try:
        if a.self_test:
            check_trace.self_test(a.expect, traces, a.addr2line)
            log("PASS (checker self-test)")
            return 0
        by_role = check_trace.check(a.expect, traces, a.addr2line)
    except check_trace.CheckError as e:
        print(f"run_track: FAIL: {e}")
        return 1
    log("ptmem trace(s) match " + a.expect)
    want_roots = "all-mappings" if "PTMEM_LEAK_ALL_MAPPINGS=1" in a.env else "lsan"
    for path in traces:
        with open(path, encoding="utf-8") as f:
            roots = json.loads(f.readline()).get("leak_roots")
        if roots != want_roots:
            print(f"run_track: FAIL: {path}: header leak_roots is {roots!r}, expected {want_roots!r}")
            return 1
    # Every thread running at the scan was held (by the signal, or by ptrace where it blocks it):
    # the corpus's results do not rest on a thread's registers that were never read.
    for role, t in sorted(by_role.items()):
        if t.summary.get("threads_unheld") != 0:
            print(f"run_track: FAIL: {t.path} ({role}): threads_unheld is {t.summary.get('threads_unheld')!r}, expected 0")
            return 1
    if a.no_proc:  # found without /proc/self/exe and /proc/self/cmdline
        for path in traces:
            with open(path, encoding="utf-8") as f:
                header = json.loads(f.readline())
            if os.path.basename(header.get("exe", "")) != os.path.basename(a.exe) or not header.get("argv"):
                print(f"run_track: FAIL: {path}: header exe {header.get('exe')!r}, argv {header.get('argv')!r}")
                return 1
            if os.path.basename(a.exe) not in os.path.basename(path):
                print(f"run_track: FAIL: {path}: the trace's name lacks the program's (%e)")
                return 1
    if a.no_lsan or a.no_proc:
        return 0

    exe = build_lsan(a, outdir)
    lsan = run_lsan(a, outdir, exe) if exe else None
    if lsan is None:
        return SKIP
    bad = []
    for role, t in sorted(by_role.items()):
        s = t.summary
        mine = {"direct": [s["definite"]["count"], s["definite"]["bytes"]],
                "indirect": [s["indirect"]["count"], s["indirect"]["bytes"]]}
        theirs = lsan[role]
        # One greppable line per process: the ptmem-vs-LSan table of the report is built from these.
        print(f"TABLE {a.name} {role}: ptmem definite {mine['direct'][0]}/{mine['direct'][1]} "
              f"indirect {mine['indirect'][0]}/{mine['indirect'][1]} | LSan direct "
              f"{theirs['direct'][0]}/{theirs['direct'][1]} indirect "
              f"{theirs['indirect'][0]}/{theirs['indirect'][1]}")
        if mine != theirs:
            bad.append(role)
    if bad:
        print(f"run_track: FAIL: ptmem and LeakSanitizer disagree for {bad}")
        return 1
    log("PASS: ptmem agrees with LeakSanitizer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
