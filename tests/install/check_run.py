#!/usr/bin/env python3
"""check_run.py - `ptmem run` as a user relies on it (tests/install/CMakeLists.txt, one CTest per case).

  check_run.py --ptmem build/ptmem --report ptmem-report --app run_app --cc cc --version V
               --workdir DIR CASE

Each case runs the build tree's wrapper on run_app (run_app.c) in a fresh DIR/CASE and checks exit
status, stdout byte for byte, and the lines on stderr: the gate's verdict, the program's status,
that a child process's leak is found, that static programs and usage errors are refused, that
report options and PTMEM_* variables pass through. Exit: 0 pass, 1 fail, 77 skip.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77
TIMEOUT = 60  # seconds per command; CTest's TIMEOUT covers the case
failures = []


def check(ok, what, got=None):
    if ok:
        return
    failures.append(what)
    print(f"check_run: FAIL: {what}" + ("" if got is None else f"\n  got: {got!r}"), flush=True)


def clean_env(**extra):
    """The environment without ptmem's variables (a test run under ptmem itself must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTMEM_") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


class Run:
    def __init__(self, cmd, cwd, env=None, stdin=b""):
        print("check_run: $ " + " ".join(cmd), flush=True)
        res = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), input=stdin, capture_output=True,
                             timeout=TIMEOUT, check=False)
        self.rc, self.out, self.err = res.returncode, res.stdout, res.stderr.decode(errors="replace")
        # The report is long: show the lines that matter, all of them on failure via check().
        shown = [l for l in self.err.splitlines() if l.startswith(("ptmem:", "ptmem-report:"))]
        print(f"  exit {self.rc}; stdout {self.out[:200]!r}; " + " | ".join(shown), flush=True)

    def expect(self, rc, stdout=None, err_has=(), err_lacks=()):
        check(self.rc == rc, f"exit status {rc}", self.rc)
        if stdout is not None:
            check(self.out == stdout, f"stdout exactly {stdout!r}", self.out)
        for pattern in err_has:
            check(re.search(pattern, self.err, re.M), f"stderr matches /{pattern}/", self.err[-3000:])
        for pattern in err_lacks:
            check(not re.search(pattern, self.err, re.M), f"stderr does not match /{pattern}/", self.err[-3000:])
        return self


def traces_in(directory):
    return sorted(glob.glob(os.path.join(directory, "ptmem.*.json")))


# ---- cases ------------------------------------------------------------------------------------------

def case_clean(a, wd):
    r = Run([a.ptmem, "run", "--out", "t", "--", a.app, "clean"], wd).expect(
        0, b"clean run\n", err_has=[r"^ptmem: 1 trace\(s\) in " + re.escape(wd) + "/t$"],
        err_lacks=[r"FAIL", r"failed with status"])
    check(len(traces_in(os.path.join(wd, "t"))) == 1, "one trace in --out", traces_in(os.path.join(wd, "t")))
    check("LEAKS" in r.err or "leaks" in r.err, "the report is printed on stderr")


def case_leak(a, wd):
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "leak"], wd).expect(
        1, b"leaked\n", err_has=[r"^ptmem-report: FAIL definite leaks: .*from leak_in_parent \(run_app\.c:\d+\)"])


def case_fork_child(a, wd):
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "fork-leak"], wd).expect(
        1, b"", err_has=[r"^ptmem: 2 trace\(s\) in ",
                         r"^ptmem-report: FAIL definite leaks: .*from leak_in_child \(run_app\.c:\d+\)"])


def case_daemon(a, wd):
    """A program that daemonizes: its parent ends inside daemon() (left no trace: "no trace was
    written", exit 2); the daemon's own trace, with its leak, follows when it ends."""
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "daemon"], wd).expect(
        0, b"", err_has=[r"^ptmem: 1 trace\(s\) in ", r"ended through _exit", r"^  passed"])
    open(os.path.join(wd, "daemon-go"), "w").close()
    for _ in range(300):
        if len(traces_in(os.path.join(wd, "t"))) == 2:
            break
        time.sleep(0.05)
    r = subprocess.run([a.report, os.path.join(wd, "t")], capture_output=True, text=True)
    check(r.returncode == 1 and "leak_in_parent" in r.stderr, "the daemon's own trace has its leak",
          r.stderr[-500:])


