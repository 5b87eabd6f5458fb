"""32-bit heap figures on a real 32-bit MicroPython: the webassembly port (wasm32, 4-byte words,
16-byte GC blocks, boxed floats as on the ESP32), npm's @micropython/micropython-webassembly-
pyscript, run by node. docs/bench.md, "32-bit figures (wasm port)".

The same files run on the 64-bit unix port (.venv/bin/micropython) beside it, so each 32-bit
figure stands next to the 64-bit one of the same code and the same steps. The probe
(tools/bench/_w32probe.py; its steps in _w32unit.py and _w32fax.py) is a plan of small steps;
this port collects only between calls from JavaScript, so the runner calls one step at a time
and reads the held heap (gc.mem_alloc() after the collection) between them:

  imported code    around importing what the unit imports (tools/build.py's module set for the
                   ESP32 without the esp32 port; asyncio and the submodules it loads on first use
                   but asyncio.stream, which this port lacks; the viper modules neither port can
                   load from portable .mpy), as .mpy and as .py, one module a step
  live             the unit's boot without network, UART or tasks: config, registry, Unit with its
                   Class 2 driver and jobs, the MQTT link over a file outbox, the CAFIS checker,
                   jobs.recover, config.slim; held heap per step
  scenario         on that unit, the field scenario (tools/bench/_scenario.py) widened as far as
                   this port allows: the link connected (a scripted broker behind the link's own
                   write path, a call of the unit's a step: outbox.pump, Link._flush, a PUBACK
                   and Link._handle); 1000 telegrams through the checker, their verdicts through
                   the outbox on flash, published and acknowledged after every 8th; a 256 KB cmd/fax
                   (_scenario.big_fax) fed to the link's session a socket read at a time (inbox,
                   faxcmd.Parser, the spool, Jobs.submit); its pages counted (next_due, pages.count) and sent by the
                   unit's own FaxLine and driver from the pages on flash (pages.FilePage) to a
                   scripted modem; that page received back into app/rx.RxSink and published from
                   flash; 100 jobs finished on flash (busy, retries 0; a job's four calls four
                   steps, the broker after every 8th); a reboot (every object
                   dropped, the boot built again, jobboot.recover over the 101 records) and a
                   telegram after it. Peaks per phase: the held heap after each step, and live +
                   one step's allocations (gc.mem_alloc() as the step ends, before the collection)
  min heap         the smallest `heapsize` at which the scenario completes without the heap
                   growing (this port adds a heap area instead of failing): an upper bound at step
                   granularity, since a board collects inside a step when it runs out; and again
                   with the holes the imports left plugged (the runner finds the largest free run
                   in mem_info(1)'s block map, the probe fills every block below it), as beside
                   frozen code; each less what was held before the boot

    .venv/bin/python tools/bench/w32.py              every figure, printed (~4 min)
    .venv/bin/python tools/bench/w32.py --no-bisect  without the minimum heap (~1 min)

Needs node and npm: the pinned package is installed into build/w32 on first use (the command is
printed when npm is missing; tools/bench/_w32port.py: the package, its runner, the trees).
Writes build/w32/w32.json. In `make bench` as area w32.
"""
import json
import os
import shutil
import subprocess
import sys

import _path  # noqa: F401  (tools/hostpath.py)
import _w32port as port  # the package, its runner, the trees, the probe's output parsed
import _wrap  # (the residue estimate heap.py prints)
import heap  # (search: the bisection heap.py uses)

say = port.say
GOAL_KB = 64
LO_KB, HI_KB, STEP_KB = 32, 1024, 1
N_TELEGRAMS = 1000
N_JOBS = 100           # finished jobs before the reboot (as _scenario.prepare_jobs)


def _set(d, phase, mods, flash):
    with open(os.path.join(d, "w32.json"), "w") as f:
        json.dump({"phase": phase, "mods": mods, "flash": flash, "telegrams": N_TELEGRAMS, "jobs": N_JOBS}, f)


