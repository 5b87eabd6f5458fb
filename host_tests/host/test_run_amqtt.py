"""`make run` without Mosquitto: tools/run.py --broker amqtt (the embedded broker from the venv)
serves the whole demo with the same outcomes, and the unit's availability (retained, with a will)
and QoS 1 commands work through amqtt."""
import ast
import os
import re
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import run  # noqa: E402
import unitlab  # noqa: E402

DEMO_FINALS = {"text-1": 0, "bitmap-1": 0, "busy-1": 263, "emergency-1": 6002}


def test_run_amqtt_demo_same_outcomes_and_cleans_up(tmp_path):
    assert os.access(run.AMQTT, os.X_OK), "%s missing: `make setup` installs amqtt (requirements.txt)" % run.AMQTT
    work = str(tmp_path / "run")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "run.py"), "--broker", "amqtt",
                        "--exit-after-demo", "--speedup", "8", "--workdir", work, "--timeout", "120"],
                       capture_output=True, text=True, timeout=240)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    m = re.search(r"broker: amqtt on 127\.0\.0\.1:(\d+), MQTT over WebSockets on \d+ \(pid (\d+)\)", out)
    assert m, out[:2000]
    pid = int(m.group(2))
    # the final codes, exactly
    m = re.search(r"demo done: finals (\{.*?\}); incoming fax OK", out)
    assert m, out[-4000:]
    assert ast.literal_eval(m.group(1)) == DEMO_FINALS
    assert re.search(r"fax text-1 +0  success", out), out[-4000:]
    assert re.search(r"fax bitmap-1 +0  success", out), out[-4000:]
    assert re.search(r"fax busy-1 +263  busy .*attempt 2", out), out[-4000:]
    assert re.search(r"fax emergency-1 +6002  refused number", out), out[-4000:]
    # every status of text-1 in order: -1, -2, -3 (dialling), -3 (page), 0
    codes = [int(c) for c in re.findall(r"fax text-1 +(-?\d+) ", out)]
    assert codes == [-1, -2, -3, -3, 0], codes
    # the verdicts of the four telegrams, and the malformed command's error
    verdicts = re.findall(r"telegram mqtt-\S+ +(\S+) +code=(\S+)", out)
    assert sorted(verdicts) == sorted([("accept", "None"), ("abnormal_report", "C58"),
                                       ("abnormal_report", "C03"), ("discard", "None")]), verdicts
    assert "command refused: fax bad_json" in out
    assert re.search(r"fax received \S+: 1 pages from '\+81 3 5550 7777', hang-up 0", out), out[-4000:]
    assert "unit is online" in out and "unit is offline" in out
    assert "gap in seq" not in out
    assert "stopped: broker, simulated line and firmware" in out
    pngs = re.findall(r"page the (?:remote fax machine|unit) received: (\S+\.png)", out)
    from PIL import Image
    assert len(pngs) >= 3, pngs
    for p in pngs:
        with Image.open(p) as im:
            assert im.size[0] == 1728 and im.size[1] >= 100, (p, im.size)
    # the page the unit received is the caller's page, pixel for pixel
    import unitdemo
    # the page the unit received reached this machine over MQTT (build/run/received/...)
    unit_png = [p for p in pngs if os.sep + "received" + os.sep in p]
    assert len(unit_png) == 1, pngs
    with Image.open(unit_png[0]) as im:
        got = bytes(0xFF ^ b for b in im.convert("1").tobytes())
    assert got == unitdemo.pbm_pattern(height=300).split(b"\n", 2)[2]
    # amqtt was shut down cleanly (SIGINT), and nothing is left running
    with open(os.path.join(work, "broker", "amqtt.log")) as f:
        assert "Broker closed" in f.read()
    assert not os.path.exists("/proc/%d" % pid) or _zombie(pid), "amqtt (pid %d) still running" % pid
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert work not in ps, [line for line in ps.splitlines() if work in line]


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


class _Fresh:
    """A new client that subscribes to one topic and records (payload, qos, retain).

    amqtt 0.12.1 also sends a connecting client, before it subscribes, every retained message
    that matches ANY client's subscription, at QoS 0 (broker.py, `_handle_client_session` loops
    over `self._subscriptions`, all of them). So the retained message comes twice: that stray
    QoS 0 copy and the QoS 1 one the subscription asked for. retained() waits for the latter
    and checks that every copy carries the same (current) payload.
    """

    def __init__(self, port, topic):
        import paho.mqtt.client as mqtt
        self.got = []
        self.ev = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fresh-%d" % time.monotonic_ns())
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.c.on_message = self._msg
        self.topic = topic
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()

    def _msg(self, c, u, m):
        if m.topic == self.topic:
            self.got.append((m.payload, m.qos, m.retain))
            if m.qos == 1:
                self.ev.set()

    def retained(self, timeout=10):
        """The payload of the QoS 1 retained delivery; all copies must agree."""
        ok = self.ev.wait(timeout)
        time.sleep(0.2)
        self.c.loop_stop()
        self.c.disconnect()
        assert ok, "no retained QoS 1 message on %s: %r" % (self.topic, self.got)
        assert all(r for _p, _q, r in self.got), self.got
        assert len(set(p for p, _q, _r in self.got)) == 1, self.got
        return self.got[-1][0]


