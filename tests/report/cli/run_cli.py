#!/usr/bin/env python3
"""ptmem-report's --output file and --baseline together, as a CI job uses them: a baseline is
updated in place (`--baseline base.json -o base.json`: read before it is rewritten), and a run that
stops on bad input (exit 2) leaves the previous report file as it was."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def run(tool, args, cwd):
    return subprocess.run([tool] + args, cwd=cwd, capture_output=True, text=True, timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--trace", required=True, help="a committed trace with one definite leak")
    o = ap.parse_args()
    errors = []
    with tempfile.TemporaryDirectory() as wd:
        shutil.copy(o.trace, os.path.join(wd, "trace.json"))
        p = run(o.tool, ["--format", "json", "-o", "base.json", "trace.json"], wd)
        if p.returncode != 1:
            errors.append(f"first report: exit {p.returncode}, expected 1 (the trace leaks): {p.stderr}")
        p = run(o.tool, ["--format", "json", "--baseline", "base.json", "-o", "base.json", "trace.json"], wd)
        if p.returncode != 0:
            errors.append(f"baseline updated in place: exit {p.returncode}, expected 0 (same leaks): {p.stderr}")
        with open(os.path.join(wd, "base.json")) as f:
            doc = json.load(f)
        if doc.get("format") != "ptmem-report" or not doc["gate"]["passed"]:
            errors.append("base.json rewritten in place is not the passing report")
        before = open(os.path.join(wd, "base.json")).read()
        with open(os.path.join(wd, "broken.json"), "w") as f:
            f.write('{"format": "ptmem-report", "version": 1}\n')
        p = run(o.tool, ["--format", "json", "--baseline", "broken.json", "-o", "base.json", "trace.json"], wd)
        if p.returncode != 2:
            errors.append(f"broken baseline: exit {p.returncode}, expected 2: {p.stderr}")
        if open(os.path.join(wd, "base.json")).read() != before:
            errors.append("a run that failed on its baseline (exit 2) changed the -o file")
    for e in errors:
        print("FAIL:", e)
    print("ok" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