def case_exec_child(a, wd):
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "spawn-leak"], wd).expect(
        1, b"leaked\n", err_has=[r"^ptmem: 2 trace\(s\) in ",
                                 r"^ptmem-report: FAIL definite leaks: .*from leak_in_parent \(run_app\.c:\d+\)"])


def case_stdio(a, wd):
    data = b"line one\nline two\n\x00\xffbinary, no final newline"
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "echo"], wd, stdin=data).expect(
        0, data, err_has=[r"^ptmem: 1 trace\(s\)"])
    # Whatever the report's format, it never reaches the program's stdout.
    Run([a.ptmem, "run", "--out", "j", "--format", "json", "--", a.app, "echo"], wd, stdin=data).expect(
        0, data, err_has=[r'"format": *"ptmem-report"'])


def case_report_out(a, wd):
    Run([a.ptmem, "run", "--out", "t", "--report-out", "r.json", "--format", "json", "--", a.app, "clean"],
        wd).expect(0, b"clean run\n", err_lacks=[r'"format"'])
    with open(os.path.join(wd, "r.json")) as f:
        report = json.load(f)
    check(report.get("format") == "ptmem-report" and len(report.get("traces", [])) == 1,
          "--report-out holds the JSON report of one trace", str(report)[:300])
    # An unwritable report file is refused before the program runs.
    Run([a.ptmem, "run", "--out", "u", "--report-out", "no/such/dir/r.txt", "--", a.app, "clean"], wd).expect(
        2, b"", err_has=[r"^ptmem: cannot write the report to no/such/dir/r.txt"])
    check(not os.path.exists(os.path.join(wd, "u")), "nothing ran: no trace directory")


def case_report_out_kept(a, wd):
    """--report-out replaces FILE only once the report is written: a run that fails keeps the old one."""
    path = os.path.join(wd, "r.txt")
    earlier = "the report of an earlier run\n"
    with open(path, "w") as f:
        f.write(earlier)

    def kept(what):
        with open(path) as f:
            check(f.read() == earlier, f"FILE keeps the earlier report when {what}")
        leftovers = [n for n in os.listdir(wd) if n.startswith("r.txt.")]
        check(not leftovers, f"no temporary file left beside FILE when {what}", leftovers)

    Run([a.ptmem, "run", "--out", "a", "--report-out", "r.txt", "--", "./no-such-program"], wd).expect(
        2, b"", err_has=[r"no-such-program: no such file"])
    kept("the program cannot be started")
    # An option ptmem-report refuses: refused before the program runs, no report is written.
    Run([a.ptmem, "run", "--out", "b", "--report-out", "r.txt", "--no-such-option", "--", a.app, "clean"],
        wd).expect(2, b"", err_has=[r"^ptmem-report: .*no-such-option"])
    kept("ptmem run is given a bad option")
    # A good run replaces it, with FILE's permissions; through a symbolic link, the file it names.
    os.chmod(path, 0o640)
    os.symlink("r.txt", os.path.join(wd, "link.txt"))
    Run([a.ptmem, "run", "--out", "c", "--report-out", "link.txt", "--", a.app, "leak"], wd).expect(
        1, b"leaked\n", err_has=[r"^ptmem-report: FAIL definite leaks"])
    with open(path) as f:
        report = f.read()
    check(report.startswith("ptmem report: run_app") and "leak_in_parent" in report,
          "a good run replaces FILE with its report", report[:300])
    check(os.path.islink(os.path.join(wd, "link.txt")), "the symbolic link is still one")
    check(os.stat(path).st_mode & 0o777 == 0o640, "FILE's permissions kept", oct(os.stat(path).st_mode))
    check(sorted(os.listdir(wd)) == ["c", "link.txt", "r.txt"], "no temporary file left", os.listdir(wd))


