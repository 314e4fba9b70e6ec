#!/usr/bin/env python3
"""ptmem-report end to end on the leak corpus of tests/track.

Each corpus program runs under the preload (`cmake -E env PTMEM_TRACK=1 PTMEM_OUT=DIR/ptmem.%e.%p.json
LD_PRELOAD=libptmem.so`), then `ptmem-report --format json DIR` must give, for each line of the
program's expectations (tests/track/<name>.expect: `kind function count bytes`, `[child]` for the
forked process), exactly that count and those bytes in leaks of that kind whose innermost frame is
that function, at the source line of the allocation call in that function (found in the corpus
sources: the first malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign/valloc/new after
the function's opening brace), attributed to the right process; no other definite or indirect
leak; exit 1 with the default gate when something definite or indirect leaks (0 otherwise) and
0 with --fail-on=none.

  corpus NAME       the checks above
  --cc CC           with corpus: the program is built here from tests/track/NAME.c by CC with plain
                    `-g`, a user's default debug build, instead of --exe (clang emits no
                    .debug_aranges by default, which libdw alone needs to find a line); exit 77
                    (skipped) when CC is missing
  suppress          a corpus leak silenced by a leak: suppression (exit 0, suppressed counted)
  baseline          a run against its own report passes; one more leak site than the baseline fails
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The leak corpus's own reader of its expectation files, and its rule for naming functions.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "track"))
from check_trace import parse_expect, strip_params  # noqa: E402

ALLOC_CALL = re.compile(r"\b(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign|valloc)\s*\(|\bnew\b")


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def allocation_line(srcdir, func, program):
    """(file name, line) of the allocation call in function `func` of the corpus sources; when
    several programs define `func` (fork.c and fork_thread.c: leak_in_child), `program`'s own."""
    found = []
    for name in sorted(os.listdir(srcdir)):
        if not name.endswith((".c", ".cpp")):
            continue
        with open(os.path.join(srcdir, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        define = re.compile(r"\b" + re.escape(func) + r"\s*\([^;]*\)\s*\{")
        for i, text in enumerate(lines):
            m = define.search(text)
            if not m:
                continue
            rest = [text[m.end():]] + lines[i + 1:]
            for j, body in enumerate(rest):
                if ALLOC_CALL.search(body.split("//")[0].split("/*")[0]):
                    found.append((name, i + 1 + j))
                    break
    own = [f for f in found if os.path.splitext(f[0])[0] == program]
    if len(found) > 1 and own:
        found = own
    if len(found) != 1:
        fail(f"cannot tell where {func} allocates in {srcdir}: {found}")
    return found[0]


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, **kw)


def clean_env():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("PTMEM_") or k in ("LD_PRELOAD", "LSAN_OPTIONS", "ASAN_OPTIONS", "NO_COLOR"):
            del env[k]
    return env


def trace_program(o, exe, args, outdir):
    os.makedirs(outdir, exist_ok=True)
    cmd = [o.cmake, "-E", "env", "PTMEM_TRACK=1", f"PTMEM_OUT={outdir}/ptmem.%e.%p.json",
           f"LD_PRELOAD={o.preload}", exe] + args
    p = run(cmd, env=clean_env())
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    if not any(f.endswith(".json") for f in os.listdir(outdir)):
        fail(f"no trace in {outdir}")


def report(o, args, want_exit=None):
    p = run([o.tool] + args)
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        fail(f"ptmem-report {' '.join(args)}: a sanitizer report:\n{p.stderr}")
    if p.returncode < 0 or p.returncode == 2 or (want_exit is not None and p.returncode != want_exit):
        fail(f"ptmem-report {' '.join(args)}: exit {p.returncode}"
             + (f", expected {want_exit}" if want_exit is not None else "") + f"\nstderr: {p.stderr}")
    return p


def report_json(o, args, want_exit=None):
    p = report(o, ["--format", "json"] + args, want_exit)
    try:
        return json.loads(p.stdout), p
    except ValueError as e:
        fail(f"ptmem-report --format json {' '.join(args)}: not JSON ({e})")


def innermost(leak):
    return leak["stack"][0] if leak["stack"] else {}


def roles_of(doc):
    """{'main': index, 'child': index}: the started process is the one whose parent is no trace."""
    pids = {t["pid"] for t in doc["traces"]}
    mains = [t for t in doc["traces"] if t["ppid"] not in pids]
    if len(mains) != 1:
        fail(f"cannot tell the started process among {[t['path'] for t in doc['traces']]}")
    out = {"main": mains[0]["index"]}
    kids = [t for t in doc["traces"] if t["ppid"] == mains[0]["pid"]]
    if len(kids) == 1:
        out["child"] = kids[0]["index"]
    return out


def build_program(o, tmp):
    """The corpus program NAME.c built by --cc with `-g` and nothing that changes its debug info."""
    exe = os.path.join(tmp, o.name)
    p = run([o.cc, "-g", "-D_GNU_SOURCE", "-I", o.srcdir, os.path.join(o.srcdir, o.name + ".c"),
             "-o", exe, "-pthread", "-ldl"])
    if p.returncode != 0:
        fail(f"{o.cc} could not build {o.name}.c: {p.stderr}")
    return exe


def check_corpus(o, tmp):
    exe_args = o.args
    if o.cc:
        o.exe = build_program(o, tmp)
    expect = parse_expect(os.path.join(o.srcdir, o.name + ".expect"))
    outdir = os.path.join(tmp, "traces")
    trace_program(o, o.exe, exe_args, outdir)
    leaky = any(k in ("definite", "indirect") for lines in expect.values() for k, *_ in lines)
    doc, p = report_json(o, [outdir], 1 if leaky else 0)
    errors = []

    roles = roles_of(doc)
    if len(doc["traces"]) != len(expect) or set(roles) != set(expect):
        fail(f"processes: expected {sorted(expect)}, the report has {len(doc['traces'])} trace(s), roles {roles}")
    for t in doc["traces"]:
        if not t["complete"] or not t["leak_scan"]:
            errors.append(f"trace {t['path']} is incomplete or has no leak scan")
    for role, lines in expect.items():
        index = roles[role]
        for kind, func, count, nbytes in lines:
            groups = [l for l in doc["leaks"] if l["kind"] == kind and l["suppressed_by"] is None
                      and strip_params(innermost(l).get("function")) == func and index in l["processes"]]
            got = (sum(l["count"] for l in groups), sum(l["bytes"] for l in groups))
            if got != (count, nbytes):
                errors.append(f"[{role}] {kind} {func}: expected {count} block(s) / {nbytes} bytes, got {got[0]} / {got[1]}")
                continue
            src, line = allocation_line(o.srcdir, func, o.name)
            for l in groups:
                f = innermost(l)
                where = (os.path.basename(f.get("file") or "?"), f.get("line"))
                if where != (src, line):
                    errors.append(f"[{role}] {kind} {func}: innermost frame at {where[0]}:{where[1]}, expected {src}:{line}")
                others = [i for i in l["processes"] if i != index]
                if others:
                    errors.append(f"[{role}] {kind} {func}: also attributed to processes {others}")
    for kind in ("definite", "indirect"):
        want = [sum(e[n] for lines in expect.values() for e in lines if e[0] == kind) for n in (2, 3)]
        got = doc["summary"]["leaks"][kind]
        if [got["count"], got["bytes"]] != want:
            errors.append(f"summary {kind}: expected {want[0]} / {want[1]} bytes, got {got['count']} / {got['bytes']}")
    if doc["gate"]["passed"] == leaky:
        errors.append(f"gate passed={doc['gate']['passed']} with definite or indirect leaks expected: {leaky}")
    if leaky and len([l for l in p.stderr.splitlines() if "FAIL" in l]) == 0:
        errors.append(f"the gate failed without a FAIL line on stderr: {p.stderr!r}")
    report(o, ["--fail-on=none", outdir], 0)
    if errors:
        fail("\n".join(errors))
    print(f"{o.name}: {len(doc['leaks'])} leak group(s), expectations met; exit {p.returncode} "
          f"(default gate), 0 (--fail-on=none)")


def check_suppress(o, tmp):
    """list: its head (definite) and nodes (indirect) come from build_list; suppressing that
    function by a pattern with '*' silences both, and the report counts them as suppressed."""
    outdir = os.path.join(tmp, "traces")
    trace_program(o, o.exe, [], outdir)
    supp = os.path.join(tmp, "supp.txt")
    with open(supp, "w") as f:
        f.write("# the corpus list leaks on purpose\nleak:build_l*\n")
    doc, p = report_json(o, ["--suppressions", supp, outdir], 0)
    s, l = doc["summary"]["suppressed"], doc["summary"]["leaks"]
    errors = []
    if (s["definite"], s["indirect"]) != ({"count": 1, "bytes": 48}, {"count": 4, "bytes": 192}):
        errors.append(f"suppressed: expected definite 1/48 and indirect 4/192, got {s}")
    if l["definite"]["count"] or l["indirect"]["count"]:
        errors.append(f"leaks not suppressed: {l}")
    rules = doc["suppressions"]
    if len(rules) != 1 or rules[0]["pattern"] != "build_l*" or (rules[0]["count"], rules[0]["bytes"]) != (5, 240):
        errors.append(f"suppressions: expected build_l* with 5 blocks / 240 bytes, got {rules}")
    if not rules or not rules[0]["where"].endswith("supp.txt:2"):
        errors.append(f"suppression's where: {rules}")
    if any(x["suppressed_by"] != "build_l*" for x in doc["leaks"] if x["kind"] != "reachable"):
        errors.append("a definite or indirect leak is not flagged suppressed_by build_l*")
    # A pattern that matches nothing in the stack leaves the gate failing.
    with open(supp, "w") as f:
        f.write("leak:no_such_function\n")
    report(o, ["--suppressions", supp, outdir], 1)
    # A pattern that would match everything is an error, never a silent pass.
    with open(supp, "w") as f:
        f.write("leak:\n")
    p = run([o.tool, "--suppressions", supp, outdir])
    if p.returncode != 2 or "supp.txt:1:" not in p.stderr:
        errors.append(f"an empty pattern: exit {p.returncode}, stderr {p.stderr!r} (expected 2 and supp.txt:1:COL)")
    if errors:
        fail("\n".join(errors))
    print("suppress: build_l* silenced 1 definite and 4 indirect leaks (exit 0), counted as suppressed; "
          "a non-matching pattern fails the gate; an empty pattern is an error")


def check_baseline(o, tmp):
    """variety leaks from seven sites: a run against its own report passes; against the same
    report with one site removed, the new site fails the gate and is named."""
    outdir = os.path.join(tmp, "traces")
    trace_program(o, o.exe, [], outdir)
    base = os.path.join(tmp, "base.json")
    report(o, ["--format", "json", "--output", base, outdir], 1)
    doc, p = report_json(o, ["--baseline", base, outdir], 0)
    if not doc["gate"]["passed"]:
        fail(f"against its own report the gate fails: {doc['gate']}")
    with open(base, encoding="utf-8") as f:
        old = json.load(f)
    dropped = [l for l in old["leaks"] if strip_params(innermost(l).get("function")) == "leak_valloc"]
    if len(dropped) != 1:
        fail(f"expected one leak_valloc group in the baseline, got {len(dropped)}")
    old["leaks"].remove(dropped[0])
    old["summary"]["leaks"]["definite"]["count"] -= dropped[0]["count"]
    old["summary"]["leaks"]["definite"]["bytes"] -= dropped[0]["bytes"]
    fewer = os.path.join(tmp, "base-fewer.json")
    with open(fewer, "w", encoding="utf-8") as f:
        json.dump(old, f)
    doc, p = report_json(o, ["--baseline", fewer, "--max-increase", "1000", outdir], 1)
    failures = doc["gate"]["failures"]
    if len(failures) != 1 or "leak_valloc" not in failures[0]:
        fail(f"one new leak site (leak_valloc) should be the one failure, got {failures}")
    if failures[0] not in p.stderr:
        fail(f"the failure is not on stderr: {p.stderr!r}")
    print(f"baseline: own report passes; one site fewer in the baseline fails: {failures[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--cmake", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--srcdir", required=True, help="tests/track: corpus sources and .expect files")
    ap.add_argument("--exe", help="the corpus program (--cc builds it instead)")
    ap.add_argument("--cc", help="corpus: build the program with this compiler and -g")
    ap.add_argument("--name", help="corpus program name (corpus)")
    ap.add_argument("what", choices=["corpus", "suppress", "baseline"])
    ap.add_argument("args", nargs="*", help="the program's arguments")
    o = ap.parse_args()
    if o.cc is not None and not shutil.which(o.cc):
        print(f"SKIP: the compiler {o.cc!r} was not found")
        return 77
    if not o.exe and not (o.cc and o.what == "corpus"):
        ap.error("--exe is required, unless corpus is built with --cc")
    tmp = tempfile.mkdtemp(prefix=f"ptmem-e2e-{o.name or o.what}-")
    try:
        {"corpus": check_corpus, "suppress": check_suppress, "baseline": check_baseline}[o.what](o, tmp)
    except Failure as e:
        print(f"FAIL {o.name or o.what}:\n{e}", file=sys.stderr)
        print(f"(traces kept in {tmp})", file=sys.stderr)
        return 1
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
