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
            # a small compaction threshold: kills also land in compactions and ack renames
            p = run_publisher(["--port", str(b.port), "--count", str(N), "--gap-ms", "1",
                               "--outbox", outbox, "--keepalive", "5", "--compact", "1024"])
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


def test_hung_broker_is_detected_by_ping_and_connack_timeouts(tmp_path):
    """SIGSTOP the broker: TCP stays up but nothing answers. The link must notice (no PINGRESP),
    keep trying (CONNACK timeout), and deliver everything once the broker runs again."""
    from mqtt_broker import LinkThread
    from faxbridge.core.mqtt import contract
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = LinkThread("u1", "127.0.0.1", b.port, keepalive=1, connect_timeout_ms=1500, verify=False)
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        lt.event(contract.FAX_STATUS, contract.fax_status("J1", 0, "success", True))
        wait_for(lambda: lt.link.outbox.depth() == 0, what="first event")
        b.proc.send_signal(signal.SIGSTOP)
        try:
            lt.event(contract.FAX_STATUS, contract.fax_status("J2", 0, "success", True))
            wait_for(lambda: any("PINGRESP" in e for e in lt.errors), 10, "ping timeout")
            wait_for(lambda: any("CONNACK" in e for e in lt.errors), 10, "CONNACK timeout")
            assert lt.link.outbox.depth() == 1
        finally:
            b.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: lt.link.outbox.depth() == 0, 15, "delivery after the broker resumed")
        wait_for(lambda: 2 in _seqs(c), 10, "seq 2 at the consumer")
        check_in_order(_seqs(c), 2)
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_full_outbox_while_broker_down_then_drains(tmp_path):
    """Broker down: telemetry is replaced (counted), in-progress statuses are refused at 3/4,
    results fill all but the answer reserve, answers the rest; none is dropped: all of them
    arrive when the broker returns."""
    from mqtt_broker import LinkThread
    from faxbridge.app.outbox_store import FileStore
    from faxbridge.core.mqtt import contract, outbox
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = LinkThread("u1", "127.0.0.1", b.port, FileStore(str(tmp_path / "ob")), max_records=40)
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        b.stop()
        wait_for(lambda: lt.link.state() != "up", what="link down")
        progress = results = 0
        refused = []
        for i in range(60):
            lt.call(lt.link.telemetry, (("i", i),))
            final = i % 2 == 1
            try:
                lt.event(contract.FAX_STATUS, contract.fax_status("J%d" % i, 0 if final else -3,
                                                                  "success" if final else "in progress", final))
                if final:
                    results += 1
                else:
                    progress += 1
            except outbox.OutboxFull:
                refused.append(final)
        ob = lt.link.outbox
        assert progress + results == 32 and ob.depth() == 32  # 8 records kept for answers
        assert progress <= 30 and ob.refused_progress == refused.count(False) > 0
        assert ob.refused_result == refused.count(True) > 0
        assert ob.has_room(contract.ANSWER, 200) and not ob.has_room(contract.RESULT, 1)
        for i in range(9):  # answers (e.g. a job's first status) take the reserve, then stop
            try:
                lt.call(lt.link.event, contract.FAX_STATUS, contract.fax_status(
                    "A%d" % i, -1, "queued", False), contract.ANSWER)
            except outbox.OutboxFull:
                assert i == 8
        assert ob.depth() == 40 and ob.refused_answer == 1
        assert ob.dropped_telemetry == 59
        b.start()
        wait_for(lambda: ob.depth() == 0, 20, "outbox drained")
        wait_for(lambda: 40 in _seqs(c), 10, "seq 40")
        check_in_order(_seqs(c), 40)
        wait_for(lambda: ob.telemetry is None, 5, "the newest telemetry published")
        # (QoS 0: the consumer may have missed it while reconnecting, so ask for one more)
        lt.call(lt.link.telemetry, (("i", 60),))
        wait_for(lambda: any(p["i"] == 60 for _t, p in c.events("telemetry")), 5, "telemetry 60")
        tel = [p for _t, p in c.events("telemetry") if p["i"] == 60][0]
        assert tel["outbox"]["dropped_telemetry"] == 59 and tel["seq"] == 40
    finally:
        lt.stop()
        c.close()
        b.stop()