def case_fail_on(a, wd):
    Run([a.ptmem, "run", "--out", "a", "--fail-on=none", "--", a.app, "leak"], wd).expect(
        0, b"leaked\n", err_lacks=[r"FAIL"])
    Run([a.ptmem, "run", "--out", "b", "--max-leak-bytes", "1000000", "--", a.app, "leak"], wd).expect(
        0, b"leaked\n", err_lacks=[r"FAIL"])
    # A clean program still holds reachable blocks (stdio's buffer...): --fail-on=reachable fails it.
    Run([a.ptmem, "run", "--out", "c", "--fail-on=reachable", "--", a.app, "clean"], wd).expect(
        1, b"clean run\n", err_has=[r"^ptmem-report: FAIL reachable leaks"])


def case_max_peak(a, wd):
    Run([a.ptmem, "run", "--out", "a", "--max-peak", "1M", "--", a.app, "peak", str(4 << 20)], wd).expect(
        1, b"", err_has=[r"^ptmem-report: FAIL peak heap of run_app"])
    Run([a.ptmem, "run", "--out", "b", "--max-peak", "64M", "--", a.app, "peak", str(4 << 20)], wd).expect(
        0, b"", err_lacks=[r"FAIL"])


def case_app_status(a, wd):
    # The gate passed: the program's own status, said in a line.
    Run([a.ptmem, "run", "--out", "a", "--", a.app, "clean", "3"], wd).expect(
        3, b"clean run\n", err_has=[r"^ptmem: .*run_app failed with status 3$"], err_lacks=[r"FAIL"])
    # The gate failed too: 1, and both lines.
    Run([a.ptmem, "run", "--out", "b", "--", a.app, "leak", "3"], wd).expect(
        1, b"leaked\n", err_has=[r"^ptmem: .*run_app failed with status 3$", r"^ptmem-report: FAIL definite leaks"])


def case_app_signal(a, wd):
    # Killed by SIGABRT: no final trace (a snapshot, if one was due, has no leak scan:
    # --allow-incomplete keeps the gate out of it), so the status is the program's, 128+6.
    Run([a.ptmem, "run", "--out", "t", "--allow-incomplete", "--", a.app, "abort"], wd).expect(
        134, b"", err_has=[r"^ptmem: .*run_app failed with status 134 \(signal SIGABRT\)$"])


def interrupted(a, wd, mode):
    """Runs `ptmem run` in its own session, waits for the program's "ready", then sends SIGINT to
    the whole process group, as Ctrl-C in a terminal does."""
    cmd = [a.ptmem, "run", "--out", "t", "--", a.app, mode]
    print("check_run: $ " + " ".join(cmd) + "   (then Ctrl-C)", flush=True)
    p = subprocess.Popen(cmd, cwd=wd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    ready = p.stdout.readline()
    check(ready == b"ready\n", "the program started", ready)
    os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=TIMEOUT)
    err = err.decode(errors="replace")
    print(f"  exit {p.returncode}; " + " | ".join(l for l in err.splitlines() if l.startswith("ptmem")), flush=True)
    return p.returncode, err


def case_interrupt(a, wd):
    # The program catches Ctrl-C and exits normally: ptmem is still there to report its leak.
    rc, err = interrupted(a, wd, "wait-int")
    check(rc == 1, "exit status 1 (the leak after Ctrl-C)", rc)
    check(re.search(r"^ptmem-report: FAIL definite leaks: .*from leak_in_parent", err, re.M),
          "the report of the interrupted run", err[-2000:])
    # The program dies of Ctrl-C: ptmem survives it and says so (128+2), with no trace to report.
    shutil.rmtree(os.path.join(wd, "t"))
    rc, err = interrupted(a, wd, "die-int")
    check(rc == 130, "exit status 130", rc)
    check(re.search(r"^ptmem: .*run_app failed with status 130 \(signal SIGINT\)$", err, re.M) and
          re.search(r"^ptmem: no trace was written", err, re.M), "ptmem says what happened", err[-2000:])