def run_wasm(runner, d, phase, mods, heap):
    """One run on the webassembly port at `heap` bytes ('grew': the heap was extended)."""
    _set(d, phase, mods, "/w32/flash/")
    r = subprocess.run(["node", runner, str(heap), d, "w32probe"], capture_output=True, text=True,
                       timeout=port.TIMEOUT, cwd=port.W32)
    return port.parse(r.stdout + r.stderr)


def run_64(d, phase, mods):
    """The same probe on the 64-bit unix port, the same files (a fresh flash copy)."""
    flash = os.path.join(d, "flash64")
    shutil.rmtree(flash, ignore_errors=True)
    shutil.copytree(os.path.join(d, "flash"), flash)
    _set(d, phase, mods, flash + "/")
    r = subprocess.run([port.MP64, "-X", "heapsize=16M", "-m", "w32probe"], capture_output=True, text=True,
                       timeout=port.TIMEOUT, cwd=d, env=dict(os.environ, MICROPYPATH=d + ":.frozen"))
    shutil.rmtree(flash, ignore_errors=True)
    return port.parse(r.stdout + r.stderr)



# the scenario's phases: (first step, last step) of the probe's plan
PHASES = {"boot": ("live config.load", "idle"), "telegrams": ("telegrams opened", "verdicts acknowledged"),
          "cmd/fax 256 KB": ("cmd/fax opened", "cmd/fax answered"), "fax send": ("fax line start", "fax sent"),
          "fax receive": ("fax rx ring", "fax received"),
          "100 finished jobs": ("job: its page spooled", "reboot: the unit dropped"),
          "reboot": ("reboot config.load", "reboot: a telegram answered"), "scenario": ("link up", "end")}
REBOOT_LIVE = "live total after the reboot (101 finished jobs)"
RUNNING = "running: frames and tasks"
STREAMS = "running: connection and line streams (unix port)"


def figures(g):
    """Bytes from one scenario run: held heap at the plan's marks and the peaks."""
    h, top, at = g["held"], g["top"], g["at"]
    f = {"code": h[at["code"]] - h[0]}
    if "helpers" not in at:
        return f
    base = h[at["plug" if "plug" in at else "helpers"]]
    if "plug" in at:
        f["plugged"] = base - h[at["helpers"]]
    f["held before boot"] = base        # everything: the runtime, the probe, the code
    prev = base
    for i in range(at["helpers"] + 1, at["idle"] + 1):
        lab = g["plan"][i]
        if lab.startswith("live "):
            f[lab] = h[i] - prev
        prev = h[i]
    f["live total"] = h[at["idle"]] - base
    f[REBOOT_LIVE] = h[at["reboot idle"]] - base
    for name, (first, last) in PHASES.items():
        rng = range(min(at_all(g, first)), at[last] + 1)
        f["held peak " + name] = max(h[i] for i in rng) - base
        i = max(rng, key=lambda i: top[i])
        f["step peak " + name] = top[i] - base
        f["step peak %s at" % name] = g["plan"][i]
    f["step peak: telegram"] = max(top[i] for i in at_all(g, "telegram")) - base
    return f


def largest(g, n=10):
    """The n largest steps of the scenario: [(live + one step, step, allocated in it, label)]
    in bytes beyond what was held before the boot."""
    h, top, at = g["held"], g["top"], g["at"]
    base = h[at["plug" if "plug" in at else "helpers"]]
    s = sorted(((top[i] - base, i, top[i] - h[i - 1], g["plan"][i]) for i in top if i > at["idle"]),
               reverse=True)
    return s[:n]


def at_all(g, label):
    return [i for i, v in g["plan"].items() if v == label]


