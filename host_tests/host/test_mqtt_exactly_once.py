"""Every command answered exactly once, against a real Mosquitto (issue 14 items 1-3).

A burst of 1000 cmd/telegram/<sender>/<ref> as fast as paho publishes, with an outbox so small
that the link must hold the broker off again and again; the same across broker restarts
(SIGTERM, SIGKILL) and kill -9 of the firmware (MicroPython unix port). The sender does what a
real one does when it has no verdict after a while: it sends the same ref again. The check:
exactly one verdict per ref, none missing, none twice.
"""
import json
import signal
import threading
import time

import paho.mqtt.client as paho
from mqtt_broker import Broker, Consumer, LinkThread, wait_for

from faxbridge.app.outbox_store import FileStore
from faxbridge.app.spool import Spool
from faxbridge.app.seen import Seen
from faxbridge.core.mqtt import commands, contract

N = 1000


class Sender:
    """paho, QoS 1, persistent session: publishes as fast as the client can."""

    def __init__(self, port, root):
        self.root = root
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="sender", clean_session=False,
                             protocol=paho.MQTTv311)
        self.c.max_inflight_messages_set(100)
        self.c.reconnect_delay_set(0.05, 0.5)
        ok = threading.Event()
        self.c.on_connect = lambda *a: ok.set()
        self.c.connect("127.0.0.1", port, 30)
        self.c.loop_start()
        assert ok.wait(10), "sender could not connect"

    def send(self, refs, topic="cmd/telegram/center/"):
        for r in refs:
            self.c.publish(self.root + topic + r, b"T" + r.encode(), 1)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def _verdicts(c):
    """ref -> number of verdicts (distinct seq: a QoS 1 duplicate of the same event, which the
    consumer sees after a broker restart, is the same answer, not a second one)."""
    seqs = {}
    for _t, p in c.events("cafis/verdict"):
        seqs.setdefault(p["ref"], set()).add(p["seq"])
    return {r: len(s) for r, s in seqs.items()}


def _nseq(c):
    """Distinct verdicts (a QoS 1 duplicate of one has the same seq)."""
    return len({p["seq"] for _t, p in c.events("cafis/verdict")})


def _answer(lt):
    def on_command(cmd):
        lt.commands.append(cmd)
        if cmd[0] == "telegram":
            lt.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(
                cmd[3], "accept", None, "test", None, bytes(cmd[1][:8]).decode()))
    return on_command


def _link(tmp_path, port, **kw):
    lt = LinkThread("u1", "127.0.0.1", port, FileStore(str(tmp_path / "ob")), keepalive=5,
                    capacity=8000, seen=Seen(str(tmp_path / "seen"), 1024), **kw)
    lt.link.on_command = _answer(lt)
    return lt


def _settle(c, sender, refs, restarts=(), timeout=120):
    """Wait until every ref has a verdict; refs without one after a quiet spell are sent again."""
    end = time.monotonic() + timeout
    seen_n, quiet = -1, time.monotonic()
    while time.monotonic() < end:
        v = _verdicts(c)
        if all(r in v for r in refs):
            return v
        n = sum(v.values())
        if n != seen_n:
            seen_n, quiet = n, time.monotonic()
        elif time.monotonic() - quiet > 4:
            sender.send([r for r in refs if r not in v])
            quiet = time.monotonic()
        time.sleep(0.1)
    v = _verdicts(c)
    raise AssertionError("%d of %d refs without a verdict" % (len([r for r in refs if r not in v]), len(refs)))


