"""The unit at a capped heap, as on a board with its code frozen: the firmware runs as .mpy
under the bench wrapper, the holes its loading left between code objects plugged and a ballast
leaving the unit exactly its working-set budget of free heap (tools/bench/_hook.py plug(),
BENCH_PLUG and BENCH_BUDGET), plain 64-bit bytes; a real Mosquitto and the simulated line (sped
up) around it. The budget is issue 13's: 40 KB, what an ESP32 without PSRAM leaves beside frozen
code (docs/bench.md).

- the make-run demo and a reboot complete on that budget;
- soak: 10 000 telegrams and 200 faxes sent and 200 received, in 10 rounds (the line at 400x:
  about 2 minutes); after every round (1000 telegrams, all answered) the unit's own telemetry
  reports its free heap, which must stay flat; job records and flash use stay within their
  bounds; every command is answered; no MemoryError in the log.

FAXBRIDGE_SOAK_BUDGET=<bytes> runs both on another budget (to look at the test itself).
"""
import os
import threading
import time

import _scenario  # tools/bench (on sys.path through host_tests/conftest.py)
import _unit
import _wrap

BUDGET = 40 * 1024             # issue 13's working set: the free heap the unit gets beside its code
ROOM = 200 * 1024              # -X heapsize: the imported code + this (the plugs, the GC's tables, ballast)
ROUNDS = 10
TELEGRAMS = 1000               # per round
FAXES = 20                     # sent and received per round
WINDOW = 32
KEEP_DONE = 20                 # jobs.keep_done: finished job records kept on flash
FLASH_BOUND = 1024 * 1024      # a quarter of a 4 MB ESP32's flash, the filesystem's share
HEAP_FLAT = 3072               # free heap after each round within this of the others (samples at quiet moments)


_code = []


def _heap():
    """-X heapsize in bytes: the imported code's heap (measured once per session) + ROOM."""
    if not _code:
        code, _res, _note = _wrap.code_heap()
        _code.append(code)
    return _code[0] + ROOM


def _budget():
    return int(os.environ.get("FAXBRIDGE_SOAK_BUDGET") or BUDGET)


def test_demo_and_reboot_on_the_frozen_budget():
    ok, why, dt, b = _scenario.run(str(_heap()), ("demo", "reboot"), timeout=120, plug=True, budget=_budget())
    assert b is not None and _budget() <= b[2] <= _budget() + 128, b    # the unit had the budget, no more
    assert ok, "on %d B: %s (%.0f s)" % (_budget(), why, dt)


def _flash_use(flash):
    total = files = 0
    for dp, _dn, fns in os.walk(flash):
        for f in fns:
            total += os.path.getsize(os.path.join(dp, f))
            files += 1
    return total, files


def _count(s, suffix):
    return len([1 for t, m in list(s.w.msgs) if t.endswith(suffix)])


def _finals(s):
    return [m for t, m in list(s.w.msgs) if t.endswith("/fax/status") and isinstance(m, dict) and m.get("final")]


