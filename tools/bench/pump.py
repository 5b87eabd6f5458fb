"""Data pump: while a page streams from the unit (MicroPython unix port, .mpy) to the simulated
modem at 14400 bit/s in real time (speed-up 1), with MQTT traffic and CAFIS telegrams in
parallel, the longest gap in page data to the modem, against the gap that would underflow it.

How the gaps are measured: inside this process the simulated modem (tools/modemsim, running in
a thread here) is observed, not changed: every chunk of page data it gets from the unit in
TX_DATA is timestamped, and so is every XOFF/XON it sends. A gap is the time from the moment
the modem was last waiting for data (the previous chunk, or its XON) to the next chunk, while
the modem was not holding the unit off with XOFF. The first chunk of a page is not a gap (the
modem has not started to send the page yet).

The gap that would underflow the modem: the modem sends XON when its buffer has drained to
`xon_low` bytes (256 in the simulator, a typical Class 2 modem's low-water mark) and keeps
sending at the line rate, 14400 bit/s = 1800 bytes/s, so after XON the unit must deliver within
256 / 1800 s = 142 ms or the line runs dry; between XONs the buffer holds more, so 142 ms is the
tightest bound. The simulator's line pump is also checked every 20 ms for an empty buffer in
the middle of a page (an actual underflow): the count must be 0.

Load in parallel (from a paho-mqtt client): telegrams on cmd/telegram at 50/s (each a verdict
event through the outbox on flash and a QoS 1 publish), telemetry every second, and a cmd/fax
every 2 s (jobs queued behind the one on the line: file writes and fax/status events).

Standalone: .venv/bin/python tools/bench/pump.py
"""
import os
import sys
import threading
import time

import _path  # noqa: E402,F401  (tools/hostpath.py)
import _unit  # noqa: E402
from _unit import Incomplete, Session  # noqa: E402

LINE_BPS = 14400
XON_LOW = 256
TEL_RATE = float(os.environ.get("BENCH_TEL_RATE", "50"))
PAGE_TEXT = ("faxbridge data pump benchmark\n\n" +
             "".join("%2d  The quick brown fox jumps over the lazy dog.  0123456789  ACME K.K.  %s\n"
                     % (i, "#" * (i % 20)) for i in range(12)))


class Observer:
    """Timestamps of page data into, and flow control out of, the unit's simulated modem."""

    def __init__(self, number):
        self.number = number
        self.pages = []          # per page: list of (t, nbytes, buffered after)
        self.gaps = []           # (gap s, buffered bytes when the wait began)
        self.underflows = 0
        self.ticks = 0
        self.xoffs = 0
        self._lock = threading.Lock()
        self._wait_since = None
        self._level = 0
        self._xoff = False
        self._over = 0
        self.overshoot = 0       # most page bytes that arrived after one XOFF, before its XON
        self._installed = []

    def install(self):
        from modemsim import line as mline
        from modemsim import modem as mmod
        obs = self
        orig_tx, orig_out, orig_tick = mmod.Modem._tx_data, mmod.Modem._out, mline.Pump._tick

        def _tx_data(self, data):
            st = self.state
            r = orig_tx(self, data)
            if self.number == obs.number and st == "TX_DATA":
                obs._data(time.monotonic(), len(data), self.pump.buffered if self.pump else 0)
                if self.state != "TX_DATA":
                    obs.page_done()
            return r

        def _out(self, data, data_mode=False):
            if self.number == obs.number and self.state == "TX_DATA" and len(data) == 1 and data[0] in (0x11, 0x13):
                obs._flow(time.monotonic(), data[0] == 0x13, self.pump.buffered if self.pump else 0)
            return orig_out(self, data, data_mode)

        def _tick(self):
            if getattr(self.src, "number", None) == obs.number and not self.done:
                obs.ticks += 1
                if self.sent > 0 and not self.finished and not self.buf:
                    obs.underflows += 1
            return orig_tick(self)

        mmod.Modem._tx_data, mmod.Modem._out, mline.Pump._tick = _tx_data, _out, _tick
        self._installed = [(mmod.Modem, "_tx_data", orig_tx), (mmod.Modem, "_out", orig_out),
                           (mline.Pump, "_tick", orig_tick)]

    def uninstall(self):
        for cls, name, fn in self._installed:
            setattr(cls, name, fn)
        self._installed = []

    def _data(self, t, n, level):
        with self._lock:
            if self._wait_since is None:            # the page's first chunk
                self.pages.append([])
            elif not self._xoff:
                self.gaps.append((t - self._wait_since[0], self._wait_since[1]))
            if self._xoff:
                self._over += n
                self.overshoot = max(self.overshoot, self._over)
            self.pages[-1].append((t, n, level))
            self._wait_since = (t, level)

    def _flow(self, t, xoff, level):
        with self._lock:
            if xoff:
                self.xoffs += 1
                self._xoff = True
                self._over = 0
            else:
                self._xoff = False
                if self._wait_since is not None:
                    self._wait_since = (t, level)

    def page_done(self):
        with self._lock:
            self._wait_since = None
            self._xoff = False


