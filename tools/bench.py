"""`make bench`: the unit's speed, memory and size, measured in this run, as one table.

Every figure comes from a module in tools/bench/ exposing `run() -> list of rows`, a row being
a dict with keys: area, figure, value, unit, and optionally goal and note. The table is printed
and written to build/bench.json. Numbers vary between machines: ratios stand beside absolutes.
"""
import importlib
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "bench"))

ORDER = ("size", "heap", "t4", "cafis", "mqtt", "latency", "pump")


def fmt(v):
    if isinstance(v, float):
        return "%.3g" % v if abs(v) < 1000 else "%.0f" % v
    return str(v)


def main(argv):
    only = argv[1:]
    names = [n[:-3] for n in sorted(os.listdir(os.path.join(ROOT, "tools", "bench")))
             if n.endswith(".py") and not n.startswith("_")]
    names.sort(key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
    rows = []
    failed = []
    for n in names:
        if only and n not in only:
            continue
        t0 = time.time()
        print("bench: %s ..." % n, flush=True)
        try:
            got = importlib.import_module(n).run()
        except Exception as e:  # a broken benchmark is reported, the others still run
            failed.append((n, repr(e)))
            print("bench: %s FAILED: %r" % (n, e), flush=True)
            continue
        for r in got:
            r.setdefault("area", n)
        rows += got
        print("bench: %s done in %.1f s" % (n, time.time() - t0), flush=True)
    w = [max([len(h)] + [len(fmt(r.get(k, ""))) for r in rows])
         for h, k in (("area", "area"), ("figure", "figure"), ("value", "value"), ("unit", "unit"),
                      ("goal", "goal"))]
    line = "  ".join("%-*s" % (w[i], h) for i, h in enumerate(("area", "figure", "value", "unit", "goal")))
    print()
    print(line)
    print("-" * len(line))
    for r in rows:
        cells = [fmt(r.get(k, "")) for k in ("area", "figure", "value", "unit", "goal")]
        print("  ".join("%-*s" % (w[i], c) for i, c in enumerate(cells)) + ("  " + r["note"] if r.get("note") else ""))
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    out = os.path.join(ROOT, "build", "bench.json")
    with open(out, "w") as f:
        json.dump({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows,
                   "failed": failed}, f, indent=1, ensure_ascii=False)
    print("\nbench: written to %s" % os.path.relpath(out, ROOT))
    for n, e in failed:
        print("bench: %s failed: %s" % (n, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