def test_soak_10000_telegrams_200_faxes_each_way(tmp_path):
    heap = _heap()
    t0 = time.monotonic()
    import unitdemo
    from modemsim import Line
    line = Line(speedup=400.0, t30_delay=0.005, ring_interval=0.05, dial_delay=0.01, result_delay=0.02,
                timeouts=_unit.fast_timeouts())
    cfg = {"telemetry": {"interval_s": 1}, "jobs": {"keep_done": KEEP_DONE}}
    tels = _unit.telegram_mix(TELEGRAMS)
    want = _unit.expected_verdicts(tels * ROUNDS)
    pbm = str(tmp_path / "in.pbm")
    with open(pbm, "wb") as f:
        f.write(unitdemo.blocky_pbm(40, seed=3))
    os.environ["BENCH_PLUG"] = "1"              # as frozen, on the budget (the unit's interpreter reads them)
    os.environ["BENCH_BUDGET"] = str(_budget())
    try:
        heaps, flash, verdicts, log = _soak(tmp_path, heap, line, cfg, tels, pbm)
    finally:
        os.environ.pop("BENCH_PLUG", None)
        os.environ.pop("BENCH_BUDGET", None)
    took = time.monotonic() - t0
    print("soak on %d B: %.0f s; free heap per round %s; flash (bytes, job records) %s" % (_budget(), took, heaps,
                                                                                          flash))
    assert verdicts == want, "%d verdicts for %d telegrams (or differing)" % (len(verdicts), len(want))
    assert "MemoryError" not in log
    assert max(heaps) - min(heaps) <= HEAP_FLAT and heaps[-1] >= heaps[0] - HEAP_FLAT, heaps
    assert max(j for _u, j in flash) <= KEEP_DONE + 1, flash          # jobs with a record on flash
    assert flash[-1][0] <= max(u for u, _j in flash[:ROUNDS // 2]) + 16 * 1024, flash  # flat, not growing


def _soak(tmp_path, heap, line, cfg, tels, pbm):
    """ROUNDS rounds on one unit: (free heap per round, (flash use, job records) per round, the
    verdicts, the unit's log); what must hold within a round is asserted here."""
    with _unit.Session(line, heap=str(heap), config=cfg, tag="soak", wrap=True) as s:
        b = _scenario.plugged(s.fw.log())
        assert b is not None and _budget() <= b[2] <= _budget() + 128, b
        remote = line.add_remote(_unit.REMOTE, out_dir=str(tmp_path / "remote"))
        caller = line.add_remote(_unit.CALLER)
        heaps, flash = [], []
        for r in range(ROUNDS):
            n0 = _count(s, "/cafis/verdict")
            stop = []
            pub = threading.Thread(target=_telegrams, args=(s, tels, n0, stop), daemon=True)
            pub.start()
            for i in range(FAXES):
                job = "s%d_%d" % (r, i)
                s.fax(job, _unit.REMOTE, [{"text": "soak round %d fax %d" % (r, i)}])
                fin = s.wait_final(job, 60)
                assert fin["code"] == 0 and fin["pages"] == 1, fin
                n_rx = _count(s, "/fax/received")
                call = caller.send_fax(_unit.UNIT_NUMBER, [pbm])
                s.wait(lambda ms: _count(s, "/fax/received") > n_rx, 60, "fax/received %s" % job)
                assert call.wait(timeout=20) == "OK"
            pub.join(120)
            assert not pub.is_alive() and not stop, "round %d: telegrams: %s" % (r, stop or "still publishing")
            s.wait(lambda ms: _count(s, "/cafis/verdict") - n0 >= TELEGRAMS, 60, "round %d's verdicts" % r)
            n_t = _count(s, "/telemetry")         # the next telemetry after a quiet moment
            tel = s.wait(lambda ms: [m for t, m in ms if t.endswith("/telemetry")][n_t:], 10, "telemetry")
            heaps.append(tel[0]["heap_free"])
            use, _files = _flash_use(s.fw.flash)
            jobs = len(set(n.split(".")[0] for n in os.listdir(os.path.join(s.fw.flash, "jobs"))))
            flash.append((use, jobs))
            assert use <= FLASH_BOUND, "round %d: %d bytes on flash" % (r, use)
            assert s.broken() is None, s.broken()
        assert len(remote.received) >= ROUNDS * FAXES
        return heaps, flash, [(v.get("verdict"), v.get("code"), v.get("rule")) for v in s.verdicts()], s.fw.log()


def _telegrams(s, tels, n0, stop):
    """Publish tels, WINDOW ahead of their verdicts (a thread beside the faxes)."""
    sent = 0
    end = time.monotonic() + 120
    try:
        while sent < len(tels):
            if time.monotonic() > end:
                stop.append("%d of %d sent in 120 s" % (sent, len(tels)))
                return
            if sent - (_count(s, "/cafis/verdict") - n0) < WINDOW:
                s.publish("cmd/telegram", tels[sent])
                sent += 1
            else:
                time.sleep(0.002)
    except Exception as e:          # reported by the test, not lost in the thread
        stop.append(repr(e))
