"""`make bench`: the unit's speed, memory and size, measured in this run, as one table.

Every figure comes from a module in tools/bench/ defining `run() -> list of rows` at top level,
a row being a dict with keys: area, figure, value, unit, and optionally goal and note (modules
without run(), e.g. workers that a benchmark runs on MicroPython, and _helpers are not run).
The table is printed and written to build/bench.json, also when a benchmark fails (then the
failure is listed and the exit status is 1). Numbers vary between machines: ratios stand
beside absolutes. `python tools/bench.py heap latency` runs only those benchmarks.
"""
import ast
import importlib
import platform
import subprocess
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import hostpath  # noqa: E402,F401  (firmware/, the shims and tools/bench on sys.path)

# heap first among the unit's benchmarks: latency and pump run at the heap it finds (+25%)
ORDER = ("size", "heap", "t4", "fax", "cafis", "cafis_engine", "mqtt", "latency", "pump")


def has_run(path):
    """Does the module define run() at top level? (read, not imported: workers run on import)"""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    return any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    try:
        ver = subprocess.run([mp, "-c", "import sys; print(sys.version.split('; ')[-1])"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError as e:
        ver = "not runnable: %s" % e
    return {"cpu": cpu, "cores": os.cpu_count(), "micropython": ver, "python": platform.python_version()}


def fmt(v):
    if isinstance(v, float):
        return "%.3g" % v if abs(v) < 1000 else "%.0f" % v
    return str(v)


def main(argv):
    only = argv[1:]
    bdir = os.path.join(ROOT, "tools", "bench")
    names = [n[:-3] for n in sorted(os.listdir(bdir))
             if n.endswith(".py") and not n.startswith("_") and has_run(os.path.join(bdir, n))]
    names.sort(key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
    rows = []
    failed = []
    timing = {}
    env = machine()
    t_all = time.time()
    print("bench: %s, %s cores; %s" % (env["cpu"], env["cores"], env["micropython"]), flush=True)
    for n in names:
        if only and n not in only:
            continue
        t0 = time.time()
        print("bench: %s ..." % n, flush=True)
        try:
            got = importlib.import_module(n).run()
        except (Exception, SystemExit) as e:  # a broken benchmark is reported, the others still run
            failed.append((n, repr(e)))
            timing[n] = round(time.time() - t0, 1)
            print("bench: %s FAILED: %r" % (n, e), flush=True)
            continue
        timing[n] = round(time.time() - t0, 1)
        for r in got:
            r.setdefault("area", n)
        rows += got
        print("bench: %s done in %.1f s" % (n, time.time() - t0), flush=True)
    w = [max([len(h)] + [len(fmt(r.get(k, ""))) for r in rows if not r.get("hide")])
         for h, k in (("area", "area"), ("figure", "figure"), ("value", "value"), ("unit", "unit"),
                      ("goal", "goal"))]
    line = "  ".join("%-*s" % (w[i], h) for i, h in enumerate(("area", "figure", "value", "unit", "goal")))
    print()
    print(line)
    print("-" * len(line))
    hidden = 0
    for r in rows:
        if r.get("hide"):
            hidden += 1
            continue
        cells = [fmt(r.get(k, "")) for k in ("area", "figure", "value", "unit", "goal")]
        print("  ".join("%-*s" % (w[i], c) for i, c in enumerate(cells)) + ("  " + r["note"] if r.get("note") else ""))
    if hidden:
        print("(%d more rows in build/bench.json: every module's .mpy size, CPython's own rates)" % hidden)
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    out = os.path.join(ROOT, "build", "bench.json")
    with open(out, "w") as f:
        json.dump({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": env,
                   "seconds": timing, "rows": rows, "failed": failed}, f, indent=1, ensure_ascii=False)
    print("\nbench: written to %s (%.0f s in all)" % (os.path.relpath(out, ROOT), time.time() - t_all))
    for n, e in failed:
        print("bench: %s failed: %s" % (n, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
