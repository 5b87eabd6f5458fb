"""Minimum heap: the unit's end-to-end scenario on the MicroPython unix port, the firmware
imported as .mpy compiled for the host (mpy-cross -march=x64, MICROPYPATH=build/bench-mpy:.frozen),
bisecting `-X heapsize=<N>wk` to the smallest N that completes. Goal <= 64 KB, stretch 48 KB.

`wk` is MicroPython's word-scaled size: N*1024 bytes times (word size / 4), so on this 64-bit
host the heap holds as many objects as N KB would on the 32-bit ESP32.

The scenario (docs/bench.md): Mosquitto on loopback, the simulated line (speed-up 40), the unit:
  - a three-page text fax sent to a remote machine (final status 0, 3 pages),
  - 1000 CAFIS telegrams on cmd/telegram while the fax goes out, every verdict on cafis/verdict
    equal to what the same checker says on CPython, in order,
  - a one-page fax received from a remote machine (fax/received),
  - telemetry every 5 s; the firmware still running, no MemoryError in its log.

Completion is not monotonic in N (where the large blocks land depends on the heap size), so
after the bisection every 4 KB up to 40 KB above the minimum is tried too, giving a second
figure: the heap from which every size tried completes.

Writes build/bench-heap.json ({"heapsize": "<N>wk", "kb": N, "safe_heapsize": "<M>wk",
"safe_kb": M, ...}) for the heap-capped end-to-end test. Standalone:
    .venv/bin/python tools/bench/heap.py                 bisect and print
    .venv/bin/python tools/bench/heap.py --heap 64wk     run the scenario once at that heap
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _unit  # noqa: E402
from _unit import ROOT, Incomplete, Session  # noqa: E402

GOAL_KB = 64
STRETCH_KB = 48
LO_KB, HI_KB = 32, 512       # bisection bounds (HI must complete, else the figure is "> HI")
STEP_KB = 2                  # resolution of the figure
SCAN_KB, SCAN_STEP_KB = 40, 4  # sizes above the minimum tried too (completion is not monotonic)
N_TELEGRAMS = 1000
WINDOW = 32                  # telegrams published ahead of their verdicts
OUT = os.path.join(ROOT, "build", "bench-heap.json")

PAGE_TEXT = ("faxbridge benchmark, page %d of 3\n\n" +
             "The quick brown fox jumps over the lazy dog. 0123456789 ACME Trading K.K.\n" * 30)


def _blocky_pbm(rows, seed, width=1728):
    import random
    rnd = random.Random(seed)
    rb = width // 8
    body = bytearray(rb * rows)
    for _ in range(rows // 4):
        y, x = rnd.randrange(rows), rnd.randrange(rb - 8)
        for yy in range(y, min(rows, y + rnd.randrange(1, 12))):
            for xx in range(x, x + rnd.randrange(1, 8)):
                body[yy * rb + xx] = 0xFF
    return b"P4\n%d %d\n" % (width, rows) + bytes(body)


def refused(msgs):
    """The unit's cmd/error for our cmd/fax (e.g. no heap to parse it), or None."""
    for t, m in msgs:
        if t.endswith("/cmd/error") and isinstance(m, dict) and m.get("cmd") == "fax":
            return m
    return None


