"""Copy a built board image (build/<board>/) to a board with mpremote.

Usage: python tools/deploy.py --board esp32_devkitc --port /dev/ttyUSB0 [--resume]
--resume: do not soft-reset first (needed for the MicroPython unix port behind a pty, which
stands in for a board in the tests).
A frozen board (board.json "frozen": true) gets only its files (board.json, config.json, ...),
and a `faxbridge/` folder left on its filesystem by an earlier .mpy deploy is removed first: on
MicroPython the filesystem comes before `.frozen` in sys.path, so it would shadow the frozen code.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plan(src):
    """mpremote arguments: make every folder, then copy every file, in a stable order."""
    dirs, files = [], []
    for dp, dn, fns in os.walk(src):
        dn.sort()
        rel = os.path.relpath(dp, src)
        if rel != ".":
            dirs.append(rel.replace(os.sep, "/"))
        for f in sorted(fns):
            r = os.path.join(rel, f) if rel != "." else f
            files.append((os.path.join(dp, f), r.replace(os.sep, "/")))
    return dirs, files


# removes /faxbridge (files and folders) on the board, if there
RM_SHADOW = """import os
def _rm(p):
 try:
  if os.stat(p)[0] & 0x4000:
   for n in os.listdir(p):
    _rm(p + '/' + n)
   os.rmdir(p)
  else:
   os.remove(p)
 except OSError:
  pass
_rm('faxbridge')
"""


def deploy(board, port, resume=False, timeout=300):
    src = os.path.join(ROOT, "build", board)
    if not os.path.isdir(src):
        raise SystemExit("deploy: %s is not built: run `make build BOARD=%s`" % (src, board))
    mpremote = os.path.join(os.path.dirname(sys.executable), "mpremote")
    base = [mpremote, "connect", port] + (["resume"] if resume else [])
    dirs, files = plan(src)
    # mkdir fails on an existing folder: run it as a guarded exec, in one session
    mk = "import os\nfor d in %r:\n try: os.mkdir(d)\n except OSError: pass\n" % (dirs,)
    with open(os.path.join(src, "board.json")) as f:
        if json.load(f).get("frozen"):
            mk = RM_SHADOW + mk
    cmd = base + ["exec", mk]
    for local, remote in files:
        cmd += ["+", "fs", "cp", local, ":" + remote]
    r = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("deploy: mpremote failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    print("deploy: %d files to %s" % (len(files), port))
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()
    deploy(a.board, a.port, a.resume)


if __name__ == "__main__":
    main()
