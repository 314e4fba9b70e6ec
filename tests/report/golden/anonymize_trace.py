#!/usr/bin/env python3
"""Makes a real trace a golden-case input: every file path (program, argv, modules) is moved under
/nonexistent, so symbolization cannot depend on the machine (a CI runner's libc is another build,
and our own binaries are not there at all): every frame is module+offset, the same everywhere.

usage: anonymize_trace.py IN.json OUT.json [--build-dir DIR]   (DIR in paths becomes /build)
"""
import json
import sys


def move(path, build_dir):
    if build_dir and path.startswith(build_dir):
        path = "/build" + path[len(build_dir):]
    return "/nonexistent" + path if path.startswith("/") else path


def main(argv):
    src, dst = argv[1], argv[2]
    build_dir = argv[argv.index("--build-dir") + 1].rstrip("/") if "--build-dir" in argv else None
    with open(src, encoding="utf-8") as f:
        text = f.read()
    out = []
    for line in text.split("\n"):
        if not line:
            continue
        rec = json.loads(line)
        if rec.get("type") == "header":
            rec["exe"] = move(rec["exe"], build_dir)
            rec["argv"] = [move(a, build_dir) for a in rec.get("argv", [])]
        elif rec.get("type") == "module":
            rec["path"] = move(rec["path"], build_dir)
        out.append(json.dumps(rec, separators=(",", ":")))
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + ("\n" if text.endswith("\n") else ""))


if __name__ == "__main__":
    main(sys.argv)