def scenario(heap, timeout=60.0, log=None):
    """Run the scenario once with `-X heapsize=<heap>`; returns (ok, why, seconds)."""
    from modemsim import Line
    t0 = time.monotonic()
    tels = _unit.telegram_mix(N_TELEGRAMS)
    want = _unit.expected_verdicts(tels)
    line = Line(speedup=40.0, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05, result_delay=0.1,
                timeouts=_unit.fast_timeouts())
    try:
        with Session(line, heap=heap, tag="heap") as s:
            remote = line.add_remote(_unit.REMOTE, out_dir=os.path.join(s.tmp, "remote"))
            caller = line.add_remote(_unit.CALLER)
            s.fax("tx3", _unit.REMOTE, [{"text": "\f".join(PAGE_TEXT % i for i in (1, 2, 3))}])
            end = time.monotonic() + timeout
            sent = 0
            while sent < len(tels):
                got = len(s.verdicts())
                if sent - got < WINDOW:
                    s.publish("cmd/telegram", tels[sent])
                    sent += 1
                    continue
                s.wait(lambda ms, n=got: len([1 for t, m in ms if t.endswith("/cafis/verdict")]) > n,
                       max(1.0, end - time.monotonic()), "verdict %d" % (got + 1))
            s.wait(lambda ms: len([1 for t, m in ms if t.endswith("/cafis/verdict")]) >= len(tels),
                   max(1.0, end - time.monotonic()), "all %d verdicts" % len(tels))
            fin = s.wait(lambda ms: s.final(ms, "tx3") or refused(ms), max(1.0, end - time.monotonic()),
                         "the fax's final status")
            if fin.get("cmd") == "fax":
                return False, "cmd/fax refused: %s" % fin.get("detail"), time.monotonic() - t0
            if fin.get("code") != 0 or fin.get("pages") != 3:
                return False, "fax ended %r" % (fin,), time.monotonic() - t0
            if len(remote.received) < 3:
                return False, "remote got %d pages" % len(remote.received), time.monotonic() - t0
            pbm = os.path.join(s.tmp, "in.pbm")
            with open(pbm, "wb") as f:
                f.write(_blocky_pbm(200, seed=5))
            job = caller.send_fax(_unit.UNIT_NUMBER, [pbm])
            rx = s.wait(lambda ms: [m for t, m in ms if t.endswith("/fax/received")],
                        max(1.0, end - time.monotonic()), "fax/received")[0]
            r = job.wait(timeout=10)
            if rx.get("pages") != 1 or r != "OK":
                return False, "reception: %r, caller %r" % (rx, r), time.monotonic() - t0
            got = [(v.get("verdict"), v.get("code"), v.get("rule")) for v in s.verdicts()]
            if got != want:
                bad = [i for i in range(min(len(got), len(want))) if got[i] != want[i]]
                return False, "verdicts differ from the checker on CPython (%d of %d, first at %r)" % (
                    len(bad), len(want), bad[:1]), time.monotonic() - t0
            why = s.broken()
            if why:
                return False, why, time.monotonic() - t0
            if log is not None:
                log.append(s.fw.log())
    except Incomplete as e:
        return False, str(e), time.monotonic() - t0
    except RuntimeError as e:          # did not even come online
        return False, str(e).splitlines()[0][:200], time.monotonic() - t0
    return True, "", time.monotonic() - t0


# What the unit imports, in the order it imports it (firmware/main.py, app/unit.py); each
# module's figure includes what it imports first.
MODULES = ("asyncio", "faxbridge.app.config", "faxbridge.app.store", "faxbridge.core.fax.class2",
           "faxbridge.app.pages", "faxbridge.app.jobs", "faxbridge.core.mqtt.session",
           "faxbridge.core.mqtt.outbox", "faxbridge.core.mqtt.commands", "faxbridge.app.link",
           "faxbridge.app.outbox_store", "faxbridge.core.cafis.checks", "faxbridge.core.fax.t4dec",
           "faxbridge.app.rx", "faxbridge.app.unit", "faxbridge.ports.unix.port")
_MOD_STEP = """gc.collect()
a = gc.mem_alloc()
import %s
gc.collect()
out.append(("%s", gc.mem_alloc() - a))
"""
# explicit import statements: __import__() in a loop over these modules crashed MicroPython 1.2x
# here ("FATAL: uncaught NLR"), the same imports written out do not
_FOOTPRINT_HEAD = """import gc
import sys
out = []
gc.collect()
a0 = gc.mem_alloc()
"""
_FOOTPRINT_TAIL = """from faxbridge.core.cafis import checks, registry
with open(sys.argv[1]) as f:
    text = f.read()
gc.collect()
a = gc.mem_alloc()
c = checks.Checker(registry.load(text))
del text
gc.collect()
out.append(("Checker(example registry)", gc.mem_alloc() - a))
gc.collect()
print("TOTAL", gc.mem_alloc() - a0)
for m, n in out:
    print("MOD", m, n)
"""


def footprint():
    """Heap bytes (this 64-bit host) each module holds once imported as .mpy: (total, [(m, n)])."""
    import subprocess
    mpy = _unit.compile_mpy()
    script = os.path.join(ROOT, "build", "bench-footprint.py")
    with open(script, "w") as f:
        f.write(_FOOTPRINT_HEAD + "".join(_MOD_STEP % (m, m) for m in MODULES) + _FOOTPRINT_TAIL)
    r = subprocess.run([os.path.join(ROOT, ".venv", "bin", "micropython"), "-X", "heapsize=4M", script,
                        _unit.REGISTRY], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=mpy + ":.frozen"), cwd=mpy)
    total = None
    mods = []
    for ln in r.stdout.splitlines():
        p = ln.split()
        if p[:1] == ["TOTAL"]:
            total = int(p[1])
        elif p[:1] == ["MOD"]:
            mods.append((" ".join(p[1:-1]), int(p[-1])))
    if r.returncode or total is None:
        raise RuntimeError("footprint worker failed: %s" % (r.stdout + r.stderr)[-400:])
    return total, mods


def _probe(kb, trials, say):
    ok, why, dt = scenario("%dwk" % kb)
    trials.append((kb, ok, why, dt))
    say("heap: %4d wk %s in %.1f s%s" % (kb, "completes" if ok else "FAILS", dt, "" if ok else ": " + why))
    return ok


