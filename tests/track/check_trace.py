#!/usr/bin/env python3
"""check_trace.py - the tests' own reader and checker of ptmem traces (docs/trace-format.md).

Usage:
  check_trace.py [--addr2line PATH] EXPECT TRACE...   check the traces of one run (exit 0 / 1)
  check_trace.py --self-test [--addr2line PATH] EXPECT TRACE...
      the same traces must pass, then deliberately broken copies of the expectations and of the
      traces must each fail (proves that the checker can fail, and on what)

It is written from the format document only, with the standard library and binutils' addr2line,
so that it checks the writer (track/trace.c) instead of sharing its assumptions.

Validation of each trace:
  * every line is a JSON object with a "type"; unknown types are skipped (the format allows new
    ones); the header is the first line (format "ptmem-trace", version 1; a newer version is
    rejected), the summary is the last and the scan ran completely with no dropped line;
  * the program's own module is listed once and never unloaded; loaded modules do not overlap;
  * every leak's stack has a stack line; every frame of every stack falls in a PT_LOAD segment of
    some module (return address minus one, as the format says);
  * the leak records of each kind add up to the summary's totals.
Symbolization: the FIRST frame of each leak stack (the function that called malloc/new) is looked
up with `addr2line -f -C -e <module path> <frame - base - 1>` (the load bias makes this the ELF
virtual address for PIE programs and shared objects alike), after checking the module's build-id
against the file on disk (the format requires it: a rebuilt file would give wrong names).

Expectation file (one per corpus program, tests/track/<name>.expect):
  # comment
  [main]                        optional section header: lines apply to the started process
  <kind> <function> <count> <bytes>
  [child]                       lines for the process the started one forked (found by ppid)
  kind is definite, indirect or reachable; function is the symbolized name of the first frame
  without its parameter list (make_ints for "make_ints(int)"). Per trace the checker requires:
  exact count and bytes for every listed (kind, function); for definite and indirect, the
  summary's totals equal the sums of the listed lines, so any leak not listed fails; reachable is
  only checked for the listed functions (the C library keeps reachable buffers of its own).
  The number of traces must equal the number of sections ([main] is implied).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

KINDS = ("definite", "indirect", "reachable")
UNKNOWN_STACK = 1  # allocations made inside the tracker, or with no usable frame: no stack line
FORMAT = "ptmem-trace"
VERSION = 1


class CheckError(Exception):
    """A trace that is invalid or does not match its expectations."""


def fail(msg):
    raise CheckError(msg)


def hexaddr(v, what):
    if not isinstance(v, str) or not v.startswith("0x"):
        fail(f"{what}: address {v!r} is not a \"0x...\" string")
    try:
        return int(v, 16)
    except ValueError:
        fail(f"{what}: address {v!r} is not hexadecimal")


def check_int64(value, what):
    """Every integer of the trace fits the report's 64-bit integers (jansson's json_int_t)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -2**63 <= value < 2**63:
        fail(f"{what}: integer {value} does not fit 64 bits")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_int64(v, f"{what}.{k}")
    elif isinstance(value, list):
        for v in value:
            check_int64(v, what)


def intfield(rec, key, what):
    v = rec.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        fail(f"{what}: field {key!r} is {v!r}, not a non-negative integer")
    return v


class Module:
    def __init__(self, rec, lineno):
        what = f"line {lineno} (module)"
        self.id = intfield(rec, "id", what)
        self.path = rec.get("path")
        if not isinstance(self.path, str):
            fail(f"{what}: no path")
        self.base = hexaddr(rec.get("base"), what)
        self.build_id = rec.get("build_id", "")
        self.unloaded = "unloaded_ns" in rec
        self.segments = []
        for s in rec.get("segments") or []:
            vaddr = hexaddr(s.get("vaddr"), what)
            size = s.get("size")
            size = hexaddr(size, what) if isinstance(size, str) else size
            if not isinstance(size, int):
                fail(f"{what}: segment size {size!r}")
            self.segments.append((self.base + vaddr, self.base + vaddr + size, s.get("perms", "")))

    def contains(self, addr):
        return any(lo <= addr < hi for lo, hi, _ in self.segments)