def case_static(a, wd):
    src = os.path.join(wd, "tiny.c")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    built = {}
    for name, flags in (("static", ["-static"]), ("static_pie", ["-static-pie"]), ("no_pie", ["-no-pie"])):
        res = subprocess.run([a.cc, *flags, "-o", os.path.join(wd, name), src], capture_output=True, check=False)
        if res.returncode == 0 and subprocess.run([os.path.join(wd, name)], check=False).returncode == 0:
            built[name] = os.path.join(wd, name)
        else:
            print(f"check_run: cannot build a {name} program here: {res.stderr.decode(errors='replace')[:300]}")
    if "static" not in built:
        print("check_run: SKIPPED: no static C library (libc.a) to build a static program with")
        sys.exit(SKIP)
    for name in ("static", "static_pie"):
        if name in built:
            Run([a.ptmem, "run", "--", built[name]], wd).expect(
                2, b"", err_has=[r"^ptmem: .*" + name + r" is statically linked: .*LD_PRELOAD cannot load libptmem\.so"])
    check(not glob.glob(os.path.join(wd, "ptmem-*")), "a refused program creates no trace directory")
    # A dynamically linked non-PIE executable (ET_EXEC, not ET_DYN) is not mistaken for a static one.
    if "no_pie" in built:
        Run([a.ptmem, "run", "--out", "t", "--", built["no_pie"]], wd).expect(
            0, b"", err_has=[r"^ptmem: 1 trace\(s\)"])


def case_usage(a, wd):
    empty = b""
    Run([a.ptmem], wd).expect(2, empty, err_has=[r"^Usage: ptmem run"])
    Run([a.ptmem, "frob"], wd).expect(2, empty, err_has=[r"^ptmem: unknown command 'frob'"])
    Run([a.ptmem, "run"], wd).expect(2, empty, err_has=[r"^ptmem: no program to run"])
    Run([a.ptmem, "run", "--out"], wd).expect(2, empty, err_has=[r"^ptmem: --out needs a directory"])
    Run([a.ptmem, "run", "--", "./no-such-program"], wd).expect(2, empty, err_has=[r"no-such-program: no such file"])
    Run([a.ptmem, "run", "no-such-command-ptmem"], wd).expect(
        2, empty, err_has=[r"no-such-command-ptmem: command not found in PATH"])
    Run([a.ptmem, "run", "--", wd], wd).expect(2, empty, err_has=[r"is a directory"])
    text = os.path.join(wd, "not-executable")
    with open(text, "w") as f:
        f.write("hello\n")
    Run([a.ptmem, "run", "--", text], wd).expect(2, empty, err_has=[r"not-executable: not executable"])
    # Report options need the -- (ptmem cannot tell which of them take a value).
    Run([a.ptmem, "run", "--fail-on=all", a.app, "clean"], wd).expect(2, empty, err_has=[r"put -- between"])
    check(not glob.glob(os.path.join(wd, "ptmem-*")), "no usage error creates a trace directory")
    # The report's options are checked before the program runs (it once ran, perhaps for an hour,
    # and then the report refused the option): 2, the program not run, no trace directory.
    Run([a.ptmem, "run", "--out", "t", "--no-such-option", "--", a.app, "clean"], wd).expect(
        2, empty, err_has=[r"^ptmem-report: .*no-such-option"])
    Run([a.ptmem, "run", "--out", "t", "--suppressions", "no-such.supp", "--", a.app, "clean"], wd).expect(
        2, empty, err_has=[r"no-such.supp: cannot open"])
    Run([a.ptmem, "run", "--out", "t", "--max-peak", "12Q", "--", a.app, "clean"], wd).expect(
        2, empty, err_has=[r"--max-peak: '12Q' is not a size"])
    check(not os.path.exists(os.path.join(wd, "t")), "a refused report option creates no trace directory")


def case_replace(a, wd):
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "clean"], wd).expect(0, b"clean run\n")
    first = traces_in(os.path.join(wd, "t"))
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "clean"], wd).expect(
        2, b"", err_has=[r"already holds 1 trace\(s\) of an earlier run .*--replace"])
    check(traces_in(os.path.join(wd, "t")) == first, "a refused run leaves the old traces alone")
    Run([a.ptmem, "run", "--out", "t", "--replace", "--", a.app, "clean"], wd).expect(
        0, b"clean run\n", err_has=[r"^ptmem: 1 trace\(s\)"])
    now = traces_in(os.path.join(wd, "t"))
    check(len(now) == 1 and now != first, "--replace: only the new run's trace", now)


