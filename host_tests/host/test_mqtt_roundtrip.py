"""Every topic of the contract through a real Mosquitto, paho-mqtt as the independent consumer."""
import base64
import json
import zlib

from mqtt_broker import Broker, Consumer, LinkThread, wait_for

from faxbridge.app.outbox_store import FileStore
from faxbridge.app.spool import Spool
from faxbridge.app.seen import Seen
from faxbridge.core.mqtt import commands, contract



def _z10(data):
    """zlib with a 1 KB window, as faxctl sends (the unit refuses windows over 4 KB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 10)
    return c.compress(data) + c.flush()

def _setup(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    lt = LinkThread("u1", "127.0.0.1", b.port, FileStore(str(tmp_path / "ob")), keepalive=5,
                    seen=Seen(str(tmp_path / "seen")), spool=Spool(str(tmp_path / "spool")))

    def take(cmd):   # as jobs.submit does, take the spooled pages (the link clears the spool)
        if cmd[0] == "fax":
            cmd = cmd[:3] + ([(k, open(p, "rb").read()) for k, p in cmd[3]],) + cmd[4:]
        lt.commands.append(cmd)
    lt.link.on_command = take
    wait_for(lambda: lt.link.state() == "up", what="link up")
    return b, c, lt


def test_every_outbound_topic_round_trip(tmp_path):
    b, c, lt = _setup(tmp_path)
    try:
        wait_for(lambda: any(t.endswith("/availability") and p == b"online" for t, p, _r in c.msgs),
                 what="availability online")
        s1 = lt.event(contract.FAX_STATUS, contract.fax_status(
            "J1", 263, "busy", True, 2, 0, (("result", "BUSY"), ("fhng", None))))
        s2 = lt.event(contract.FAX_RECEIVED, contract.fax_received(
            "R1", 3, "+81 3 5555", (("vr", "98 dpi"), ("br", 9600)), 0, "call", "Normal end of connection"))
        s3 = lt.event(contract.CAFIS_VERDICT, contract.cafis_verdict(
            "T1", "abnormal_report", "C03", "3.3.4-1 #2", "length", "1100 bytes"))
        lt.call(lt.link.telemetry, (("uptime", 42), ("heap", 51000)))
        assert (s1, s2, s3) == (1, 2, 3)
        wait_for(lambda: len(c.events()) >= 4, what="4 events")
        ev = {t.split("/", 2)[2]: p for t, p in c.events()}
        assert ev["fax/status"] == {"unit": "u1", "seq": 1, "job": "J1", "code": 263, "category": "busy",
                                    "final": True, "state": "done", "attempt": 2, "pages": 0, "of": 0,
                                    "evidence": {"result": "BUSY", "fhng": None}}
        assert ev["fax/received"]["seq"] == 2 and ev["fax/received"]["hangup"]["code"] == 0
        assert ev["fax/received"]["params"] == {"vr": "98 dpi", "br": 9600}
        assert ev["cafis/verdict"]["rule"] == "3.3.4-1 #2" and ev["cafis/verdict"]["seq"] == 3
        assert ev["telemetry"]["unit"] == "u1" and ev["telemetry"]["seq"] == 3
        assert ev["telemetry"]["heap"] == 51000 and ev["telemetry"]["outbox"]["last_seq"] == 3
        # key order on the wire is the contract's order
        raw = [p for t, p, _r in c.msgs if t.endswith("fax/status")][0]
        assert raw.startswith(b'{"unit":"u1","seq":1,"job":"J1","code":263')
        # availability is retained: a consumer that comes later still sees `online`
        late = Consumer(b.port, ("faxbridge/u1/availability",), client_id="late")
        wait_for(lambda: late.msgs, what="retained availability")
        assert late.msgs[0][1:] == (b"online", True)
        late.close()
        assert lt.link.outbox.depth() == 0 and lt.link.last_error is None
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_commands_in_and_errors_out(tmp_path):
    b, c, lt = _setup(tmp_path)
    try:
        pbm = b"P4\n16 2\n" + b"\x00\xff" * 2
        page_z = base64.b64encode(_z10(pbm)).decode()
        c.publish("faxbridge/u1/cmd/fax", json.dumps(
            {"job": "J7", "number": "0312345678", "pages": [{"text": "hello"}, {"pbmz": page_z}]}))
        c.publish("faxbridge/u1/cmd/cancel", b'{"job":"J7"}')
        tg = b"0000000000\x0e\xb1\x0f" + bytes(range(200, 256))
        c.publish("faxbridge/u1/cmd/telegram", tg)
        c.publish("faxbridge/u1/cmd/telegram/terminal", b"12345")
        wait_for(lambda: len(lt.commands) == 4, what="4 commands")
        fax, cancel, tel, tel2 = lt.commands
        assert fax[:3] == ("fax", "J7", "0312345678") and len(fax) == 5
        assert [k for k, _p in fax[3]] == ["text", "pbmz"] and isinstance(fax[4], int)
        assert fax[3][0][1] == b"hello" and zlib.decompress(fax[3][1][1]) == pbm
        assert cancel == ("cancel", "J7")
        assert tel[:3] == ("telegram", tg, "center") and tel2[2] == "terminal"
        # malformed commands: each one answered on cmd/error with the reason, link unharmed
        c.publish("faxbridge/u1/cmd/fax", b"{not json")
        c.publish("faxbridge/u1/cmd/fax", b'{"job":"J8","number":"1;ATH","pages":[{"text":"x"}]}')
        c.publish("faxbridge/u1/cmd/cancel", b"x" * 1000)
        c.publish("faxbridge/u1/cmd/fax", b"{" + b" " * (commands.MAX_FAX + 10) + b"}")
        c.publish("faxbridge/u1/cmd/telegram", b"")
        c.publish("faxbridge/u1/cmd/reboot", b"now")
        c.publish("faxbridge/u1/cmd/telegram/center/bad;ref", b"1")
        c.publish("faxbridge/u1/cmd/telegram", b"t" * 3000)
        wait_for(lambda: len(c.events("cmd/error")) == 7, what="7 cmd/error")
        errs = [p for _t, p in c.events("cmd/error")]
        # (the empty telegram is not answered: that is how a retained command is cleared)
        assert [(e["cmd"], e["reason"]) for e in errs] == [
            ("fax", "bad_json"), ("fax", "bad_field"), ("cancel", "too_large"), ("fax", "too_large"),
            ("reboot", "unknown_command"), ("telegram", "bad_field"), ("telegram", "too_large")]
        assert errs[1]["ref"] == "J8" and "dial string" in errs[1]["detail"]
        assert [e["seq"] for e in errs] == [1, 2, 3, 4, 5, 6, 7] and errs[0]["unit"] == "u1"
        assert len(lt.commands) == 4
        # the handler refusing a command is reported too
        lt.link.on_command = lambda cmd: (_ for _ in ()).throw(commands.CommandError(
            commands.REJECTED, "no such job", "J9"))
        c.publish("faxbridge/u1/cmd/cancel", b'{"job":"J9"}')
        wait_for(lambda: len(c.events("cmd/error")) == 8, what="rejected cancel")
        e = c.events("cmd/error")[-1][1]
        assert (e["reason"], e["ref"], e["detail"]) == ("rejected", "J9", "no such job")
        assert lt.link.state() == "up"
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_graceful_stop_publishes_offline(tmp_path):
    b, c, lt = _setup(tmp_path)
    try:
        wait_for(lambda: c.msgs, what="online")
        lt.stop()
        wait_for(lambda: any(p == b"offline" for _t, p, _r in c.msgs), what="offline")
    finally:
        c.close()
        b.stop()


def test_retained_command_is_refused(tmp_path):
    """A retained command would run again after every reconnect: refused with the reason."""
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    try:
        c.c.publish("faxbridge/u1/cmd/cancel", b'{"job":"J10"}', 1, retain=True).wait_for_publish(5)
        lt = LinkThread("u1", "127.0.0.1", b.port)
        try:
            wait_for(lambda: c.events("cmd/error"), what="retained refused")
            e = c.events("cmd/error")[0][1]
            assert e["reason"] == "rejected" and "retained" in e["detail"], e
            assert lt.commands == []
        finally:
            lt.stop()
    finally:
        c.close()
        b.stop()


def test_commands_on_the_micropython_unix_port(tmp_path):
    """The same command path with the link running on MicroPython (json, base64, utf-8 there)."""
    from mqtt_broker import run_publisher
    b = Broker(str(tmp_path / "broker")).start()
    c = Consumer(b.port)
    p = run_publisher(["--port", str(b.port), "--unit", "mp1", "--count", "1", "--linger-ms", "4000",
                       "--outbox", str(tmp_path / "ob"), "--seen", str(tmp_path / "seen"),
                       "--spool", str(tmp_path / "spool")])
    try:
        wait_for(lambda: any(t == "faxbridge/mp1/availability" and m == b"online" for t, m, _r in c.msgs),
                 what="MicroPython link online")
        pbm = b"P4\n16 2\n" + b"\x00\xff" * 2
        c.publish("faxbridge/mp1/cmd/fax", json.dumps({"job": "M1", "number": "0312345678", "pages": [
            {"text": "h\u00e9llo \u65e5\u672c"}, {"pbm": base64.b64encode(pbm).decode()},
            {"pbmz": base64.b64encode(_z10(pbm)).decode()}]}))
        c.publish("faxbridge/mp1/cmd/cancel", b'{"job":"unknown"}')
        c.publish("faxbridge/mp1/cmd/telegram/terminal", b"\x0e\xb1\x0f\xff")
        c.publish("faxbridge/mp1/cmd/fax", b'{"job":"M2","number":"1;H","pages":[{"text":"x"}]}')
        c.publish("faxbridge/mp1/cmd/fax", b"\xff\xfe{")
        wait_for(lambda: len(c.events("cmd/error")) == 3, what="3 cmd/error from MicroPython")
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=5)
        c.close()
        b.stop()
    lines = out.decode().splitlines()
    cmds = [json.loads(x[2:]) for x in lines if x.startswith("C ")]
    assert cmds[0] == {"cmd": "fax", "job": "M1", "number": "0312345678", "pages": ["text", "pbm", "pbmz"]}
    assert cmds[1] == {"cmd": "telegram", "sender": "terminal", "data": "0eb10fff"}
    errs = [(e["cmd"], e["reason"], e["ref"]) for _t, e in c.events("cmd/error")]
    assert errs == [("cancel", "rejected", "unknown"), ("fax", "bad_field", "M2"), ("fax", "bad_json", None)]
    assert "DONE 4 0" in lines, lines  # 1 fax/status + 3 cmd/error, all delivered