class Trace:
    """One parsed and validated trace file."""

    def __init__(self, path):
        self.path = path
        self.header = None
        self.summary = None
        self.modules = []
        self.stacks = {}  # stack id -> absolute return addresses, innermost first
        self.nodes = {0: None}  # node id -> (parent, module id, offset); 0 is the root
        self.stack_nodes = {}
        self.sites = []
        self.leaks = []
        self.names = {}  # stack id -> symbolized name of its first frame
        self._parse()
        self._validate()

    def _parse(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except (OSError, UnicodeDecodeError) as e:
            fail(f"{self.path}: cannot read: {e}")
        if lines and lines[-1] == "":
            lines.pop()  # the final newline
        else:
            fail(f"{self.path}: does not end with a newline (a half-written line?)")
        if not lines:
            fail(f"{self.path}: empty")
        for n, line in enumerate(lines, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                fail(f"{self.path}:{n}: not JSON: {e}")
            if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
                fail(f"{self.path}:{n}: not an object with a \"type\"")
            check_int64(rec, f"{self.path}:{n}")
            t = rec["type"]
            first, last = n == 1, n == len(lines)
            if first and t != "header":
                fail(f"{self.path}:1: first record is {t!r}, not the header")
            if t == "header":
                if not first:
                    fail(f"{self.path}:{n}: header is not the first line")
                if rec.get("format") != FORMAT:
                    fail(f"{self.path}: format {rec.get('format')!r}, not {FORMAT!r}")
                if rec.get("version") != VERSION:
                    fail(f"{self.path}: version {rec.get('version')!r}; this reader knows {VERSION}")
                for k in ("pid", "ppid"):
                    intfield(rec, k, f"{self.path}: header")
                self.header = rec
            elif t == "summary":
                if not last:
                    fail(f"{self.path}:{n}: summary is not the last line")
                self.summary = rec
            elif t == "module":
                self.modules.append(Module(rec, n))
            elif t == "nodes":
                first = intfield(rec, "first", f"{self.path}:{n}")
                cols = [rec.get(k) for k in ("parent", "module", "offset")]
                if not all(isinstance(c, list) for c in cols) or len({len(c) for c in cols}) != 1:
                    fail(f"{self.path}:{n}: nodes need parent, module and offset arrays of one length")
                for i, (par, mod, off) in enumerate(zip(*cols)):
                    if first + i in self.nodes:
                        fail(f"{self.path}:{n}: node {first + i} twice")
                    if par not in self.nodes:
                        fail(f"{self.path}:{n}: node {first + i} has parent {par}, not written before it")
                    self.nodes[first + i] = (par, mod, hexaddr(off, f"{self.path}:{n}"))
            elif t == "stacks":
                first = intfield(rec, "first", f"{self.path}:{n}")
                nodes = rec.get("node")
                if not isinstance(nodes, list):
                    fail(f"{self.path}:{n}: stacks without a node array")
                if first < 2:
                    fail(f"{self.path}:{n}: stack ids start at 2 (1 is 'unknown')")
                for i, node in enumerate(nodes):
                    if node not in self.nodes:
                        fail(f"{self.path}:{n}: stack {first + i} is node {node}, which does not exist")
                    self.stack_nodes[first + i] = node
            elif t == "sites":
                cols = {k: rec.get(k) for k in ("stack", "allocs", "frees", "alloc_bytes", "live_bytes",
                                                "live_count", "peak_bytes", "temporary")}
                if not all(isinstance(c, list) for c in cols.values()) or len({len(c) for c in cols.values()}) != 1:
                    fail(f"{self.path}:{n}: sites need eight columns of one length")
                for i in range(len(cols["stack"])):
                    self.sites.append({k: v[i] for k, v in cols.items()})
            elif t == "leak":
                what = f"{self.path}:{n} (leak)"
                kind = rec.get("kind")
                if kind not in KINDS:
                    fail(f"{what}: kind {kind!r}")
                leak = {"line": n, "stack": intfield(rec, "stack", what), "kind": kind,
                        "count": intfield(rec, "count", what), "bytes": intfield(rec, "bytes", what)}
                if leak["count"] == 0:
                    fail(f"{what}: a leak record of 0 blocks")
                self.leaks.append(leak)
            # Any other type (site, and types added later) is skipped, as the format requires.
        if self.summary is None:
            fail(f"{self.path}: no summary line: the trace is incomplete")
        bases = {m.id: m.base for m in self.modules}
        for sid, node in self.stack_nodes.items():  # rebuild each stack from the tree
            frames = []
            while node:
                parent, mod, off = self.nodes[node]
                if mod != -1 and mod not in bases:
                    fail(f"{self.path}: node {node} names module {mod}, which has no module line")
                frames.append(off if mod == -1 else bases[mod] + off)
                node = parent
            if frames:
                self.stacks[sid] = frames

    def _validate(self):
        s = self.summary
        # Snapshots ("final": false) are written while the program runs: no leak scan there.
        snapshot = s.get("final") is False
        # A process ending through _exit, _Exit, quick_exit or an exec (after a snapshot of it was
        # written) has no leak scan by design (as LSan).
        no_scan = snapshot or s.get("exit_call") in ("_exit", "_Exit", "quick_exit", "execve", "execv", "execvp",
                                                     "execvpe", "execl", "execlp", "execle", "fexecve", "execveat")
        # So has a fork child a signal ended: its heap is its parent's copy.
        no_scan = no_scan or (s.get("forked_child") is True and "signal" in s)
        if s.get("leak_scan") is not True and not no_scan:
            fail(f"{self.path}: summary says the leak scan did not run")
        if not no_scan and s.get("leak_scan_complete") is not True:
            fail(f"{self.path}: summary says the leak scan was incomplete")
        if s.get("dropped_lines", 0) != 0:
            fail(f"{self.path}: {s.get('dropped_lines')} lines were dropped")
        # The program itself is never unloaded: exactly one entry, without unloaded_ns ("one per
        # object ever loaded"; unloaded_ns only "if it was dlclose'd before the end").
        exe = [m for m in self.modules if m.path == self.header.get("exe")]
        if len(exe) != 1 or exe[0].unloaded:
            fail(f"{self.path}: the program {self.header.get('exe')} has {len(exe)} module entries "
                 f"(ids {[m.id for m in exe]}, {sum(m.unloaded for m in exe)} marked unloaded); "
                 "expected exactly one, loaded")
        live = [(lo, hi, m) for m in self.modules if not m.unloaded for lo, hi, _ in m.segments]
        live.sort(key=lambda x: x[0])
        for (lo1, hi1, m1), (lo2, hi2, m2) in zip(live, live[1:]):
            if lo2 < hi1:
                fail(f"{self.path}: loaded modules {m1.id} ({m1.path}) and {m2.id} ({m2.path}) overlap")
        for leak in self.leaks:
            if leak["stack"] != UNKNOWN_STACK and leak["stack"] not in self.stacks:
                fail(f"{self.path}:{leak['line']}: leak of stack {leak['stack']} which has no stack line")
        for sid, frames in self.stacks.items():
            for a in frames:
                if self.module_of(a) is None:
                    fail(f"{self.path}: stack {sid}: frame {a:#x} is in no module's segments")
        for kind in KINDS:
            if no_scan:
                break
            tot = s.get(kind)
            if not isinstance(tot, dict):
                fail(f"{self.path}: summary has no {kind} totals")
            count = sum(l["count"] for l in self.leaks if l["kind"] == kind)
            nbytes = sum(l["bytes"] for l in self.leaks if l["kind"] == kind)
            if (tot.get("count"), tot.get("bytes")) != (count, nbytes):
                fail(f"{self.path}: summary {kind} is {tot.get('count')} blocks / {tot.get('bytes')} "
                     f"bytes but its leak records add up to {count} / {nbytes}")

    def module_of(self, ret_addr):
        # A return address points after the call; the call itself is at ret_addr - 1.
        for m in self.modules:
            if m.contains(ret_addr - 1):
                return m
        return None

    def symbolize(self, addr2line):
        """Names the first frame of every leak stack; one addr2line run per module."""
        want = {}  # module -> [(stack id, offset)]
        for sid in sorted({l["stack"] for l in self.leaks} - {UNKNOWN_STACK}):
            frame = self.stacks[sid][0]
            m = self.module_of(frame)
            want.setdefault(m, []).append((sid, frame - m.base - 1))
        for m, items in want.items():
            if not os.path.isfile(m.path):
                fail(f"{self.path}: module {m.path} is not a file; cannot symbolize")
            if m.build_id:
                on_disk = elf_build_id(m.path)
                if on_disk is not None and on_disk != m.build_id:
                    fail(f"{self.path}: build-id of {m.path} is {on_disk} on disk but "
                         f"{m.build_id} in the trace (the file was rebuilt)")
            cmd = [addr2line, "-f", "-C", "-e", m.path] + [f"{off:#x}" for _, off in items]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = out.stdout.splitlines()
            if out.returncode != 0 or len(lines) != 2 * len(items):
                fail(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
            for i, (sid, _) in enumerate(items):
                self.names[sid] = strip_params(lines[2 * i])

    def totals_by_function(self):
        """{(kind, function): [count, bytes]} over the leak records."""
        agg = {}
        for l in self.leaks:
            key = (l["kind"], self.names.get(l["stack"], "??"))
            a = agg.setdefault(key, [0, 0])
            a[0] += l["count"]
            a[1] += l["bytes"]
        return agg


def strip_params(name):
    """'make_ints(int)' -> 'make_ints'; 'ns::f(std::vector<int>) const' -> 'ns::f'."""
    name = name.strip()
    if name.endswith(" const"):
        name = name[: -len(" const")]
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        if name[i] == ")":
            depth += 1
        elif name[i] == "(":
            depth -= 1
            if depth == 0:
                return name[:i] if i > 0 else name
    return name


def elf_build_id(path):
    """The GNU build-id (hex) from the PT_NOTE segments of an ELF64 little-endian file, or None."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, off)
            name_off = off + 12
            desc_off = name_off + ((namesz + 3) & ~3)
            if ntype == 3 and data[name_off:name_off + namesz] == b"GNU\0":  # NT_GNU_BUILD_ID
                return data[desc_off:desc_off + descsz].hex()
            off = desc_off + ((descsz + 3) & ~3)
    return ""


def parse_expect(path):
    """{role: [(kind, function, count, bytes)]}; role 'main' always exists."""
    roles = {"main": []}
    role = "main"
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                role = line[1:-1]
                if role not in ("main", "child"):
                    fail(f"{path}:{n}: unknown section {line}")
                roles.setdefault(role, [])
                continue
            parts = line.split()
            if len(parts) != 4 or parts[0] not in KINDS:
                fail(f"{path}:{n}: expected '<kind> <function> <count> <bytes>', got {line!r}")
            try:
                count, nbytes = int(parts[2]), int(parts[3])
            except ValueError:
                fail(f"{path}:{n}: count and bytes must be integers: {line!r}")
            if any(e[0] == parts[0] and e[1] == parts[1] for e in roles[role]):
                fail(f"{path}:{n}: ({parts[0]}, {parts[1]}) listed twice")
            roles[role].append((parts[0], parts[1], count, nbytes))
    return roles


def assign_roles(traces, roles):
    """Maps 'main' to the trace of the started process and 'child' to the one it forked."""
    if len(traces) != len(roles):
        fail(f"{len(traces)} trace(s) {[t.path for t in traces]} but the expectations describe "
             f"{len(roles)} process(es) {sorted(roles)}")
    pids = {t.header["pid"] for t in traces}
    mains = [t for t in traces if t.header["ppid"] not in pids]
    if len(mains) != 1:
        fail(f"cannot tell the started process among {[t.path for t in traces]}")
    out = {"main": mains[0]}
    if "child" in roles:
        kids = [t for t in traces if t.header["ppid"] == mains[0].header["pid"]]
        if len(kids) != 1:
            fail(f"expected one child of pid {mains[0].header['pid']}, found {len(kids)}")
        out["child"] = kids[0]
    return out


def compare(trace, expected, role):
    """Raises CheckError unless the trace's leaks match the expectation lines of its role."""
    got = trace.totals_by_function()
    errors = []
    for kind, func, count, nbytes in expected:
        c, b = got.get((kind, func), [0, 0])
        if (c, b) != (count, nbytes):
            errors.append(f"{kind} {func}: expected {count} block(s) / {nbytes} bytes, got {c} / {b}")
    for kind in ("definite", "indirect"):  # so that an unexpected leak fails
        want_c = sum(e[2] for e in expected if e[0] == kind)
        want_b = sum(e[3] for e in expected if e[0] == kind)
        tot = trace.summary[kind]
        if (tot["count"], tot["bytes"]) != (want_c, want_b):
            extra = [f"{k} {f} {v[0]} {v[1]}" for (k, f), v in sorted(got.items()) if k == kind]
            errors.append(f"summary {kind}: expected {want_c} / {want_b} bytes in total, got "
                          f"{tot['count']} / {tot['bytes']}; the trace has: {extra}")
    if errors:
        fail(f"{trace.path} ({role}):\n  " + "\n  ".join(errors))


def describe(trace, role):
    lines = [f"{role}: {trace.path} (pid {trace.header['pid']}, ppid {trace.header['ppid']})"]
    for (kind, func), (c, b) in sorted(trace.totals_by_function().items()):
        lines.append(f"  {kind:9} {func:24} {c:6} blocks {b:10} bytes")
    for kind in KINDS:
        t = trace.summary[kind]
        lines.append(f"  summary {kind}: {t['count']} / {t['bytes']} bytes")
    return "\n".join(lines)


def check(expect_path, trace_paths, addr2line="addr2line", verbose=True):
    """Loads, validates, symbolizes and compares; returns {role: Trace}. Raises CheckError."""
    roles = parse_expect(expect_path)
    traces = [Trace(p) for p in trace_paths]
    by_role = assign_roles(traces, roles)
    for role, t in by_role.items():
        t.symbolize(addr2line)
        if verbose:
            print(describe(t, role))
        compare(t, roles[role], role)
    return by_role


# ---- self-test: broken expectations and traces must be rejected ---------------------------------

def _mutate_lines(path, fn):
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(l) for l in f if l.strip()]
    recs = fn(recs)
    return "".join(json.dumps(r) + "\n" for r in recs)


def self_test(expect_path, trace_paths, addr2line):
    check(expect_path, trace_paths, addr2line, verbose=True)  # the unbroken inputs must pass
    roles = parse_expect(expect_path)
    main_lines = roles["main"]
    if not any(e[0] == "definite" for e in main_lines) or len(trace_paths) != 1:
        fail("the self-test needs one trace whose expectations list a definite leak")
    kind, func, count, nbytes = next(e for e in main_lines if e[0] == "definite")
    bad_expect = {
        "wrong bytes": f"{kind} {func} {count} {nbytes + 1}\n",
        "wrong count": f"{kind} {func} {count + 1} {nbytes}\n",
        "wrong function": f"{kind} not_{func} {count} {nbytes}\n",
        "wrong kind": f"indirect {func} {count} {nbytes}\n",
        "leak not listed (summary total)": "",
        "reachable not found": f"{kind} {func} {count} {nbytes}\nreachable no_such_function 1 8\n",
        "two processes expected": f"{kind} {func} {count} {nbytes}\n[child]\n",
        "malformed line": f"{kind} {func} {count}\n",
    }

    def first_leak(recs):
        return next(r for r in recs if r["type"] == "leak" and r["kind"] == "definite")

    def drop_stack_of_leak(recs):
        sid = first_leak(recs)["stack"]
        for r in recs:
            if r["type"] == "stacks" and 0 <= sid - r["first"] < len(r["node"]):
                r["node"][sid - r["first"]] = 0  # the stack no longer has frames
        return recs

    def shift_modules(recs):  # every frame lands outside its module's segments
        for r in recs:
            if r["type"] == "nodes":
                r["offset"] = [hex(int(o, 16) + 0x10000000) for o in r["offset"]]
        return recs

    def leak_bytes(recs):
        first_leak(recs)["bytes"] += 1
        return recs

    def summary_total(recs):
        recs[-1]["definite"]["count"] += 1
        return recs

    def build_id(recs):
        for r in recs:
            if r["type"] == "module" and r.get("build_id"):
                r["build_id"] = "00" * 20
        return recs

    def set_header(key, value):
        def fn(recs):
            recs[0][key] = value
            return recs
        return fn

    def set_summary(key, value):
        def fn(recs):
            recs[-1][key] = value
            return recs
        return fn

    def exe_unloaded(recs):
        next(r for r in recs if r["type"] == "module" and r["path"] == recs[0]["exe"])["unloaded_ns"] = 1
        return recs

    def unknown_type(recs):  # must still PASS: readers skip unknown types
        recs.insert(1, {"type": "timeline", "t": 1})
        return recs

    bad_trace = {
        "no summary": lambda recs: recs[:-1],
        "header not first": lambda recs: recs[1:2] + recs[:1] + recs[2:],
        "summary not last": lambda recs: recs[:-2] + recs[-1:] + recs[-2:-1],
        "version 2": set_header("version", 2),
        "other format": set_header("format", "other"),
        "leak without stack line": drop_stack_of_leak,
        "frames outside every module": shift_modules,
        "leak records != summary": summary_total,
        "leak bytes changed": leak_bytes,
        "build-id mismatch": build_id,
        "program marked unloaded": exe_unloaded,
        "incomplete scan": set_summary("leak_scan_complete", False),
        "dropped lines": set_summary("dropped_lines", 1),
    }
    failures = []
    tmp = tempfile.mkdtemp(prefix="ptmem-check-selftest.")
    try:
        for what, text in bad_expect.items():
            p = os.path.join(tmp, "bad.expect")
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            try:
                check(p, trace_paths, addr2line, verbose=False)
                failures.append(f"expectation mutant '{what}' was accepted")
            except CheckError as e:
                print(f"self-test: '{what}' rejected: {str(e).splitlines()[-1].strip()}")
        for what, fn in bad_trace.items():
            p = os.path.join(tmp, "bad.json")
            with open(p, "w", encoding="utf-8") as f:
                f.write(_mutate_lines(trace_paths[0], fn))
            try:
                check(expect_path, [p], addr2line, verbose=False)
                failures.append(f"trace mutant '{what}' was accepted")
            except CheckError as e:
                print(f"self-test: '{what}' rejected: {str(e).splitlines()[-1].strip()}")
        p = os.path.join(tmp, "ok.json")
        with open(p, "w", encoding="utf-8") as f:
            f.write(_mutate_lines(trace_paths[0], unknown_type))
        try:
            check(expect_path, [p], addr2line, verbose=False)
            print("self-test: an unknown record type is skipped, as the format requires")
        except CheckError as e:
            failures.append(f"a trace with an unknown record type was rejected: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        fail("checker self-test:\n  " + "\n  ".join(failures))
    print(f"self-test: {len(bad_expect) + len(bad_trace)} broken inputs rejected, 1 extension accepted")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr2line", default="addr2line")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--validate", action="store_true",
                    help="only parse and validate the traces (no expectations file)")
    ap.add_argument("expect", help="expectations file (with --validate: the first trace)")
    ap.add_argument("traces", nargs="*")
    a = ap.parse_args(argv)
    try:
        if a.validate:
            for path in [a.expect] + a.traces:
                t = Trace(path)
                print(f"{path}: valid, {t.summary.get('allocs')} allocations, {len(t.stacks)} stacks")
        elif a.self_test:
            self_test(a.expect, a.traces, a.addr2line)
        else:
            check(a.expect, a.traces, a.addr2line)
    except CheckError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