def case_env(a, wd):
    env = clean_env(PTMEM_DEPTH="7", PTMEM_TRACK="0", PTMEM_OUT="/nowhere/x.json", LD_PRELOAD="libm.so.6")
    r = Run([a.ptmem, "run", "--out", "t%d", "--", a.app, "env"], wd, env=env).expect(0)
    out_dir = os.path.join(os.path.realpath(wd), "t%d")
    lines = r.out.decode().splitlines()
    check(lines[:1] and lines[0].startswith("LD_PRELOAD=") and lines[0].endswith("/libptmem.so:libm.so.6"),
          "libptmem.so first in LD_PRELOAD, the user's entries kept", lines[:1])
    check("PTMEM_TRACK=1" in lines, "PTMEM_TRACK forced to 1", lines)
    check(f"PTMEM_OUT={out_dir.replace('%', '%%')}/ptmem.%e.%p.json" in lines,
          "PTMEM_OUT in --out, its % escaped", lines)
    check("PTMEM_DEPTH=7" in lines, "PTMEM_DEPTH passed through", lines)
    traces = traces_in(out_dir)
    check(len(traces) == 1, "the trace landed in the directory named with a %", traces)
    if traces:
        with open(traces[0]) as f:
            header = json.loads(f.readline())
        check(header.get("depth") == 7, "the tracker used PTMEM_DEPTH=7", header.get("depth"))


def case_default_dir(a, wd):
    for _ in range(2):  # twice within the same second: two distinct directories
        Run([a.ptmem, "run", a.app, "clean"], wd).expect(0, b"clean run\n")
    dirs = sorted(d for d in os.listdir(wd) if d.startswith("ptmem-"))
    check(len(dirs) == 2 and all(re.fullmatch(r"ptmem-\d{8}-\d{6}(-\d+)?", d) for d in dirs),
          "two new ptmem-YYYYMMDD-HHMMSS directories", dirs)
    check(all(len(traces_in(os.path.join(wd, d))) == 1 for d in dirs), "one trace in each", dirs)


def case_help(a, wd):
    r = Run([a.ptmem, "--help"], wd).expect(0)
    check(r.out.startswith(b"Usage: ptmem run") and b"ptmem report" in r.out, "ptmem --help", r.out[:200])
    r = Run([a.ptmem, "run", "--help"], wd).expect(0)
    for opt in (b"--out DIR", b"--replace", b"--report-out FILE", b"Exit status"):
        check(opt in r.out, f"ptmem run --help mentions {opt.decode()}", r.out[:200])
    Run([a.ptmem, "--version"], wd).expect(0, f"ptmem {a.version}\n".encode())
    mine, theirs = Run([a.ptmem, "report", "--help"], wd), Run([a.report, "--help"], wd)
    check(mine.rc == theirs.rc == 0 and mine.out == theirs.out and mine.out, "ptmem report --help is ptmem-report's")


def case_report_alias(a, wd):
    Run([a.ptmem, "run", "--out", "t", "--", a.app, "leak"], wd).expect(1)
    mine = Run([a.ptmem, "report", "--format", "json", "t"], wd)
    theirs = Run([a.report, "--format", "json", "t"], wd)
    check(mine.rc == theirs.rc == 1, "ptmem report exits like ptmem-report (1: the leak)", (mine.rc, theirs.rc))
    check(mine.out == theirs.out and mine.out, "ptmem report prints what ptmem-report prints")


def main():
    cases = {n[len("case_"):]: f for n, f in globals().items() if n.startswith("case_")}
    ap = argparse.ArgumentParser()
    ap.add_argument("--ptmem", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("case", choices=sorted(cases))
    a = ap.parse_args()
    wd = os.path.join(os.path.abspath(a.workdir), a.case)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    cases[a.case](a, wd)
    if failures:
        print(f"check_run: {len(failures)} check(s) failed in case {a.case}")
        return 1
    print(f"check_run: case {a.case} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
