"""Size: the .mpy bytes the board carries (xtensawin), in total and per module. Goal <= 64 KB."""
import os
import shutil

from mpycheck import ROOT, compile_all

GOAL = 64 * 1024


def run():
    out = os.path.join(ROOT, "build", "bench-size")
    shutil.rmtree(out, ignore_errors=True)
    if compile_all("xtensawin", out, quiet=True):
        raise RuntimeError("mpy-cross failed")
    rows = []
    total = 0
    for dp, _dn, fns in sorted(os.walk(out)):
        for f in sorted(fns):
            p = os.path.join(dp, f)
            n = os.path.getsize(p)
            total += n
            rows.append({"figure": "mpy " + os.path.relpath(p, out), "value": n, "unit": "B"})
    rows.sort(key=lambda r: -r["value"])
    head = {"figure": ".mpy total (xtensawin)", "value": total, "unit": "B", "goal": "<= %d" % GOAL,
            "note": "%.0f%% of goal" % (100.0 * total / GOAL)}
    return [head] + rows
