"""Size: the .mpy bytes the board carries (xtensawin): the module set `make build` puts on the
board (the import graph of firmware/main.py with the esp32 port, tools/build.py), in total, per
package and per module. Goal <= 64 KB. The per-module rows are marked `hide` (in
build/bench.json, not in the table)."""
import os
import shutil

import build
from mpycheck import ROOT

GOAL = 64 * 1024


def run():
    out = os.path.join(ROOT, "build", "bench-size")
    shutil.rmtree(out, ignore_errors=True)
    mods, _ext = build.module_set("esp32")
    for m in mods:
        rel = build.rel_file(m)
        build.mpy_cross(os.path.join(build.FW, rel), rel, os.path.join(out, rel[:-3] + ".mpy"), "xtensawin")
    left = sorted(build.all_modules() - set(mods))
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
            "note": "%.0f%% of goal; %d modules (main.py's import graph); %d left on the host" % (
                100.0 * total / GOAL, len(rows), len(left))}
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
