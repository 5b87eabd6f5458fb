"""CAFIS check benchmark: telegrams checked per second and heap bytes allocated per telegram.

Usage: .venv/bin/python tools/bench/cafis.py [--n 2000]
Runs the figures on CPython (speed only) and then runs this same file on the MicroPython unix
port (.venv/bin/micropython), where gc.mem_alloc() is read before and after each batch, after a
warm-up, with the collector disabled during the batch. Goal: 0 bytes per accepted telegram.
One batch per class of verdict: accept (request, report, long request), abnormal_report,
discard, terminal_error. Prints figures; it asserts nothing.
run() gives the same figures as rows for `make bench` (tools/bench.py).
"""
import sys

import _path  # noqa: F401  (tools/hostpath.py: firmware/ on sys.path, both runtimes)
from hostpath import ROOT

MP = sys.implementation.name == "micropython"

import gc  # noqa: E402
import _cafis  # noqa: E402  (beside this file; the script folder is on sys.path)

from faxbridge.core.cafis import outbound, registry  # noqa: E402


_ticks = _cafis.ticks
_diff = _cafis.diff


def tel(changes, trailer=b"DATA"):
    return _cafis.tel(changes, trailer, "0002")


def checker():
    with open(ROOT + "/docs/cafis-registry.example.json") as f:
        return outbound.Checker(registry.load(f.read()))


RESULTS = []   # (label, telegrams/s, us/telegram, heap bytes/telegram or None)


def batch(label, n, step):
    for _ in range(50):         # warm-up: verdicts get built and cached
        step()
    gc.collect()
    if MP:
        gc.disable()
        a0 = gc.mem_alloc()
    t0 = _ticks()
    for _ in range(n):
        step()
    t1 = _ticks()
    if MP:
        a1 = gc.mem_alloc()
        gc.enable()
        per = "%.2f" % ((a1 - a0) / n)
    else:
        per = "n/a"
    us = _diff(t1, t0)
    rate = n * 1000000 // us if us else 0
    print("%-8s %-44s %8d telegrams/s %8.1f us/telegram  heap bytes/telegram: %s"
          % (sys.implementation.name, label, rate, us / n, per))
    RESULTS.append((label, rate, us / n, (a1 - a0) / n if MP else None))


def main(n):
    if MP:
        with open(ROOT + "/docs/cafis-registry.example.json") as f:
            text = f.read()
        gc.collect()
        a0 = gc.mem_alloc()
        c = outbound.Checker(registry.load(text))
        gc.collect()
        print("%-8s Checker with the example registry (13 routes): %d heap bytes after load"
              % (sys.implementation.name, gc.mem_alloc() - a0))
    else:
        c = checker()
    rx = bytearray(1024)                       # a receive buffer, as on the unit
    req = tel(())
    rx[:len(req)] = req
    mv = memoryview(rx)
    nreq = len(req)
    rep = tel((("msg_type", "0110"), ("cafis_seq", "000777")))

    def accepted():
        v = c.check(mv, "center", "A", nreq)
        c.sent(rep, "A")               # CAFIS's report frees the route again
        if v.kind != "accept":
            raise SystemExit("bench: request not accepted: %r" % (v,))
    batch("accepted general request (+ route freed)", n, accepted)

    fwd = tel((("route", "0100"), ("cafis_seq", "000777")))
    ans = tel((("route", "0100"), ("cafis_seq", "000777"), ("msg_type", "0110")))

    def report():
        c.sent(fwd, "B")
        v = c.check(ans, "center", "B")
        if v.kind != "accept":
            raise SystemExit("bench: report not accepted: %r" % (v,))
    batch("accepted report on a destination route", n, report)

    bad = tel((("org_date", "32"),))
    out = bytearray(80)

    def rejected():
        v = c.check(bad, "center", "A")
        c.report(bad, v, out)
    batch("rejected request C58 + abnormal report", n, rejected)

    big = tel((), trailer=b"\x0e" + b"\x24\x22" * 470 + b"\x0f")

    def large():
        v = c.check(big, "center", "A")
        c.sent(rep, "A")
        if v.kind != "accept":
            raise SystemExit("bench: large request not accepted: %r" % (v,))
    batch("accepted request, %d bytes with SO/SI" % len(big), n, large)

    short = tel(())[:12]

    def discarded():
        v = c.check(short, "center", "A")
        if v.kind != "discard":
            raise SystemExit("bench: short telegram not discarded: %r" % (v,))
    batch("discarded (shorter than a header)", n, discarded)

    term = b"1" * 293

    def terminal():
        v = c.check(term, "terminal", "A")
        if v.kind != "terminal_error":
            raise SystemExit("bench: no terminal error: %r" % (v,))
    batch("terminal_error CAF03 (terminal, too long)", n, terminal)

    tbad = b"T" * 47 + b"DATA"

    def terminal_field():
        v = c.check(tbad, "terminal", "A")
        if v.kind != "terminal_error":
            raise SystemExit("bench: no terminal error: %r" % (v,))
    batch("terminal_error CAF01 (terminal, unknown company)", n, terminal_field)
    if "--rows" in sys.argv:
        import json
        for r in RESULTS:
            print("ROW " + json.dumps(r))


def run(n=2000):
    """Rows for tools/bench.py: the MicroPython figures, CPython's rate beside them."""
    import json
    import os
    import subprocess
    del RESULTS[:]
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        main(n)                     # CPython, speed only
    cpy = dict((r[0], r[1]) for r in RESULTS)
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    r = subprocess.run([mp, "-X", "heapsize=4M", os.path.abspath(__file__), "--n", str(n), "--rows"],
                       capture_output=True, text=True, timeout=300)
    rows_mp = [json.loads(ln[4:]) for ln in r.stdout.splitlines() if ln.startswith("ROW ")]
    if r.returncode or not rows_mp:
        raise RuntimeError("micropython worker failed: %s" % (r.stdout + r.stderr).strip()[-500:])
    rows = [{"figure": "check: heap per telegram, worst verdict class", "value": max(r[3] for r in rows_mp),
             "unit": "B", "goal": "0", "note": "gc.mem_alloc() over %d telegrams per class, after warm-up" % n}]
    for label, rate, us, per in rows_mp:
        rows.append({"figure": "check: " + label, "value": rate, "unit": "telegrams/s",
                     "note": "%.1f us, %.3g heap B each; %.0f%% of CPython's rate" % (
                         us, per, 100.0 * rate / cpy[label] if cpy.get(label) else 0)})
    return rows


def _arg_n():
    n = 2000
    if "--n" in sys.argv:
        n = int(sys.argv[sys.argv.index("--n") + 1])
    return n


if __name__ == "__main__":
    main(_arg_n())
    if not MP:
        import os
        import subprocess
        mp = os.path.join(ROOT, ".venv", "bin", "micropython")
        if not os.path.exists(mp):
            raise SystemExit("bench: %s not found (make setup)" % mp)
        r = subprocess.run([mp, "-X", "heapsize=4M", os.path.abspath(__file__), "--n", str(_arg_n())])
        sys.exit(r.returncode)