def bisect(runner, d, mods, phase="scenario", say=say):
    """Smallest heap (KB, STEP_KB steps) at which the plan completes without the heap growing,
    twice (heap.search): (kb, trials, [(kb, step where it grew first)], figures at kb)."""
    trials, grew, figs = [], [], {}

    def ok(kb):
        g = run_wasm(runner, d, phase, mods, kb * 1024)
        trials.append((kb, g["ok"]))
        say("w32: %s at %4d K: %s" % (phase, kb, "completes" if g["ok"] else "the heap grew first in step: %s"
                                      % g["grew_at"] if g["done"] else "FAILS " + " ".join(g["lines"])[-200:]))
        if g["ok"]:
            figs[kb] = dict(figures(g), total=g["totals"][0])      # the GC's heap without its tables
        elif g["grew_at"]:
            grew.append((kb, g["grew_at"]))
        return g["ok"]
    hi = heap.search(ok, LO_KB, HI_KB, STEP_KB)
    return hi, trials, grew, figs.get(hi)


def expected_verdicts():
    """The telegrams of the bench scenario (tools/bench/_unit.telegram_mix) and the verdict
    counts the same checker gives on CPython."""
    import _unit
    tels = _unit.telegram_mix(N_TELEGRAMS)
    want = {}
    for kind, _c, _r in _unit.expected_verdicts(tels):
        want[kind] = want.get(kind, 0) + 1
    return tels, want


def kb(n):
    return round(n / 1024, 1)


