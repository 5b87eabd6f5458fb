"""The unit's minimum heap: the demo scenario of `make run` (a text and a bitmap fax sent, a
busy number retried, CAFIS telegrams, a fax received, everything over MQTT) on the MicroPython
unix port with .mpy code (mpy-cross -march=x64, as the board imports frozen/.mpy code),
bisecting `-X heapsize=<N>wk` (word-scaled: approximates a 32-bit heap) to the smallest N that
completes. Prints figures; asserts nothing.

Usage: .venv/bin/python tools/bench/unit.py [--lo 32] [--hi 256] [--telegrams 0] [--speedup 8]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import _path  # noqa: E402,F401  (tools/hostpath.py)
import unitlab  # noqa: E402


def attempt(kw, mpy, telegrams, speedup):
    from modemsim import Line
    work = tempfile.mkdtemp(prefix="fb-heap-")
    line = Line(speedup=speedup, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05,
                log_dir=os.path.join(work, "logs"))
    t0 = time.monotonic()
    try:
        with unitlab.Lab(work, line, config={"retries": {"count": 1, "delay_s": 1}},
                         heap="%dwk" % kw, mpy_dir=mpy) as lab:
            unitlab.demo_scenario(lab, work, telegrams=telegrams)
        return True, time.monotonic() - t0, ""
    except AssertionError as e:
        return False, time.monotonic() - t0, str(e).splitlines()[-1][:160] if str(e) else "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lo", type=int, default=32)
    ap.add_argument("--hi", type=int, default=256)
    ap.add_argument("--telegrams", type=int, default=0)
    ap.add_argument("--speedup", type=float, default=8.0)
    a = ap.parse_args()
    mpy = unitlab.compile_mpy(tempfile.mkdtemp(prefix="fb-mpy-"))
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _d, fs in os.walk(mpy) for f in fs)
    print("unit: .mpy for the host: %d bytes" % size)
    ok, dt, why = attempt(a.hi, mpy, a.telegrams, a.speedup)
    print("unit: heapsize=%dwk: %s (%.1f s) %s" % (a.hi, "ok" if ok else "FAILED", dt, why))
    if not ok:
        return 1
    lo, hi = a.lo, a.hi          # lo fails (assumed), hi completes
    while hi - lo > 4:
        mid = (lo + hi) // 2
        ok, dt, why = attempt(mid, mpy, a.telegrams, a.speedup)
        print("unit: heapsize=%dwk: %s (%.1f s) %s" % (mid, "ok" if ok else "failed", dt, why))
        if ok:
            hi = mid
        else:
            lo = mid
    print("unit: minimum heap for the demo scenario: heapsize=%dwk" % hi)
    print("unit: (on the unix port the .mpy code itself lives in the heap; frozen on the board it does not)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