def measure(pages=1, timeout=120.0):
    from modemsim import Line
    rate = LINE_BPS / 8.0
    obs = Observer(_unit.UNIT_NUMBER)
    obs.install()
    stop = threading.Event()
    counts = {"telegrams": 0, "faxes": 0}
    try:
        # the simulator's default timeouts (dte_data 20 s, as a modem's): real time here
        line = Line(log_dir=os.environ.get("BENCH_LOGS"), speedup=1.0, t30_delay=0.05, ring_interval=0.2,
                    dial_delay=0.05, result_delay=0.1)
        cfg = {"telemetry": {"interval_s": 1}, "modem": {"options": {"max_rate": LINE_BPS}},
               "jobs": {"max_queued": 64}}
        heap = _unit.run_heap()
        with Session(line, heap=heap, config=cfg, tag="pump") as s:
            line.add_remote(_unit.REMOTE, out_dir=os.path.join(s.tmp, "remote"))
            tels = _unit.telegram_mix(2000)

            def load():
                k = 0
                t_next = time.monotonic()
                while not stop.is_set():
                    s.publish("cmd/telegram", tels[k % len(tels)])
                    k += 1
                    counts["telegrams"] += 1
                    if k % max(1, int(TEL_RATE * 2)) == 0:
                        s.fax("q%d" % k, "5559%03d" % (k % 1000), [{"text": "queued job %d" % k}])
                        counts["faxes"] += 1
                    t_next += 1.0 / TEL_RATE
                    stop.wait(max(0.0, t_next - time.monotonic()))

            s.fax("pump", _unit.REMOTE, [{"text": "\f".join([PAGE_TEXT] * pages)}])
            s.wait(lambda ms: [m for t, m in ms if t.endswith("/fax/status") and isinstance(m, dict)
                               and m.get("job") == "pump" and m.get("state") == "call"], 30, "the call")
            th = threading.Thread(target=load, daemon=True)
            th.start()
            fin = s.wait(lambda ms: s.final(ms, "pump"), timeout, "the page's final status")
            stop.set()
            th.join(5)
            verdicts = len(s.verdicts())
            if fin.get("code") != 0:
                raise RuntimeError("the page did not go through: %r" % (fin,))
    finally:
        stop.set()
        obs.uninstall()
    if not obs.gaps:
        raise RuntimeError("no page data seen at the modem")
    longest, level = max(obs.gaps)
    nbytes = sum(n for p in obs.pages for _t, n, _l in p)
    span = sum(p[-1][0] - p[0][0] for p in obs.pages if p)
    worst_margin = min(lv / rate - g for g, lv in obs.gaps)
    return {"longest_gap_s": longest, "underflow_gap_s": XON_LOW / rate, "level_at_longest": level,
            "gaps": len(obs.gaps), "underflows": obs.underflows, "ticks": obs.ticks, "xoffs": obs.xoffs,
            "page_bytes": nbytes, "page_s": span, "worst_margin_s": worst_margin,
            "telegrams": counts["telegrams"], "faxes": counts["faxes"], "verdicts": verdicts,
            "overshoot": obs.overshoot, "heap": heap,
            "median_gap_s": sorted(g for g, _l in obs.gaps)[len(obs.gaps) // 2]}


def run():
    r = measure()
    ms = 1000.0
    return [
        {"figure": "longest gap in page data to the modem (14400 bit/s, under load)",
         "value": round(r["longest_gap_s"] * ms, 1), "unit": "ms",
         "goal": "< %.0f" % (r["underflow_gap_s"] * ms),
         "note": "%.1fx headroom; median gap %.1f ms; %d gaps, %d XOFF, page %d B in %.1f s"
         % (r["underflow_gap_s"] / r["longest_gap_s"], r["median_gap_s"] * ms, r["gaps"], r["xoffs"],
            r["page_bytes"], r["page_s"])},
        {"figure": "gap that would underflow the modem (xon_low 256 B / 1800 B/s)",
         "value": round(r["underflow_gap_s"] * ms, 1), "unit": "ms",
         "note": "tightest margin seen (buffer time - gap): %.0f ms" % (r["worst_margin_s"] * ms)},
        {"figure": "page bytes the modem got after one XOFF, before its XON (most)",
         "value": r["overshoot"], "unit": "B",
         "note": "sim buffer 2048 B, XOFF at 1536; a pty has no baud rate, a UART would pace the writes"},
        {"figure": "modem underflows during the page (line pump found its buffer empty)",
         "value": r["underflows"], "unit": "", "goal": "0",
         "note": "in parallel: %d telegrams (%d verdicts), %d cmd/fax, telemetry 1/s; heap %s"
         % (r["telegrams"], r["verdicts"], r["faxes"], r["heap"])},
    ]


if __name__ == "__main__":
    try:
        for row in run():
            print("%-66s %8s %-3s goal %-6s %s" % (row["figure"], row["value"], row["unit"], row.get("goal", ""),
                                                  row.get("note", "")))
    except (Incomplete, RuntimeError) as e:
        sys.exit("pump: %s" % e)
