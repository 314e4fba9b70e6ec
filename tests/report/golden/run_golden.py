#!/usr/bin/env python3
"""One golden case of ptmem-report: tests/report/golden/<case>/.

A case folder holds:
  args                 the arguments, shell-quoted, run in the case folder (so `trace.json` is the
                       committed trace); @TRACES@ stands for the directory of generated traces
  program              optional: a generated case. One line, `NAME [ARGS...]`: the corpus program of
                       tests/track to run under the preload (its traces go to @TRACES@); the
                       output is then normalized (see normalize()) before it is compared
  expected.txt         the exact standard output
  expected_stderr.txt  the exact standard error (absent: it must be empty)
  expected_exit        the exit status (absent: 0)
  *.json, *.txt        the inputs: traces (anonymize_trace.py made them machine-independent),
                       baselines, suppression files

--update writes the expected files from what the tool prints today: review them before committing.
"""
import argparse
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile


def read(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return f.read()


def normalize(text, subst):
    """What changes from one run or build to the next: the traces' directory, the build and source
    trees, pids, durations, times and addresses. The frames in system libraries depend on their
    build and debug info: only those of our program are kept, the others become '<system frame>'
    (folded: '<system frames>' between _start and main). What the loader and libunwind allocate
    for themselves depends on the system too: the totals that include it (allocations, peak,
    reachable leaks, the sites left out by --top) are replaced by '<n>', and so is the peak RSS
    (the trace's closing sample reads it; "not sampled" is kept, so losing it still shows)."""
    for old, new in subst:
        text = text.replace(old, new)
    text = re.sub(r"ptmem\.([\w.-]+)\.\d+\.json", r"ptmem.\1.<pid>.json", text)
    text = re.sub(r"\bpid \d+", "pid <pid>", text)
    text = re.sub(r'"(pid|ppid)": \d+', r'"\1": <pid>', text)
    text = re.sub(r'"(\w*_ns)": \d+', r'"\1": <ns>', text)
    text = re.sub(r"\b\d+(\.\d+)? (s|ms|us|ns)\b", "<time>", text)
    text = re.sub(r"0x[0-9a-f]+", "0x<hex>", text)
    text = re.sub(r"(?m)^(  allocations +)\d+ \(\d+ frees\)", r"\1<n> (<n> frees)", text)
    text = re.sub(r"(?m)^(  peak heap +)[\d.]+ \w+", r"\1<n>", text)
    text = re.sub(r"(?m)^(  peak RSS +)[\d.]+ \w+", r"\1<n>", text)
    text = re.sub(r'"peak_rss_bytes": [1-9]\d*', '"peak_rss_bytes": <n>', text)
    text = re.sub(r"reachable \d+ \([\d.]+ \w+\)", "reachable <n>", text)
    text = re.sub(r"(?m)^(  \.\.\. )\d+ more (reachable )?sites?", r"\1<n> more \2site(s)", text)
    text = re.sub(r"(?m)^_start;.*?;main;", "_start;<system frames>;main;", text)
    out, after_system = [], False
    for line in text.split("\n"):
        if not re.match(r"\s+#\d+\s", line):
            after_system = False
        elif not re.search(r"\[(track_\w+|<BUILD>[^\]]*)\]$", line):
            line = re.sub(r"#\d+\s.*", "<system frame>", line)
            if out and out[-1] == line:
                continue
            after_system = True
        elif after_system:  # how many frames a system library gave depends on its debug info
            line = re.sub(r"#\d+", "#<n>", line, count=1)
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", required=True, help="ptmem-report")
    ap.add_argument("--cmake", help="cmake (generated cases run `cmake -E env`)")
    ap.add_argument("--preload", help="libptmem.so (generated cases)")
    ap.add_argument("--corpus-dir", help="directory of the tests/track programs (generated cases)")
    ap.add_argument("--source-dir", help="the source tree (normalized to <SRC>)")
    ap.add_argument("--build-dir", help="the build tree (normalized to <BUILD>)")
    ap.add_argument("--update", action="store_true", help="write the expected files")
    ap.add_argument("case")
    o = ap.parse_args()
    case = os.path.abspath(o.case)
    name = os.path.basename(case)
    tmp = tempfile.mkdtemp(prefix=f"ptmem-golden-{name}-")
    traces = os.path.join(tmp, "traces")
    try:
        program = read(os.path.join(case, "program"))
        subst = []
        if program:
            words = shlex.split(program)
            exe = os.path.join(o.corpus_dir, "track_" + words[0])
            args = [w.replace("@CORPUS@", o.corpus_dir) for w in words[1:]]
            os.makedirs(traces)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PTMEM_") and k != "LD_PRELOAD"}
            p = subprocess.run([o.cmake, "-E", "env", "PTMEM_TRACK=1", f"PTMEM_OUT={traces}/ptmem.%e.%p.json",
                                f"LD_PRELOAD={o.preload}", exe] + args, env=env, capture_output=True, timeout=120)
            if p.returncode != 0:
                print(f"{name}: the corpus program exited {p.returncode}: {p.stderr.decode(errors='replace')}")
                return 1
            subst = [(traces, "<TRACES>")]
            if o.build_dir:
                subst.append((os.path.realpath(o.build_dir), "<BUILD>"))
                subst.append((o.build_dir, "<BUILD>"))
            if o.source_dir:
                subst.append((os.path.realpath(o.source_dir), "<SRC>"))
                subst.append((o.source_dir, "<SRC>"))
        args = [a.replace("@TRACES@", traces) for a in shlex.split(read(os.path.join(case, "args"), ""))]
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        p = subprocess.run([o.tool] + args, cwd=case, capture_output=True, timeout=120, env=env)
        got = {
            "expected.txt": p.stdout.decode("utf-8", "replace"),
            "expected_stderr.txt": p.stderr.decode("utf-8", "replace"),
            "expected_exit": f"{p.returncode}\n",
        }
        if program:
            got = {k: normalize(v, subst) for k, v in got.items()}
        if o.update:
            for f, text in got.items():
                path = os.path.join(case, f)
                if f != "expected.txt" and text in ("", "0\n"):
                    if os.path.exists(path):
                        os.remove(path)
                    continue
                with open(path, "w", encoding="utf-8") as out:
                    out.write(text)
            print(f"{name}: expected files written (exit {p.returncode})")
            return 0
        want = {
            "expected.txt": read(os.path.join(case, "expected.txt"), ""),
            "expected_stderr.txt": read(os.path.join(case, "expected_stderr.txt"), ""),
            "expected_exit": read(os.path.join(case, "expected_exit"), "0\n"),
        }
        ok = p.returncode >= 0
        if not ok:
            print(f"{name}: ptmem-report was killed by signal {-p.returncode}")
        for f in want:
            if got[f] != want[f]:
                ok = False
                print(f"{name}: {f} differs (ptmem-report {shlex.join(args)} in {case}):")
                sys.stdout.writelines(difflib.unified_diff(want[f].splitlines(True), got[f].splitlines(True),
                                                           f"{f} (expected)", f"{f} (got)"))
                print()
        if ok:
            print(f"{name}: stdout, stderr and exit status {p.returncode} as expected")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