def measure(do_bisect=True, say=say):
    runner = port.ensure_package()
    if runner is None:
        return None
    mods = port.unit_modules()
    tels, want = expected_verdicts()
    res = {"package": "%s@%s" % (port.PKG, port.PKG_VERSION), "modules": len(mods), "verdicts_expected": want}
    dm = port.make_tree("mpy", mods, tels)
    dp = port.make_tree("py", mods, tels)
    match, n, maxsize = port.mpy_matches(runner, dm)
    res["wasm_mpy"], res["wasm_maxsize"], res["mpy_loads"] = n, maxsize, match
    say("w32: webassembly port: sys.implementation._mpy %d, sys.maxsize %d; this mpy-cross's .mpy %s"
        % (n, maxsize, "loads" if match else "does NOT match: .py only"))
    big = 8 << 20
    trees = (("mpy", dm), ("py", dp)) if match else (("py", dp),)
    for kind, d in trees:
        w = run_wasm(runner, d, "code", mods, big)
        missing = [ln.split()[2].rstrip(":") for ln in w["lines"] if ln.startswith("cannot import ")]
        u = run_64(d, "code", [m for m in mods if m not in missing])  # the same modules on both
        if not w["done"] or not u["done"]:
            raise RuntimeError("imports failed: " + (w["out"] + u["out"])[-1500:])
        res["code_" + kind] = {"w32": figures(w)["code"], "u64": figures(u)["code"], "not_imported": missing}
        say("w32: imported code as .%s: %d B on 32-bit (wasm), %d B on 64-bit (unix port), same files%s"
            % (kind, res["code_" + kind]["w32"], res["code_" + kind]["u64"],
               "; not importable here (both ports): " + ", ".join(missing) if missing else ""))
    d = trees[0][1]
    w = run_wasm(runner, d, "scenario", mods, big)
    u = run_64(d, "scenario", mods)
    for name, g in (("32-bit", w), ("64-bit", u)):
        if not g["done"]:
            raise RuntimeError("the %s scenario failed: %s" % (name, g["out"][-1500:]))
    fw, fu = figures(w), figures(u)
    res["figures"] = {k: {"w32": fw[k], "u64": fu.get(k)} for k in fw}
    res["checks"] = [ln for ln in w["lines"] if ln.startswith(("verdicts", "cmd/fax", "fax", "after"))]
    got = json.loads(res["checks"][0].split(" ", 1)[1].split(";")[0])
    if got != want:
        raise RuntimeError("verdicts %s, the checker on CPython gives %s" % (got, want))
    for k in fw:
        if k.endswith(" at"):
            say("w32: %-62s %s (32-bit), %s (64-bit)" % (k, fw[k], fu.get(k)))
        else:
            say("w32: %-62s %7d B 32-bit  %7d B 64-bit" % (k, fw[k], fu[k]))
    say("w32: " + "; ".join(res["checks"]) + " (as on CPython)")
    # what the running unit adds: its coroutine frames and tasks, made on the idle unit
    # (_w32unit._running); not the streams, sockets, UART or poller (none on this port)
    # (_w32unit._running); the connection's and the lines' streams, sockets and poller
    # registrations on the 64-bit port only (_streams), their 32-bit share estimated at the
    # frames' measured 32/64 ratio
    run = {}
    for name, g in (("w32", run_wasm(runner, d, "running", mods, big)), ("u64", run_64(d, "running", mods))):
        if not g["done"]:
            raise RuntimeError("the running unit's frames failed: " + g["out"][-1500:])
        h, at = g["held"], g["at"]
        run[name] = h[at[RUNNING]] - h[at["idle"]]
        run[name + " streams"] = h[at[STREAMS]] - h[at[RUNNING]]
    run["w32 streams"] = run["u64 streams"] * run["w32"] // run["u64"]     # an estimate: no socket there
    res["running"] = run
    say("w32: the running unit's coroutine frames and tasks: %d B 32-bit, %d B 64-bit; its connection's and "
        "lines' streams, sockets, poller: %d B 64-bit, %d B 32-bit estimated (x %.2f)"
        % (run["w32"], run["u64"], run["u64 streams"], run["w32 streams"], run["w32"] / run["u64"]))
    res["steps"] = len(w["plan"])
    res["largest"] = largest(w)
    say("w32: the scenario's %d steps, the largest on 32-bit (live + one step, allocated in it; B):" % res["steps"])
    for t, i, a, lab in res["largest"]:
        say("w32: %7d %7d  step %5d  %s" % (t, a, i, lab))
    if do_bisect:
        for phase in ("scenario", "plug"):
            found, trials, grew, fig = bisect(runner, d, mods, phase, say)
            below = [g for g in grew if found and g[0] < found]
            res["min_heap_" + phase] = {"kb": found, "trials": trials, "below": max(below) if below else None,
                                        "held_before_boot": fig and fig["held before boot"],
                                        "total": fig and fig["total"],
                                        "plugged": fig and fig.get("plugged")}
    os.makedirs(port.W32, exist_ok=True)
    with open(os.path.join(port.W32, "w32.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def rows(res):
    """bench.py's rows (area w32): 32-bit figures, the 64-bit ones of the same files in the note."""
    if res is None:
        return [{"area": "w32", "figure": "32-bit figures (wasm port)", "value": "-", "unit": "",
                 "note": "not measured: node, npm or the package missing (printed above); "
                 + " ".join(port.npm_command())}]
    out = []
    for kind in ("mpy", "py"):
        c = res.get("code_" + kind)
        if c:
            out.append({"area": "w32", "figure": "imported code as .%s, 32-bit (wasm port)" % kind,
                        "value": kb(c["w32"]), "unit": "KB",
                        "note": "64-bit unix port, same files: %s KB; %d modules"
                        % (kb(c["u64"]), res["modules"] - len(c["not_imported"]))})
    f = res["figures"]
    parts = ", ".join("%s %s" % (k[5:].split(":")[0].split(" (")[0], kb(v["w32"])) for k, v in f.items()
                      if k.startswith("live ") and not k.startswith("live total"))
    out.append({"area": "w32", "figure": "unit's boot objects, live, 32-bit (wasm port)",
                "value": kb(f["live total"]["w32"]), "unit": "KB",
                "note": "64-bit: %s KB; 32-bit KB: %s; after the reboot over 101 finished jobs %s KB" % (
                    kb(f["live total"]["u64"]), parts, kb(f[REBOOT_LIVE]["w32"]))})
    hp, sp = f["held peak scenario"], f["step peak scenario"]
    out.append({"area": "w32", "figure": "widened scenario, peak live heap beyond the imports, 32-bit",
                "value": kb(hp["w32"]), "unit": "KB",
                "note": "64-bit: %s KB; held heap after each step, by phase (32-bit KB): %s" % (
                    kb(hp["u64"]), ", ".join("%s %s" % (p, kb(f["held peak " + p]["w32"]))
                                             for p in PHASES if p != "scenario"))})
    out.append({"area": "w32", "figure": "widened scenario, live + one step's allocations, 32-bit",
                "value": kb(sp["w32"]), "unit": "KB",
                "note": "64-bit: %s KB; at: %s; by phase (32-bit KB, the step): %s; one telegram alone %s KB" % (
                    kb(sp["u64"]), f["step peak scenario at"]["w32"],
                    ", ".join("%s %s (%s)" % (p, kb(f["step peak " + p]["w32"]), f["step peak %s at" % p]["w32"])
                              for p in PHASES if p != "scenario"), kb(f["step peak: telegram"]["w32"]))})
    m = res.get("min_heap_scenario")
    if m and m["kb"]:
        out.append({"area": "w32", "figure": "widened scenario, min heap, 32-bit (wasm, .mpy code in heap)",
                    "value": m["kb"], "unit": "KB",
                    "note": "the heap never grown, collected between steps only; its %s KB without the GC's tables "
                    "- what was held before the boot (runtime, probe, imported code: %s KB) = %s KB%s"
                    % (kb(m["total"]), kb(m["held_before_boot"]), kb(m["total"] - m["held_before_boot"]),
                       "; %d K first grows at: %s" % m["below"] if m["below"] else "")})
    m = res.get("min_heap_plug")
    if m and m["kb"]:
        out.append({"area": "w32", "figure": "widened scenario, heap beyond the code, import holes plugged, 32-bit",
                    "value": kb(m["total"] - m["held_before_boot"]), "unit": "KB",
                    "note": "min heap %d K plugged: %s KB without the GC's tables - %s KB held before the boot "
                    "(%s KB of it the plugs); collected between steps only%s" % (
                        m["kb"], kb(m["total"]), kb(m["held_before_boot"]), kb(m["plugged"]),
                        "; %d K first grows at: %s" % m["below"] if m["below"] else "")})
        # the same sum as heap.py's frozen-equivalent total, with this measured 32-bit figure in
        # place of the 64-bit free heap: residue (a 32-bit model) + the heap beyond the code +
        # a 64 KB ESP32 heap's GC tables
        residue = _wrap.code_heap()[1]
        ws = m["total"] - m["held_before_boot"]
        total = residue + ws + heap.BOARD_GC_TABLES
        out.append({"area": "w32", "figure": "frozen-equivalent total, 32-bit: residue + the above + GC tables",
                    "value": kb(total), "unit": "KB", "goal": "<= %d" % heap.GOAL_KB,
                    "note": "%d + %d + %d B; %d%% of 64 KB; the wasm scenario has no event loop, socket or UART "
                    "(coroutine frames, tasks and streams are not in it: the next line) and collects between "
                    "steps only" % (residue, ws, heap.BOARD_GC_TABLES, 100 * total // (heap.GOAL_KB * 1024))})
        run = res.get("running")
        if run:
            extra = run["w32"] + run["w32 streams"]
            out.append({"area": "w32", "figure": "frozen-equivalent total, 32-bit, with the running unit's tasks",
                        "value": kb(total + extra), "unit": "KB", "goal": "<= %d" % heap.GOAL_KB,
                        "note": "the above + %d B measured: the coroutine frames and tasks of the running unit "
                        "(Unit.run, supervise, Link.run and its connection's tasks, FaxLine.run and its three, "
                        "their gathers and waits) made on the idle unit (64-bit: %d B) + %d B estimated: the "
                        "MQTT socket and stream, the two lines' streams, their poller registrations (%d B "
                        "measured on 64-bit, at the frames' 32/64 ratio); %d%% of 64 KB"
                        % (run["w32"], run["u64"], run["w32 streams"], run["u64 streams"],
                           100 * (total + extra) // (heap.GOAL_KB * 1024))})
    return out


def run():
    return rows(measure(do_bisect=True, say=lambda *a: None))


def main(argv):
    res = measure(do_bisect="--no-bisect" not in argv)
    if res is None:
        return 1
    print()
    for r in rows(res):
        print("%-62s %8s %-3s %s" % (r["figure"], r["value"], r["unit"], r.get("note", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
