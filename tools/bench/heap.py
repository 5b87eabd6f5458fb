"""Heap figures: the field unit's scenario (tools/bench/_scenario.py) on the MicroPython unix
port, the firmware as .mpy for the host, run under the bench wrapper (the unit's imports, then
firmware/main.py, in one interpreter; tools/bench/_wrap.py, _hook.py). docs/bench.md explains
which figure sizes which board.

  imported code      gc.mem_alloc() around importing every module the unit imports (the import
                     graph of main.py, tools/build.py), 64-bit bytes, as .mpy
  min heap           bisecting a plain `-X heapsize=<N>K` (bytes on this 64-bit port: every object
                     at least as large as on the 32-bit ESP32, so an upper bound); the same heap
                     is N/2 `wk` (MicroPython's word-scaled size, the figure of earlier runs)
  working set        min heap - imported code, with the holes .mpy loading leaves; and as frozen:
                     the holes plugged (BENCH_PLUG, _hook.plug) at a roomy heap and a ballast
                     leaving the unit a given free heap (BENCH_BUDGET), the least free heap it
                     completes on, bisected in 1 K steps: what remains to fit when the code is
                     frozen (no GC tables of a bigger heap, nothing the interpreter or the bench
                     held before the imports); the frozen-equivalent total uses it
  frozen residue     module dicts, classes and functions frozen code still keeps in heap
                     (_hook.residue(), a 32-bit estimate)
  largest allocation after boot, the unit online, the free heap fragmented into holes of 2 KB
                     (_hook.fragment): the scenario still completing proves no later allocation
                     needed more than the largest free run left (reported by mem_info); if it
                     fails, 4, 8, 16, 32 KB are tried

Completion is not monotonic in the heap size (where big blocks land depends on it): after the
bisection a few sizes above the minimum are tried too, giving the heap from which every size
tried completes (used by the latency and pump benchmarks and the fragmentation run).
Writes build/bench-heap.json. Standalone:
    .venv/bin/python tools/bench/heap.py [--steps demo,telegrams]      everything
    .venv/bin/python tools/bench/heap.py --heap 600K [--hole 2048] [--plug] [--budget 40K]
                                          the scenario once (--plug, or BENCH_PLUG=1: the import
                                          holes plugged; --budget, plugged: the unit on that much free
                                          heap; BENCH_LOG=<file>: the unit's log kept there)
    .venv/bin/python tools/bench/heap.py --code                          imported code, residue
    .venv/bin/python tools/bench/heap.py --code --modules                the same per module
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import _path  # noqa: E402,F401  (tools/hostpath.py)
import _scenario  # noqa: E402
import _wrap  # noqa: E402
from _unit import ROOT  # noqa: E402

GOAL_KB = 64                 # the ESP32 without PSRAM: 64 KB of GC heap, code frozen
STRETCH_KB = 48
WORKING_SET_GOAL_KB = 40     # issue 13: the working set, plain 64-bit bytes
ALLOC_GOAL = 2048            # no allocation above 2 KB after boot
BOARD_GC_TABLES = 64 * 1024 * 3 // 128   # a 64 KB ESP32 heap's GC tables (16-byte blocks: 2 + 1 bits a block)
HI_KB = 1536                 # bisection top (plain KB, must complete)
BUDGET_KB = (16, 96)         # the working set as frozen is searched between these (KB of free heap)
PLUG_ROOM_KB = 160           # the plugged runs' heap: the minimum heap + this (room for the plugs)
STEP_KB = 4                  # resolution of the figure (plain KB)
SCAN = (8, 16, 32)           # KB above the minimum tried too
HOLES = (2048, 4096, 8192, 16384, 32768)
OUT = os.path.join(ROOT, "build", "bench-heap.json")


def _probe(kb, trials, which, jobs, say):
    ok, why, dt, _b = _scenario.run("%dK" % kb, which, jobs)
    trials.append((kb, ok, why, dt))
    say("heap: %5d K %s in %.1f s%s" % (kb, "completes" if ok else "FAILS", dt, "" if ok else ": " + why))
    return ok


def _probe_budget(kb, heap_kb, trials, which, jobs, say):
    """The scenario with the import holes plugged and the unit starting on `kb` K of free heap."""
    ok, why, dt, b = _scenario.run("%dK" % heap_kb, which, jobs, plug=True, budget=kb * 1024)
    if b and b[2] < kb * 1024:      # the ballast could not leave that much: not a run on the budget
        raise RuntimeError("-X heapsize=%dK leaves the unit %d B, less than a budget of %d K" % (heap_kb, b[2], kb))
    trials.append((kb, ok, why, dt))
    if b:
        _plugs[kb] = b
    say("heap: %d K plugged, the unit on %3d K free: %s in %.1f s%s" % (
        heap_kb, kb, "completes" if ok else "FAILS", dt, "" if ok else ": " + why))
    return ok


_plugs = {}     # budget KB -> _scenario.plugged() of the plugged runs


def search(probe, lo, top, step=STEP_KB):
    """Smallest size (KB, `step` steps) at which probe(kb) -> True completes twice, with the
    next size down failing; None when `top` fails. Only a size that was run and completed is
    ever returned: when the edge still flaps after the retries, the smallest size run above every
    failure that completed (once at least). Shared by heap.py and w32.py."""
    ran = []

    def ok(kb):
        r = bool(probe(kb))
        ran.append((kb, r))
        return r
    if not ok(top):
        return None
    hi = top                    # invariant: hi completes, lo is not known to
    while hi - lo > step:
        mid = (lo + hi) // 2
        mid -= mid % step
        if ok(mid):
            hi = mid
        else:
            lo = mid
    passes = {hi: 1}            # near the edge a run can pass by luck: it must pass twice
    for _ in range(6):
        if passes[hi] >= 2:
            return hi
        if ok(hi):
            passes[hi] += 1
        else:
            hi += step          # not run yet: it has to complete twice too
            passes[hi] = 0
    if passes[hi] >= 2:
        return hi
    fail = max(kb for kb, r in ran if not r)
    done = [kb for kb, r in ran if r and kb > fail]
    return min(done) if done else None


def bisect(lo, trials, which, jobs, say=print, top=HI_KB):
    """The scenario's minimum heap (plain KB): search() over _scenario.run, each run appended to
    trials."""
    return search(lambda kb: _probe(kb, trials, which, jobs, say), lo, top)


def budget(heap_kb, trials, which, jobs, say=print):
    """The least free heap (KB, 1 K steps) the unit can start on, the import holes plugged, at a
    roomy heap_kb: its working set as frozen (search() over _scenario.run with a budget)."""
    return search(lambda kb: _probe_budget(kb, heap_kb, trials, which, jobs, say), BUDGET_KB[0], BUDGET_KB[1],
                  step=1)


def scan(found, trials, which, jobs, say=print):
    """The smallest size from which every size tried (SCAN KB above found) completes."""
    fails = [found + d for d in SCAN if not _probe(found + d, trials, which, jobs, say)]
    if not fails:
        return found
    above = [found + d for d in SCAN if found + d > max(fails)]
    return min(above) if above else None


def largest_alloc(heap_kb, which, jobs, say=print):
    """(hole, largest free run after fragmenting, ok): the smallest hole in HOLES with which the
    scenario completes, at heap_kb."""
    last = None
    for hole in HOLES:
        ok, why, dt, bound = _scenario.run("%dK" % heap_kb, which, jobs, hole=hole)
        say("heap: %d K, free heap in %d B holes (largest free run %s B): %s in %.1f s%s" % (
            heap_kb, hole, bound, "completes" if ok else "FAILS", dt, "" if ok else ": " + why))
        last = (hole, bound, ok, why)
        if ok:
            break
    return last


def run(which=None, say=print):
    which = _scenario.steps() if which is None else which
    t0 = time.time()
    code, residue, residue_note = _wrap.code_heap()
    say("heap: imported code %d B (64-bit, .mpy); frozen residue estimate %s" % (code, residue_note))
    work = tempfile.mkdtemp(prefix="bench-heap-")
    jobs = _scenario.prepare_jobs(work) if "jobs100" in which else None
    trials = []
    found = bisect(code // 1024 + 16, trials, which, jobs, say)
    if found is None:
        raise RuntimeError("the scenario does not complete even at %dK: %s" % (HI_KB, trials[0][2]))
    safe = scan(found, trials, which, jobs, say)
    frag_kb = 2 * (safe or found + SCAN[-1])
    hole, bound, frag_ok, frag_why = largest_alloc(frag_kb, which, jobs, say)
    below = max([kb for kb, ok, _w, _d in trials if not ok and kb < found] or [0])
    ws = found * 1024 - code
    # as frozen: the .mpy import holes plugged, the unit starting on one fresh run of a given
    # size (BENCH_PLUG, BENCH_BUDGET): the least it can start on, in 1 K steps
    pheap = found + PLUG_ROOM_KB
    ptrials = []
    pfound = budget(pheap, ptrials, which, jobs, say)
    if pfound is None or pfound not in _plugs:
        raise RuntimeError("the plugged scenario does not complete on %d K: %s" % (BUDGET_KB[1], ptrials[-1][2]))
    plugged, _run, free0, pre, _alloc, pcode = _plugs[pfound]
    pbelow = max([kb for kb, ok, _w, _d in ptrials if not ok and kb < pfound] or [0])
    total32 = residue + free0 + BOARD_GC_TABLES
    data = {"heapsize": "%dwk" % (found // 2), "kb": found // 2, "plain_kb": found, "resolution_kb": STEP_KB,
            "safe_heapsize": "%dwk" % (safe // 2) if safe else None, "safe_kb": safe // 2 if safe else None,
            "safe_plain_kb": safe, "code_bytes": code, "residue_bytes": residue, "working_set_holes_bytes": ws,
            "plugged_heap_kb": pheap, "plugged_bytes": plugged, "plugged_before_imports": pre,
            "plugged_code_bytes": pcode, "working_set_kb": pfound, "working_set_bytes": free0,
            "budget_trials": [{"kb": kb, "ok": ok, "why": why, "s": round(dt, 1)} for kb, ok, why, dt in ptrials],
            "frozen_total_bytes": total32, "largest_alloc_hole": hole,
            "largest_alloc_bound": bound if frag_ok else None,
            "largest_alloc_why": frag_why, "steps": list(which), "firmware": ".mpy -march=x64 under benchwrap",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "trials": [{"kb": kb, "ok": ok, "why": why, "s": round(dt, 1)} for kb, ok, why, dt in trials]}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1)
    steps = "+".join(which)
    rows = [
        {"figure": "min heap, field scenario, plain -X heapsize (64-bit bytes, upper bound)", "value": found,
         "unit": "KB", "note": "%s; %d K fails; completes twice; = %d wk" % (steps, below, found // 2)},
        {"figure": "min heap, same, as -X heapsize=Nwk (word-scaled, earlier runs' figure)", "value": found // 2,
         "unit": "KB (wk)", "goal": "<= %d (stretch %d)" % (GOAL_KB, STRETCH_KB),
         "note": "%.0f%% of goal; .mpy code in the heap" % (50.0 * found / GOAL_KB)},
        {"figure": "heap from which every size tried completes (+%s KB)" % ", +".join(str(d) for d in SCAN),
         "value": safe if safe else "none", "unit": "KB", "note": "%d runs, %.0f s" % (len(trials), time.time() - t0)},
        {"figure": "heap held by the imported code (.mpy, 64-bit)", "value": round(code / 1024.0, 1), "unit": "KB",
         "note": "every module of main.py's import graph + asyncio, gc.mem_alloc() in the unit's interpreter"},
        {"figure": "working set with the .mpy import holes: min heap - imported code (64-bit bytes)",
         "value": round(ws / 1024.0, 1), "unit": "KB",
         "note": "the unit's small objects partly live in the holes .mpy loading leaves between code objects"},
        {"figure": "working set as frozen: the least free heap the unit completes on beside its code, the import "
         "holes plugged (64-bit)", "value": round(free0 / 1024.0, 1), "unit": "KB",
         "goal": "<= %d" % WORKING_SET_GOAL_KB,
         "note": "on %d K free it completes twice, on %d K it fails (1 K steps; at -X heapsize=%dK: %d B imported "
         "code, %d B plugged, %d B held before the imports by the interpreter and the bench); %.0f%% of goal"
         % (pfound, pbelow, pheap, pcode, plugged, pre, 100.0 * free0 / 1024 / WORKING_SET_GOAL_KB)},
        {"figure": "frozen residue estimate (module dicts, classes, functions; 32-bit)",
         "value": round(residue / 1024.0, 1), "unit": "KB", "note": residue_note},
        {"figure": "frozen-equivalent total: residue + free heap the unit needs + the board's GC tables",
         "value": round(total32 / 1024.0, 1),
         "unit": "KB", "goal": "<= %d (stretch %d)" % (GOAL_KB, STRETCH_KB),
         "note": "%.0f%% of the 64 KB heap of an ESP32 without PSRAM; %d + %d + %d B"
         % (100.0 * total32 / 1024 / GOAL_KB, residue, free0, BOARD_GC_TABLES)},
        {"figure": "largest allocation after boot (free heap fragmented into holes)",
         "value": ("<= %d" % bound) if frag_ok else "> %d" % (bound or hole), "unit": "B",
         "goal": "<= %d" % ALLOC_GOAL,
         "note": ("completes with %d B holes at %d K (largest free run %d B)" % (hole, frag_kb, bound) if frag_ok
                  else "fails with every hole up to %d B at %d K: %s" % (hole, frag_kb, frag_why))},
    ]
    return rows


def module_heap():
    """[(module, heap B as .mpy, frozen residue estimate B)] of every firmware module the unit
    imports, largest first: in one interpreter everything is imported, then each module once more on
    its own (the first copy kept, so the second one's objects are all it adds), its deps
    already there: what its own code, constants and tables hold (the qstrs its names share
    with the first copy are not counted again). The residue is _hook.residue of the module (a
    package's counts its submodules too)."""
    import _unit
    mods = _wrap.unit_modules()
    mpy = _unit.compile_mpy()
    lines = ["import gc", "import sys", "import benchhook"] + ["import %s" % m for m in mods]
    lines.append("_old = []")
    mods = [m for m in mods if m not in _wrap.ASYNCIO]     # frozen in the port, not the unit's
    for m in mods:
        lines += ["_old.append(sys.modules.pop(%r))" % m, "gc.collect()", "_a = gc.mem_alloc()",
                  "import %s" % m, "gc.collect()", "print('module %s', gc.mem_alloc() - _a)" % m,
                  "benchhook.residue((%r,))" % m]
    src = os.path.join(mpy, "benchmods.py")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([_unit.unitlab.MICROPYTHON, "-X", "heapsize=8M", "benchmods.py"], capture_output=True,
                       text=True, timeout=120, cwd=mpy, env=dict(os.environ, MICROPYPATH=mpy + ":.frozen"))
    rows = []
    for ln in r.stdout.splitlines():
        w = ln.split()
        if w[0] == "module":
            rows.append([w[1], int(w[2]), 0])
        elif ln.startswith("bench: residue ") and rows:
            rows[-1][2] = int(w[2])
    if r.returncode or len(rows) != len(mods):
        raise RuntimeError("benchmods failed: %s" % (r.stdout + r.stderr)[-600:])
    return sorted(rows, key=lambda x: -x[1])


def main(argv):
    known = {"--steps", "--code", "--modules", "--heap", "--hole", "--plug", "--budget"}
    flags = [a for a in argv[1:] if a.startswith("-")]
    if any(a not in known for a in flags):
        print(__doc__.split("Standalone:")[1].rstrip())   # --help, or a flag it does not know
        return 0 if flags == ["--help"] or flags == ["-h"] else 2
    which = _scenario.steps(argv[argv.index("--steps") + 1]) if "--steps" in argv else None
    if "--code" in argv:
        code, residue, note = _wrap.code_heap()
        print("imported code %d B (64-bit .mpy); frozen residue estimate %s" % (code, note))
        if "--modules" in argv:
            print("%-44s %9s %9s" % ("module", "heap B", "residue B"))
            for m, b, res in module_heap():
                print("%-44s %9d %9d" % (m, b, res))
        return 0
    if "--heap" in argv:
        which = which or _scenario.steps()
        heap = argv[argv.index("--heap") + 1]
        hole = int(argv[argv.index("--hole") + 1]) if "--hole" in argv else None
        work = tempfile.mkdtemp(prefix="bench-heap-")
        jobs = _scenario.prepare_jobs(work) if "jobs100" in which else None
        budget = argv[argv.index("--budget") + 1] if "--budget" in argv[:-1] else os.environ.get("BENCH_BUDGET")
        try:
            budget = int(budget[:-1]) * 1024 if budget and budget[-1] in "Kk" else int(budget or 0)
        except ValueError:
            budget = -1
        if budget < 0 or "--budget" in argv[-1:]:
            print("heap.py: --budget wants a size in bytes or K (40960, 40K)")
            return 2
        plug = "--plug" in argv or bool(os.environ.get("BENCH_PLUG")) or bool(budget)  # a budget is plugged
        ok, why, dt, bound = _scenario.run(heap, which, jobs, hole=hole, plug=plug, budget=budget)
        print("scenario (%s) at %s%s: %s in %.1f s %s%s" % (
            "+".join(which), heap, " plugged" if plug else "", "completes" if ok else "FAILS", dt, why,
            "; largest free run %s B" % (bound,) if hole else
            "; %s B plugged, started on a free run of %s B (free heap %s B; %s B held before the imports, %s B"
            " allocatable, imported code %s B)" % bound if plug and bound else ""))
        return 0 if ok else 1
    for r in run(which):
        print("%s: %s %s (goal %s) %s" % (r["figure"], r["value"], r["unit"], r.get("goal", ""), r.get("note", "")))
    print("written to %s" % os.path.relpath(OUT, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
