#!/usr/bin/env python3
"""check_install.py - `cmake --install` as a user's project consumes it (tests/install/CMakeLists.txt).

  1. installs the build into WORKDIR/prefix and checks the installed files;
  2. pkg-config: `--cflags --libs ptmem` builds and links the example program against
     libptmem_pools.a, and the variable `preload` is the installed libptmem.so;
  3. moves the prefix elsewhere (the wrapper and the CMake package must not depend on where it was
     installed), configures and builds tests/install/example/ with CMAKE_PREFIX_PATH=<moved prefix>
     and runs its ctest, twice (the second run replaces the first run's traces): greeter_clean must
     pass; greeter_leaky must fail with the gate's line naming remember_greeting, exit status 1;
     greeter_leaky_suppressed (SUPPRESSIONS) must pass; greeter_peak_budget (MAX_PEAK 1K) must fail
     on the peak.
Exit: 0 pass, 1 fail.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

TIMEOUT = 240  # seconds per command
failures = []


def check(ok, what, got=None):
    if ok:
        return
    failures.append(what)
    print(f"check_install: FAIL: {what}" + ("" if got is None else f"\n  got: {got!r}"), flush=True)


def run(cmd, cwd=None, env=None):
    print("check_install: $ " + " ".join(cmd), flush=True)
    env = env or {k: v for k, v in os.environ.items() if not k.startswith("PTMEM_") and k != "LD_PRELOAD"}
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    return res


def must(res, what):
    if res.returncode != 0:
        print(res.stdout[-4000:], res.stderr[-4000:])
        raise SystemExit(f"check_install: FAIL: {what} (exit {res.returncode})")
    return res


def check_files(a, prefix):
    wanted = [
        f"{a.bindir}/ptmem", f"{a.bindir}/ptmem-report", f"{a.libdir}/libptmem.so", f"{a.libdir}/libptmem_pools.a",
        f"{a.includedir}/ptmem/pools.h", f"{a.includedir}/ptmem/ptmem.h", f"{a.libdir}/pkgconfig/ptmem.pc",
        f"{a.libdir}/cmake/ptmem/ptmemConfig.cmake", f"{a.libdir}/cmake/ptmem/ptmemConfigVersion.cmake",
        f"{a.libdir}/cmake/ptmem/ptmemAddLeakTest.cmake", f"{a.mandir}/man1/ptmem.1",
    ]
    for rel in wanted:
        check(os.path.isfile(os.path.join(prefix, rel)), f"installed {rel}")
    for exe in (f"{a.bindir}/ptmem", f"{a.bindir}/ptmem-report"):
        check(os.access(os.path.join(prefix, exe), os.X_OK), f"{exe} is executable")


def check_pkg_config(a, prefix, work):
    if not a.pkg_config or a.pkg_config.endswith("NOTFOUND"):
        print("check_install: pkg-config is not installed: its part of the test is left out")
        return
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, a.libdir, "pkgconfig"))
    flags = must(run([a.pkg_config, "--cflags", "--libs", "ptmem"], env=env), "pkg-config --cflags --libs ptmem")
    check(f"-I{prefix}/{a.includedir}" in flags.stdout and "-lptmem_pools" in flags.stdout,
          "pkg-config gives the installed include dir and -lptmem_pools", flags.stdout)
    version = must(run([a.pkg_config, "--modversion", "ptmem"], env=env), "pkg-config --modversion")
    check(version.stdout.strip() == a.version, f"pkg-config version {a.version}", version.stdout)
    preload = must(run([a.pkg_config, "--variable=preload", "ptmem"], env=env), "pkg-config --variable=preload")
    check(preload.stdout.strip() == os.path.join(prefix, a.libdir, "libptmem.so"),
          "the preload variable is the installed libptmem.so", preload.stdout)
    exe = os.path.join(work, "greeter-pkg-config")
    must(run([a.cc, "-o", exe, os.path.join(a.example, "greeter.c"), *flags.stdout.split()]),
         "building the example program with pkg-config's flags")
    greeted = run([exe, "--clean", "Ada"])
    check(greeted.returncode == 0 and greeted.stdout == "hello, Ada\n", "the pkg-config build runs", greeted.stdout)


def check_example(a, prefix, work):
    build = os.path.join(work, "example-build")
    must(run([a.cmake, "-S", a.example, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
              f"-DCMAKE_C_COMPILER={a.cc}"]), "configuring the example project against the installed ptmem")
    must(run([a.cmake, "--build", build]), "building the example project")

    # What ptmem_add_leak_test generated: the installed wrapper, --replace, the label.
    shown = json.loads(must(run([a.ctest, "--show-only=json-v1"], cwd=build), "ctest --show-only").stdout)
    tests = {t["name"]: t for t in shown.get("tests", [])}
    expected = {"greeter_clean": 0, "greeter_leaky": 1, "greeter_leaky_suppressed": 0, "greeter_peak_budget": 1}
    check(sorted(tests) == sorted(expected), "the example has its four tests", sorted(tests))
    for name, test in tests.items():
        cmd = test.get("command", [])
        check(cmd[:2] == [os.path.join(prefix, a.bindir, "ptmem"), "run"], f"{name} runs the installed ptmem", cmd)
        labels = [p["value"] for p in test.get("properties", []) if p.get("name") == "LABELS"]
        check(labels == [["ptmem"]], f"{name} has the label ptmem", labels)
    options = tests.get("greeter_peak_budget", {}).get("command", [])
    check("--fail-on=definite" in options and options[options.index("--max-peak") + 1:][:1] == ["1K"]
          if "--max-peak" in options else False, "FAIL_ON and MAX_PEAK become --fail-on= and --max-peak", options)
    suppressed = tests.get("greeter_leaky_suppressed", {})
    options = suppressed.get("command", [])
    check(os.path.join(a.example, "greeter.supp") in options, "SUPPRESSIONS becomes an absolute --suppressions", options)
    wd = [p["value"] for p in suppressed.get("properties", []) if p.get("name") == "WORKING_DIRECTORY"]
    check(wd == [a.example], "WORKING_DIRECTORY is the test's", wd)

    for attempt in (1, 2):  # the second run must replace the first run's traces, not refuse them
        res = run([a.ctest, "--output-on-failure"], cwd=build)
        out = res.stdout + res.stderr
        print(out[-6000:])
        check(res.returncode != 0, f"run {attempt}: the example's ctest fails (its leaky test)", res.returncode)
        for name, status in expected.items():
            verdict = r" +Passed" if status == 0 else r"\*+Failed"
            check(re.search(name + r" \.+" + verdict, out), f"run {attempt}: {name} " + ("passed" if status == 0 else "failed"),
                  out[-2000:])
        check(re.search(r"^ptmem-report: FAIL definite leaks: .*from remember_greeting \(greeter\.c:\d+\)", out, re.M),
              f"run {attempt}: the failure line names remember_greeting", out[-3000:])
        check(re.search(r"^ptmem-report: FAIL peak heap of greeter", out, re.M), f"run {attempt}: the peak budget's line",
              out[-3000:])
        check(re.search(r"^hello, Grace$", out, re.M), f"run {attempt}: the program's own output is there")
        check("already holds" not in out, f"run {attempt}: traces of an earlier run are replaced")

    # The exit statuses behind Passed/Failed: the gate's 0 and 1, not a crash.
    for name, status in expected.items():
        test = tests.get(name, {})
        wd = next((p["value"] for p in test.get("properties", []) if p.get("name") == "WORKING_DIRECTORY"), build)
        res = run(test.get("command", ["false"]), cwd=wd)
        check(res.returncode == status, f"{name} exits with {status}", (res.returncode, res.stderr[-1500:]))


def main():
    ap = argparse.ArgumentParser()
    for opt in ("cmake", "ctest", "build-dir", "config", "libdir", "bindir", "includedir", "mandir", "cc",
                "version", "example", "workdir"):
        ap.add_argument(f"--{opt}", required=True)
    ap.add_argument("--pkg-config", default="")
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    prefix = os.path.join(work, "prefix")

    must(run([a.cmake, "--install", a.build_dir, "--config", a.config, "--prefix", prefix]), "cmake --install")
    check_files(a, prefix)
    check_pkg_config(a, prefix, work)
    version = run([os.path.join(prefix, a.bindir, "ptmem"), "--version"])
    check(version.stdout == f"ptmem {a.version}\n", "the installed ptmem --version", version.stdout)

    moved = os.path.join(work, "moved", "prefix")
    os.makedirs(os.path.dirname(moved))
    os.rename(prefix, moved)
    check_example(a, moved, work)

    if failures:
        print(f"check_install: {len(failures)} check(s) failed")
        return 1
    print("check_install: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
