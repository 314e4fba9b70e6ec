#!/usr/bin/env python3
"""One bad-input case of ptmem-report: tests/report/badinput/<case>/.

A case folder holds:
  input            the trace given to the tool (any bytes), or
  generate         one line, a recipe for inputs too big or too random to commit:
                     random BYTES SEED       random bytes (seeded, so a failure reproduces)
                     huge_line BYTES         a valid header, then BYTES of one line without a newline
  args             optional: the arguments, whitespace separated; @INPUT@ is the input, @CASE@ the
                   case folder, @EMPTYDIR@ a fresh empty directory (default: @INPUT@)
  expected_exit    the exit status (2 for unusable input; 0 or 1, the gate's, for a cut-short trace)
  expected_stderr  a regular expression the whole of stderr must match; @INPUT@ stands for the
                   input's path (escaped)
  memory_limit_mb  optional: the tool runs under this address-space limit (ulimit -v)

Whatever the case, the tool must not crash (no signal, no sanitizer report) and, when it rejects
the input (exit 2), print exactly one line that names the problem.
"""
import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile

HEADER = ('{"type":"header","format":"ptmem-trace","version":1,"source":"malloc","pid":100,"ppid":1,'
          '"exe":"/nonexistent/app","argv":["app"],"start_unix_ns":1,"unwinder":"frame-pointers",'
          '"depth":32,"sample_bytes":0,"page_size":4096}\n')


def generate(recipe, path):
    words = recipe.split()
    with open(path, "wb") as f:
        if words[0] == "random" and len(words) == 3:
            rng = random.Random(int(words[2]))
            f.write(bytes(rng.getrandbits(8) for _ in range(int(words[1]))))
        elif words[0] == "huge_line" and len(words) == 2:
            f.write(HEADER.encode())
            left = int(words[1])
            block = b'{"type":"module","path":"' + b"a" * (1 << 20)
            while left > 0:
                f.write(block[:left])
                left -= len(block)
        else:
            sys.exit(f"generate: unknown recipe {recipe!r}")


def read(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return f.read()


def run(tool, args, limit_mb):
    def limit():
        if limit_mb:
            size = int(limit_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
    return subprocess.run([tool] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          preexec_fn=limit, timeout=120)


def check(tool, case, tmp, sanitized):
    name = os.path.basename(case)
    input_path = os.path.join(case, "input")
    recipe = read(os.path.join(case, "generate"))
    if recipe:
        input_path = os.path.join(tmp, name + ".json")
        if not os.path.exists(input_path):
            generate(recipe.strip(), input_path)
    empty = os.path.join(tmp, "empty-dir")
    os.makedirs(empty, exist_ok=True)
    args = (read(os.path.join(case, "args")) or "@INPUT@").split()
    args = [a.replace("@INPUT@", input_path).replace("@CASE@", case).replace("@EMPTYDIR@", empty) for a in args]
    want_exit = int(read(os.path.join(case, "expected_exit")).strip())
    pattern = read(os.path.join(case, "expected_stderr")).rstrip("\n").replace("@INPUT@", re.escape(input_path))
    # A sanitizer reserves terabytes of address space: the memory bound is checked without it.
    limit_mb = None if sanitized else read(os.path.join(case, "memory_limit_mb"))

    p = run(tool, args, limit_mb and limit_mb.strip())
    err = p.stderr.decode("utf-8", "replace")
    problems = []
    if p.returncode < 0:
        problems.append(f"killed by signal {-p.returncode}")
    if re.search(r"Sanitizer|runtime error:", err):
        problems.append("a sanitizer report")
    if p.returncode != want_exit:
        problems.append(f"exit status {p.returncode}, expected {want_exit}")
    if want_exit == 2 and err.count("\n") != 1:
        problems.append(f"{err.count(chr(10))} lines on stderr, expected exactly one")
    if not re.fullmatch(pattern, err.rstrip("\n"), re.S):
        problems.append(f"stderr does not match {pattern!r}")
    if problems:
        print(f"{name} ({tool}): " + "; ".join(problems))
        print(f"  command: {' '.join([tool] + args)}")
        print(f"  stderr: {err.rstrip()!r}")
        return False
    print(f"{name} ({tool}): exit {p.returncode}, {err.rstrip()}")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", required=True, help="ptmem-report")
    ap.add_argument("--sanitized-tool", help="also run a sanitizer build's ptmem-report")
    ap.add_argument("--tool-is-sanitized", action="store_true",
                    help="--tool is itself a sanitizer build (no address-space limit)")
    ap.add_argument("case", help="the case folder")
    o = ap.parse_args()
    case = os.path.abspath(o.case)
    tmp = tempfile.mkdtemp(prefix="ptmem-badinput-")
    try:
        ok = check(o.tool, case, tmp, o.tool_is_sanitized)
        if o.sanitized_tool:
            ok = check(o.sanitized_tool, case, tmp, True) and ok
    finally:
        shutil.rmtree(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
