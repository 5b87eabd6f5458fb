"""Build the firmware for a board: .mpy files (mpy-cross, the board's -march) under build/<board>/.

Usage: python tools/build.py --board esp32_devkitc
main.py and boot.py stay source (the board runs them by name); board.json and, when present,
config.json are copied beside them.
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpycheck import ROOT, compile_all  # noqa: E402


def board_info(board):
    path = os.path.join(ROOT, "boards", board, "board.json")
    if not os.path.exists(path):
        have = sorted(d for d in os.listdir(os.path.join(ROOT, "boards"))
                      if os.path.exists(os.path.join(ROOT, "boards", d, "board.json")))
        raise SystemExit("build: no board %r (boards/: %s)" % (board, ", ".join(have)))
    with open(path) as f:
        return path, json.load(f)


def build(board):
    path, info = board_info(board)
    out = os.path.join(ROOT, "build", board)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    if compile_all(info["march"], out, quiet=True):
        raise SystemExit("build: mpy-cross failed")
    for name in ("main.py", "boot.py"):
        src = os.path.join(ROOT, "firmware", name)
        if os.path.exists(os.path.join(out, name[:-3] + ".mpy")):
            os.remove(os.path.join(out, name[:-3] + ".mpy"))  # the board runs these as source
        if os.path.exists(src):
            shutil.copy(src, out)
    shutil.copy(path, os.path.join(out, "board.json"))
    cfg = os.path.join(ROOT, "boards", board, "config.json")
    if os.path.exists(cfg):
        shutil.copy(cfg, out)
    total = 0
    files = 0
    for dp, _dn, fns in os.walk(out):
        for f in fns:
            total += os.path.getsize(os.path.join(dp, f))
            files += 1
    print("build: %s (-march=%s): %d files, %d bytes in %s" % (board, info["march"], files, total,
                                                               os.path.relpath(out, ROOT)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", required=True)
    build(ap.parse_args().board)


if __name__ == "__main__":
    main()
