"""CAFIS session engine benchmark: exchanges per second and heap bytes allocated per exchange.

Usage: .venv/bin/python tools/bench/cafis_engine.py [--n 2000]
Runs on CPython (speed only), then runs this same file on the MicroPython unix port, where
gc.mem_alloc() is read before and after each batch (after a warm-up, collector disabled during
the batch). The engine builds effect tuples and answer telegrams, so it allocates per telegram;
these are the figures. Prints figures; asserts nothing.
run() gives the same figures as rows for `make bench` (tools/bench.py).
"""
import sys

import _path  # noqa: F401  (tools/hostpath.py: firmware/ on sys.path, both runtimes)
from hostpath import ROOT

MP = sys.implementation.name == "micropython"

import gc  # noqa: E402
import _cafis  # noqa: E402  (beside this file; the script folder is on sys.path)

from faxbridge.core.cafis import engine  # noqa: E402


_ticks = _cafis.ticks
_diff = _cafis.diff


def tel(changes, trailer=b"DATA"):
    return bytes(_cafis.tel(changes, trailer, "0100"))


class Clock:
    t = 0.0


RESULTS = []   # (label, per second, us each, heap bytes each or None)


def batch(label, n, step):
    for _ in range(50):
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
        per = "%d" % ((a1 - a0) // n)
    else:
        per = "n/a"
    us = _diff(t1, t0)
    rate = n * 1000000 // us if us else 0
    print("%-11s %-52s %7d /s %8.1f us  heap bytes each: %s" % (sys.implementation.name, label, rate, us / n, per))
    RESULTS.append((label, rate, us / n, (a1 - a0) // n if MP else None))


def main(n):
    gc.collect()
    a0 = gc.mem_alloc() if MP else 0
    m = engine.Member({"initial": "online"})
    gc.collect()
    if MP:
        print("%-11s Member() with the default catalogue: %d heap bytes" % (sys.implementation.name,
                                                                          gc.mem_alloc() - a0))
    clk = Clock()
    req = tel(())
    rep = tel((("msg_type", "0110"), ("cafis_seq", "000777")), b"APPROVED")

    def origin():
        clk.t += 1
        m.send(clk.t, req, 1)
        e = m.receive(clk.t, rep)
        if e[0][0] != "to_terminal":
            raise SystemExit("bench: %r" % (e,))
    batch("originating: request sent + its report received", n, origin)

    dreq = tel((("route", "0200"), ("cafis_seq", "000777")))

    def dest():
        clk.t += 1
        m.receive(clk.t, dreq)
        e = m.reply(clk.t, b"0200", b"0110", b"OK")
        if e[0][0] != "send":
            raise SystemExit("bench: %r" % (e,))
    batch("destination: request received + report sent", n, dest)

    cc = tel((("msg_type", "9310"), ("cafis_seq", "000777")), b"")

    def time_over():
        clk.t += 1
        m.send(clk.t, req, 1)
        clk.t += m.cfg.t_report
        m.poll(clk.t)
        e = m.receive(clk.t, cc)
        if e[0][0] != "to_terminal":
            raise SystemExit("bench: %r" % (e,))
    batch("time-over: request, 取消確認指令 sent, its report", n, time_over)

    cnt = tel((("route", "0001"), ("msg_type", "8000"), ("seq", "000000")), b"")

    def counter():
        m.receive(clk.t, cnt)
    batch("カウンタ通知 answered (idle row)", n, counter)

    def idle_poll():
        m.poll(clk.t)
    batch("poll() with nothing due", n, idle_poll)
    if "--rows" in sys.argv:
        import json
        for r in RESULTS:
            print("ROW " + json.dumps(r))


def run(n=2000):
    """Rows for tools/bench.py: the MicroPython figures, CPython's rate beside them."""
    import contextlib
    import io
    import json
    import os
    import subprocess
    del RESULTS[:]
    with contextlib.redirect_stdout(io.StringIO()):
        main(n)                     # CPython, speed only
    cpy = dict((r[0], r[1]) for r in RESULTS)
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    r = subprocess.run([mp, "-X", "heapsize=64M", os.path.abspath(__file__), "--n", str(n), "--rows"],
                       capture_output=True, text=True, timeout=300)
    got = [json.loads(ln[4:]) for ln in r.stdout.splitlines() if ln.startswith("ROW ")]
    if r.returncode or not got:
        raise RuntimeError("micropython worker failed: %s" % (r.stdout + r.stderr).strip()[-500:])
    return [{"area": "cafis", "figure": "engine: " + label, "value": rate, "unit": "/s",
             "note": "%.1f us, %d heap B each; %.0f%% of CPython's rate" % (
                 us, per, 100.0 * rate / cpy[label] if cpy.get(label) else 0)}
            for label, rate, us, per in got]


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
        r = subprocess.run([mp, "-X", "heapsize=64M", os.path.abspath(__file__), "--n", str(_arg_n())])
        sys.exit(r.returncode)