def test_run_amqtt_unit_availability_will_and_commands(tmp_path):
    """The unit on amqtt: `online` retained after CONNACK; SIGKILL -> the will `offline`, retained;
    restarted -> `online` again; a QoS 1 command is delivered live (not flagged retained) and
    answered; every event seq arrives once, in order."""
    from modemsim import Line
    broker = run.AmqttBroker(str(tmp_path / "broker")).start()
    line = Line(speedup=8).start()
    fw = w = None
    try:
        modem = line.add_modem(unitlab.UNIT_NUMBER)
        cfg = {"unit_id": "amq-1", "mqtt": {"host": "127.0.0.1", "port": broker.port, "keepalive_s": 10},
               "modem": {"path": modem.path}}
        fw = unitlab.Firmware(str(tmp_path), cfg)
        w = unitlab.Watcher(broker.port)
        avail = "faxbridge/amq-1/availability"

        def n_avail(payload):
            return len([1 for t, m in w.msgs if t == avail and m == payload])

        fw.start()
        assert w.wait(lambda ms: n_avail(b"online") >= 1, 30), fw.log()[-3000:]
        assert _Fresh(broker.port, avail).retained() == b"online"
        fw.kill()
        assert w.wait(lambda ms: n_avail(b"offline") >= 1, 15), "no will from amqtt:\n" + broker.log()[-3000:]
        assert _Fresh(broker.port, avail).retained() == b"offline"
        fw.start()
        assert w.wait(lambda ms: n_avail(b"online") >= 2, 30), fw.log()[-3000:]
        assert _Fresh(broker.port, avail).retained() == b"online"
        # QoS 1 commands, delivered live: two refusals on cmd/error (seq 1, 2), none "retained"
        w.publish("faxbridge/amq-1/cmd/cancel", '{"job": "nope"}', qos=1)
        w.publish("faxbridge/amq-1/cmd/fax", "{not json", qos=1)
        assert w.wait(lambda ms: len(w.events("cmd/error")) >= 2, 20), fw.log()[-3000:]
        time.sleep(0.5)
        errs = w.events("cmd/error")
        got = [(e["seq"], e["cmd"], e["reason"]) for e in errs]
        assert got == [(1, "cancel", "rejected"), (2, "fax", "bad_json")], errs
        assert "retained" not in errs[0]["detail"]
        fw.stop()
        assert w.wait(lambda ms: n_avail(b"offline") >= 2, 15)
    finally:
        if fw:
            fw.stop()
        if w:
            w.stop()
        line.stop()
        broker.stop()
    assert broker.proc is None


def test_run_amqtt_auto_picks_amqtt_without_mosquitto(monkeypatch, tmp_path):
    """--broker auto: Mosquitto when its binary is there, else amqtt; --broker mosquitto without
    it stops with a clear message (no silent fallback)."""
    assert run.pick_broker("amqtt") == "amqtt"
    monkeypatch.setattr(unitlab, "MOSQUITTO", str(tmp_path / "no-mosquitto"))
    assert run.pick_broker("auto") == "amqtt"
    assert run.pick_broker("mosquitto") == "mosquitto"
    try:
        run.check_tools("mosquitto")
    except SystemExit as e:
        assert "mosquitto" in str(e) and "--broker amqtt" in str(e), str(e)
    else:
        raise AssertionError("check_tools accepted a missing mosquitto")
    run.check_tools("amqtt")  # the venv has amqtt and micropython
    fake = tmp_path / "mosquitto"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setattr(unitlab, "MOSQUITTO", str(fake))
    assert run.pick_broker("auto") == "mosquitto"


@pytest.mark.xfail(strict=True, reason="amqtt 0.12.1 drops QoS 1 messages for a disconnected anonymous"
                   " session (broker.py: `_broadcast_loop` queues only for `not is_anonymous`, and"
                   " `_session_monitor` deletes disconnected anonymous sessions); Mosquitto queues them")
def test_run_amqtt_command_sent_while_unit_offline_is_delivered(tmp_path):
    """The unit's clean=false session: a QoS 1 command published while the unit is down is
    delivered when it reconnects (and answered: an unknown job's cancel -> cmd/error). Passes on
    Mosquitto; strict xfail on amqtt, so a fixed amqtt shows up as XPASS (a failure) here."""
    from modemsim import Line
    broker = run.AmqttBroker(str(tmp_path / "broker")).start()
    line = Line(speedup=8).start()
    fw = w = None
    try:
        modem = line.add_modem(unitlab.UNIT_NUMBER)
        fw = unitlab.Firmware(str(tmp_path), {"unit_id": "off-1", "modem": {"path": modem.path},
                                              "mqtt": {"host": "127.0.0.1", "port": broker.port}})
        w = unitlab.Watcher(broker.port)

        def n_avail(payload):
            return len([1 for t, m in w.msgs if t.endswith("/availability") and m == payload])

        fw.start()
        assert w.wait(lambda ms: n_avail(b"online") >= 1, 30), fw.log()[-3000:]
        fw.kill()
        assert w.wait(lambda ms: n_avail(b"offline") >= 1, 15)
        w.publish("faxbridge/off-1/cmd/cancel", '{"job": "while-offline"}', qos=1)
        fw.start()
        assert w.wait(lambda ms: n_avail(b"online") >= 2, 30), fw.log()[-3000:]
        w.wait(lambda ms: w.events("cmd/error"), 8)
        errs = w.events("cmd/error")
        assert [(e["reason"], e["detail"]) for e in errs] == [("rejected", "no job while-offline")], errs
    finally:
        if fw:
            fw.stop()
        if w:
            w.stop()
        line.stop()
        broker.stop()
