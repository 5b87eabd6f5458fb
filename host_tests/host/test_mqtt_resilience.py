"""Nothing accepted is lost: broker restarts while 1000 events flow; the unit's process (MicroPython
unix port) SIGKILLed at random moments and restarted."""
import random
import signal
import threading
import time

from mqtt_broker import Broker, Consumer, check_in_order, run_publisher, wait_for


def _seqs(c):
    return [p["seq"] for _t, p in c.events("fax/status")]


class _Reader(threading.Thread):
    """Collects the publisher's output lines without ever blocking the test."""

    def __init__(self, proc):
        threading.Thread.__init__(self, daemon=True)
        self.proc = proc
        self.lines = []
        self.start()

    def run(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def accepted(self):
        return [int(x.split()[1]) for x in self.lines if x.startswith("A ")]


def test_broker_restarted_while_1000_events_flow(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    p = run_publisher(["--port", str(b.port), "--count", "1000", "--gap-ms", "2",
                       "--outbox", str(tmp_path / "ob"), "--keepalive", "5"])
    r = _Reader(p)
    try:
        restarts = 0
        for cut in (150, 350, 550, 750, 900):
            wait_for(lambda: len(r.accepted()) >= cut or p.poll() is not None, 30, "publisher at %d" % cut)
            b.stop()
            time.sleep(random.uniform(0.05, 0.4))  # events keep being accepted into the outbox
            b.start()
            restarts += 1
        assert p.wait(60) == 0, "\n".join(r.lines[-30:])
        r.join(5)
        assert any(x.startswith("DONE 1000 0") for x in r.lines), r.lines[-5:]
        wait_for(lambda: 1000 in _seqs(c), 20, "seq 1000 at the consumer")
        seqs = _seqs(c)
        dups = check_in_order(seqs, 1000)
        assert restarts == 5
        print("broker restarts: 5, events: 1000, duplicates at the consumer: %d" % dups)
        assert "E " in "\n".join(r.lines)  # the link did notice the broker going away
    finally:
        if p.poll() is None:
            p.kill()
        c.close()
        b.stop()


def test_unit_killed_at_random_moments_loses_nothing(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    outbox = str(tmp_path / "ob")
    accepted = set()
    rnd = random.Random(8)
    kills = 0
    N = 1500
    try:
        for _ in range(6):
            p = run_publisher(["--port", str(b.port), "--count", str(N), "--gap-ms", "1",
                               "--outbox", outbox, "--keepalive", "5"])
            r = _Reader(p)
            time.sleep(rnd.uniform(0.05, 0.7))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait(10)
            r.join(5)
            accepted.update(r.accepted())
        p = run_publisher(["--port", str(b.port), "--count", str(N), "--outbox", outbox])
        r = _Reader(p)
        assert p.wait(60) == 0, "\n".join(r.lines[-30:])
        r.join(5)
        accepted.update(r.accepted())
        assert any(x.startswith("DONE %d 0" % N) for x in r.lines), r.lines[-5:]
        assert kills == 6, "the publisher finished too early to be killed"
        wait_for(lambda: N in _seqs(c), 20, "seq N at the consumer")
        seqs = _seqs(c)
        lost = sorted(accepted - set(seqs))
        assert not lost, "accepted but never delivered: %r" % lost[:20]
        dups = check_in_order(seqs, N)
        # the broker published the will for each kill (availability `offline`)
        offline = [m for m in c.msgs if m[0].endswith("/availability") and m[1] == b"offline"]
        assert len(offline) >= kills
        print("kills: %d, accepted: %d, duplicates at the consumer: %d" % (kills, len(accepted), dups))
    finally:
        c.close()
        b.stop()