def bisect(trials, say=print):
    """Smallest N (in STEP_KB steps) for which `Nwk` completes, twice, with the next size down
    failing; None when HI_KB fails."""
    if not _probe(HI_KB, trials, say):
        return None
    lo, hi = LO_KB, HI_KB        # invariant: hi completes, lo is not known to
    while hi - lo > STEP_KB:
        mid = (lo + hi) // 2
        mid -= mid % STEP_KB
        if _probe(mid, trials, say):
            hi = mid
        else:
            lo = mid
    # near the edge a run can pass by luck (when the collector runs): the figure must complete
    # twice; if the repeat fails, step up
    passes = {hi: 1}
    for _ in range(6):
        if passes.get(hi, 0) >= 2:
            break
        if _probe(hi, trials, say):
            passes[hi] = passes.get(hi, 0) + 1
        else:
            hi += STEP_KB
    return hi


def scan(found, trials, say=print):
    """Completion is not monotonic in the heap size (where the big blocks land depends on it):
    try every SCAN_STEP_KB above `found` up to SCAN_KB more. Returns the smallest size from
    which every size tried completes (extending the scan while its top fails)."""
    sizes = list(range(found + SCAN_STEP_KB, found + SCAN_KB + 1, SCAN_STEP_KB))
    fails = []
    k = 0
    while k < len(sizes):
        kb = sizes[k]
        if not _probe(kb, trials, say):
            fails.append(kb)
            if kb == sizes[-1] and len(sizes) < SCAN_KB // SCAN_STEP_KB + 6:
                sizes.append(kb + SCAN_STEP_KB)
        k += 1
    if not fails:
        return found
    top = max(fails)
    above = [kb for kb in sizes if kb > top]
    return min(above) if above else None


def run():
    t0 = time.time()
    trials = []
    found = bisect(trials)
    rows = []
    if found is None:
        raise RuntimeError("the scenario does not complete even at %dwk: %s" % (HI_KB, trials[0][2]))
    safe = scan(found, trials)
    below = max([kb for kb, ok, _w, _d in trials if not ok and kb < found] or [LO_KB])
    above = sorted(set(kb for kb, ok, _w, _d in trials if not ok and kb > found))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"heapsize": "%dwk" % found, "kb": found, "resolution_kb": STEP_KB,
                   "safe_heapsize": "%dwk" % safe if safe else None, "safe_kb": safe,
                   "fails_above": above,
                   "scenario": "3-page fax sent, 1 page received, %d telegrams, MQTT (tools/bench/heap.py)"
                   % N_TELEGRAMS, "firmware": ".mpy -march=x64", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                    time.gmtime()),
                   "trials": [{"kb": kb, "ok": ok, "why": why, "s": round(dt, 1)} for kb, ok, why, dt in trials]},
                  f, indent=1)
    rows.append({"figure": "min heap, end-to-end scenario (.mpy, -X heapsize=Nwk)", "value": found,
                 "unit": "KB (32-bit)", "goal": "<= %d (stretch %d)" % (GOAL_KB, STRETCH_KB),
                 "note": "%.0f%% of goal; %d wk fails; a ~100 KB ESP32 heap: %.0f%% of it; completes twice"
                 % (100.0 * found / GOAL_KB, below, found)})
    rows.append({"figure": "heap from which every size tried completes (every %d KB up to +%d)"
                 % (SCAN_STEP_KB, SCAN_KB), "value": safe if safe else "none", "unit": "KB (32-bit)",
                 "goal": "<= %d" % GOAL_KB,
                 "note": ("fails above the minimum at %s wk (fragmentation: no room for a big block)" %
                          ", ".join(str(kb) for kb in above) if above else "no failure above the minimum")
                 + "; %d runs, %.0f s" % (len(trials), time.time() - t0)})
    total, mods = footprint()
    top = sorted(mods, key=lambda m: -m[1])[:4]
    rows.append({"figure": "heap held by the imported code and the CAFIS registry (.mpy)",
                 "value": round(total / 2048.0, 1), "unit": "KB (32-bit)",
                 "note": "%d B on this 64-bit host, halved; most: %s" % (total, ", ".join(
                     "%s %.1f" % (m.replace("faxbridge.", ""), n / 2048.0) for m, n in top))})
    return rows


def main(argv):
    if "--heap" in argv:
        heap = argv[argv.index("--heap") + 1]
        log = []
        ok, why, dt = scenario(heap, log=log)
        print("scenario at %s: %s in %.1f s %s" % (heap, "completes" if ok else "FAILS", dt, why))
        return 0 if ok else 1
    for r in run():
        print("%s: %s %s (goal %s) %s" % (r["figure"], r["value"], r["unit"], r.get("goal", ""), r.get("note", "")))
    print("written to %s" % os.path.relpath(OUT, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