def test_burst_with_a_tiny_outbox_is_answered_exactly_once(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = _link(tmp_path, b.port)
    s = None
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        s = Sender(b.port, "faxbridge/u1/")
        refs = ["R%d" % i for i in range(N)]
        s.send(refs)
        v = _settle(c, s, refs)
        time.sleep(1)   # anything late would be a second answer
        v = _verdicts(c)
        assert sorted(v) == sorted(refs) and set(v.values()) == {1}, [r for r in v if v[r] > 1][:10]
        assert lt.link.held > 0, "the outbox never filled: the hold-off path did not run"
        assert len(c.events("cmd/error")) == 0
        print("held off %d times, %d commands handled" % (lt.link.held, len(lt.commands)))
    finally:
        if s:
            s.close()
        lt.stop()
        c.close()
        b.stop()


def test_burst_across_broker_restarts_sigterm_and_sigkill(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = _link(tmp_path, b.port, backoff_min_ms=50, backoff_max_ms=300)
    s = None
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        s = Sender(b.port, "faxbridge/u1/")
        refs = ["R%d" % i for i in range(N)]
        s.send(refs)
        for sig, at in ((signal.SIGTERM, 200), (signal.SIGKILL, 500), (signal.SIGTERM, 800)):
            wait_for(lambda: sum(_verdicts(c).values()) >= at, 60, "%d verdicts" % at)
            b.proc.send_signal(sig)
            b.proc.wait(10)
            time.sleep(0.3)
            b.start()
        _settle(c, s, refs, timeout=180)
        time.sleep(2)
        v = _verdicts(c)
        assert sorted(v) == sorted(refs)
        twice = [r for r in v if v[r] > 1]
        assert not twice, "second verdicts: %r %r" % (twice[:20], [(t, p["seq"], p["ref"]) for t, p in c.events(
            "cafis/verdict") if p["ref"] in twice[:3]])
        assert lt.link.held > 0
        print("held %d, acknowledged again without an answer %d" % (lt.link.held, lt.link.redelivered))
    finally:
        if s:
            s.close()
        lt.stop()
        c.close()
        b.stop()


def test_dup_redelivery_of_an_answered_packet_gets_no_second_answer(tmp_path):
    """The answer is persisted, then the link dies before its PUBACK reached the broker: the
    broker delivers the command again (DUP); the seen window recognises it (no ref needed)."""
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = _link(tmp_path, b.port)
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        sess = lt.link.session
        real = sess.pub_end

        def lose_the_puback():
            n = len(lt.commands)
            real()
            if len(lt.commands) == n:
                return             # not the command (the echo of `online`, say)
            sess.pub_end = real    # once
            sess.take()            # the PUBACK never leaves
            sess._fail("test: the connection died before the PUBACK was written")
        sess.pub_end = lose_the_puback
        c.publish("faxbridge/u1/cmd/telegram", b"no ref at all")
        wait_for(lambda: _nseq(c) == 1, what="the verdict")
        wait_for(lambda: lt.link.redelivered == 1, 15, "the DUP redelivery acknowledged")
        time.sleep(1)
        assert _nseq(c) == 1 and len(lt.commands) == 1
        c.publish("faxbridge/u1/cmd/telegram", b"no ref at all")   # a new command, same bytes
        wait_for(lambda: _nseq(c) == 2, what="the second command's verdict")
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_same_ref_sent_again_is_acknowledged_without_a_second_verdict(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = _link(tmp_path, b.port)
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        c.publish("faxbridge/u1/cmd/telegram/terminal/X1", b"one")
        c.publish("faxbridge/u1/cmd/telegram/terminal/X1", b"one")
        c.publish("faxbridge/u1/cmd/telegram/center/X1", b"other sender, same ref")
        wait_for(lambda: len(c.events("cafis/verdict")) == 2, what="2 verdicts")
        lt.stop()
        lt = _link(tmp_path, b.port)     # after a reboot the window is still there
        wait_for(lambda: lt.link.state() == "up", what="link up again")
        c.publish("faxbridge/u1/cmd/telegram/terminal/X1", b"one")
        c.publish("faxbridge/u1/cmd/telegram/terminal/X2", b"two")
        wait_for(lambda: len({p["seq"] for _t, p in c.events("cafis/verdict")}) == 3, what="3 verdicts")
        time.sleep(0.5)
        # by seq: the first link may not have committed the PUBACK of its last verdict, which it
        # then sends again after the restart (a QoS 1 duplicate, same seq: the same answer)
        got = sorted({p["seq"]: (p["ref"], p["detail"]) for _t, p in c.events("cafis/verdict")}.items())
        assert [v for _s, v in got] == [("X1", "one"), ("X1", "other se"), ("X2", "two")], got
        assert lt.link.redelivered == 1
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_retained_commands_refused_once_and_clearing_one_gets_no_answer(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    try:
        c.c.publish("faxbridge/u1/cmd/telegram/center/K1", b"tel", 1, retain=True).wait_for_publish(5)
        lt = _link(tmp_path, b.port)
        wait_for(lambda: c.events("cmd/error"), what="retained refused")
        e = c.events("cmd/error")[0][1]
        assert (e["cmd"], e["reason"]) == ("telegram", "rejected") and "retained" in e["detail"], e
        # a reconnect (the broker kept the session) brings no second refusal
        lt.stop()
        lt = _link(tmp_path, b.port)
        wait_for(lambda: lt.link.state() == "up", what="up again")
        # clearing it the documented way: an empty retained publish, answered with nothing
        c.c.publish("faxbridge/u1/cmd/telegram/center/K1", b"", 1, retain=True).wait_for_publish(5)
        c.publish("faxbridge/u1/cmd/reboot", b"x")          # unknown: answered
        wait_for(lambda: len(c.events("cmd/error")) == 2, what="unknown_command")
        time.sleep(1)
        errs = [(p["cmd"], p["reason"]) for _t, p in c.events("cmd/error")]
        assert errs == [("telegram", "rejected"), ("reboot", "unknown_command")], errs
        assert lt.commands == [] and not c.events("cafis/verdict")
        lt.stop()
    finally:
        c.close()
        b.stop()


def test_a_256_kb_fax_passes_the_2_kb_buffer(tmp_path):
    """cmd/fax of 256 KB (the limit: three bitmap pages) streams through; 1 byte more is
    too_large, unread."""
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = LinkThread("u1", "127.0.0.1", b.port, rx_buffer=2048, spool=Spool(str(tmp_path / "spool")))

    def take(cmd):
        lt.commands.append(cmd[:3] + ([(k, open(p, "rb").read()) for k, p in cmd[3]],) + cmd[4:])
    lt.link.on_command = take
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        import base64
        pbms = [b"P4\n1728 300\n" + bytes([(i * 7 + k) & 0xFF for i in range(216 * 300)]) for k in range(3)]
        doc = json.dumps({"job": "BIG", "number": "5551234",
                          "pages": [{"pbm": base64.b64encode(p).decode()} for p in pbms]}).encode()
        payload = doc + b" " * (commands.MAX_FAX - len(doc))   # JSON whitespace up to the limit
        assert len(payload) == commands.MAX_FAX and len(doc) > 256000
        c.publish("faxbridge/u1/cmd/fax", payload)
        wait_for(lambda: lt.commands, 20, "the fax command")
        fax = lt.commands[0]
        assert fax[:2] == ("fax", "BIG") and fax[3] == [("pbm", p) for p in pbms]
        c.publish("faxbridge/u1/cmd/fax", payload + b" ")
        wait_for(lambda: c.events("cmd/error"), what="too_large")
        e = c.events("cmd/error")[0][1]
        assert (e["reason"], e["cmd"]) == ("too_large", "fax") and "262145" in e["detail"], e
        # the socket buffer is the only receive buffer: it also holds a whole cancel/telegram
        assert len(lt.link.rxbuf) == commands.MAX_TELEGRAM == 2048 and not hasattr(lt.link, "cmdbuf")
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_firmware_killed_during_a_burst_answers_each_telegram_once(tmp_path):
    """The unit itself (MicroPython unix port, CAFIS registry, outbox of 6 KB) gets 1000
    telegrams as fast as paho publishes; kill -9 twice mid-burst; one verdict per ref."""
    from modemsim_helpers import fast_line
    from unit_helpers import Lab

    import unitdemo
    tel = unitdemo.center_telegram()
    with Lab(tmp_path, fast_line(tmp_path), {"mqtt": {"capacity": 6144}}) as lab:
        s = Sender(lab.broker.port, lab.root)
        try:
            refs = ["K%d" % i for i in range(N)]
            for r in refs:
                s.c.publish(lab.root + "cmd/telegram/center/" + r, tel, 1)

            def count():
                seqs = {}
                for m in lab.w.events("cafis/verdict"):
                    seqs.setdefault(m["ref"], set()).add(m["seq"])
                return seqs
            for at in (150, 500):
                assert lab.w.wait(lambda ms: len(count()) >= at, 90), "%d verdicts" % len(count())
                lab.fw.kill()
                lab.start()
            end = time.monotonic() + 240
            quiet, last = time.monotonic(), -1
            while time.monotonic() < end:
                v = count()
                if len(v) == N:
                    break
                if len(v) != last:
                    quiet, last = time.monotonic(), len(v)
                elif time.monotonic() - quiet > 8:      # the sender's own retry, same ref
                    for r in refs:
                        if r not in v:
                            s.c.publish(lab.root + "cmd/telegram/center/" + r, tel, 1)
                    quiet = time.monotonic()
                time.sleep(0.2)
            time.sleep(2)
            v = count()
            assert sorted(v) == sorted(refs), "%d refs without a verdict" % (N - len(v))
            twice = [r for r in v if len(v[r]) > 1]
            assert not twice, "second verdicts: %r" % twice[:20]
            held = max([m["link"]["held"] for m in lab.w.events("telemetry")] + [0])
            assert held > 0, "the firmware never held the broker off: the outbox did not fill"
            print("firmware: held off %d times (telemetry), %d verdict messages" % (
                held, len(lab.w.events("cafis/verdict"))))
            log = lab.fw.log()
            assert "MemoryError" not in log and "Traceback" not in log, log[-3000:]
        finally:
            s.close()
