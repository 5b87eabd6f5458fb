"""Latency: a telegram in over MQTT (cmd/telegram) to its verdict out (cafis/verdict), median
and 99th percentile, on loopback: a client -> Mosquitto -> the firmware on the MicroPython
unix port (.mpy, the heap heap.py found plus a quarter) -> its outbox on flash -> Mosquitto -> the client.
One telegram at a time (the next is sent when the verdict of the last is in), from a minimal
single-threaded MQTT client with TCP_NODELAY (QoS 0 in, the unit publishes the verdict at QoS 1),
so no client library's threads or ACK timing are in the figure.

Beside it, the same run measures the broker's own round trip (the client publishes to a topic it
is subscribed to), so the ratio says what the unit adds whatever the machine. Measured twice:
Mosquitto with `set_tcp_nodelay true` (the unit's own latency) and with Mosquitto's defaults,
where Nagle's algorithm on the broker's sockets meets the peers' delayed ACKs (about 40 ms on
Linux) and dominates.

Standalone: .venv/bin/python tools/bench/latency.py [--n 500]
"""
import os
import socket
import struct
import sys
import time

import _path  # noqa: E402,F401  (tools/hostpath.py)
import _unit  # noqa: E402
from _unit import Session  # noqa: E402

N = 500                 # telegrams timed (broker with set_tcp_nodelay)
N_DEFAULT = 150         # ... with Mosquitto's defaults (about 44 ms each)
WARM = 30


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class RawClient:
    """A minimal MQTT 3.1.1 client on one socket with TCP_NODELAY, single-threaded, QoS 0:
    no client library's threads or ACK timing in the figure."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        cid = b"bench-latency-%d" % os.getpid()
        self._send(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack(">H", len(cid)) + cid)
        assert self.packet(5)[0] >> 4 == 2, "no CONNACK"

    def _send(self, h, body):
        n = len(body)
        rl = b""
        while True:
            d = n % 128
            n //= 128
            rl += bytes((d | (0x80 if n else 0),))
            if not n:
                break
        self.s.sendall(bytes((h,)) + rl + body)

    def subscribe(self, topic):
        t = topic.encode()
        self._send(0x82, b"\x00\x01" + struct.pack(">H", len(t)) + t + b"\x00")
        while self.packet(5)[0] >> 4 != 9:
            pass

    def publish(self, topic, payload):
        t = topic.encode()
        self._send(0x30, struct.pack(">H", len(t)) + t + payload)

    def packet(self, timeout):
        """(first byte, body) of the next packet."""
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                n, mul, i = 0, 1, 1
                while i < len(self.buf):
                    b = self.buf[i]
                    n += (b & 127) * mul
                    mul *= 128
                    i += 1
                    if not b & 128:
                        break
                else:
                    i = None
                if i is not None and len(self.buf) >= i + n and not self.buf[i - 1] & 128:
                    p = (self.buf[0], self.buf[i:i + n])
                    self.buf = self.buf[i + n:]
                    return p
            left = end - time.monotonic()
            if left <= 0:
                raise _unit.Incomplete("no MQTT packet within %.0f s" % timeout)
            self.s.settimeout(left)
            d = self.s.recv(65536)
            if not d:
                raise _unit.Incomplete("broker closed the connection")
            self.buf += d

    def publish_in(self, suffix, timeout):
        """Wait for a PUBLISH whose topic ends with suffix; returns the arrival time."""
        while True:
            h, body = self.packet(timeout)
            if h >> 4 == 3:
                tl = struct.unpack(">H", body[:2])[0]
                if body[2:2 + tl].decode().endswith(suffix):
                    return time.perf_counter()

    def close(self):
        try:
            self.s.sendall(b"\xe0\x00")
            self.s.close()
        except OSError:
            pass


def measure(n=None, broker_nodelay=False):
    from modemsim import Line
    n = n or N
    tels = _unit.telegram_mix(n + WARM)
    line = Line(speedup=40.0, timeouts=_unit.fast_timeouts())
    heap = _unit.run_heap()
    with Session(line, heap=heap, tag="latency", broker_nodelay=broker_nodelay) as s:
        c = RawClient(s.broker.port)
        try:
            c.subscribe(s.root + "cafis/verdict")
            c.subscribe(s.root + "bench/echo")
            lat = []
            for i, tel in enumerate(tels):
                t0 = time.perf_counter()
                c.publish(s.root + "cmd/telegram", tel)
                try:
                    dt = c.publish_in("/cafis/verdict", 10) - t0
                except _unit.Incomplete as e:
                    raise _unit.Incomplete("verdict %d: %s (%s)" % (i + 1, e, s.broken()))
                if i >= WARM:
                    lat.append(dt)
            echo = []
            for i in range(n + WARM):
                t0 = time.perf_counter()
                c.publish(s.root + "bench/echo", b"x" * 80)
                dt = c.publish_in("/bench/echo", 10) - t0
                if i >= WARM:
                    echo.append(dt)
        finally:
            c.close()
        why = s.broken()
        if why:
            raise _unit.Incomplete(why)
    return {"median": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat), "n": len(lat),
            "echo_median": pct(echo, 50), "echo_p99": pct(echo, 99), "heap": heap}


def run():
    fast = measure(N, broker_nodelay=True)
    slow = measure(N_DEFAULT, broker_nodelay=False)
    ms = 1000.0
    return [
        {"figure": "telegram in (cmd/telegram) to verdict out, median", "value": round(fast["median"] * ms, 2),
         "unit": "ms", "note": "broker set_tcp_nodelay; %.0fx the broker's own round trip (%.3f ms); %d telegrams, "
         "heap %s" % (fast["median"] / fast["echo_median"], fast["echo_median"] * ms, fast["n"], fast["heap"])},
        {"figure": "telegram in to verdict out, 99th percentile", "value": round(fast["p99"] * ms, 2), "unit": "ms",
         "note": "%.1fx the median; broker's p99 %.3f ms; max %.1f ms" % (
             fast["p99"] / fast["median"], fast["echo_p99"] * ms, fast["max"] * ms)},
        {"figure": "same, Mosquitto's defaults (Nagle on the broker), median", "value": round(slow["median"] * ms, 2),
         "unit": "ms", "note": "p99 %.1f ms; %.0fx the set_tcp_nodelay median: configure brokers with it"
         % (slow["p99"] * ms, slow["median"] / fast["median"])},
    ]


if __name__ == "__main__":
    if "--n" in sys.argv:
        N = int(sys.argv[sys.argv.index("--n") + 1])
    for row in run():
        print("%-52s %8s %-3s %s" % (row["figure"], row["value"], row["unit"], row.get("note", "")))
