"""tools/faxctl against a real Mosquitto and a running Link: send, cancel, telegram, watch."""
import os
import subprocess
import sys
import time
import zlib

from mqtt_broker import ROOT, Broker, Consumer, LinkThread, wait_for

from faxbridge.core.mqtt import contract
from faxbridge.app.spool import Spool

FAXCTL = os.path.join(ROOT, "tools", "faxctl")


def _ctl(port, *args, timeout=30):
    r = subprocess.run([sys.executable, FAXCTL, "--port", str(port), "--timeout", "3"] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def test_send_cancel_telegram(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    lt = LinkThread("u1", "127.0.0.1", b.port, spool=Spool(str(tmp_path / "spool")))
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        txt = tmp_path / "p1.txt"
        txt.write_text("Hello fax\n")
        pbm = tmp_path / "p2.pbm"
        pbm.write_bytes(b"P4\n16 2\n\x00\xff\xff\x00")

        def answer(cmd):
            if cmd[0] == "fax":   # ("fax", job, number, pages, digest): the pages read, as jobs.submit takes them
                cmd = cmd[:3] + ([(k, open(p, "rb").read()) for k, p in cmd[3]],) + cmd[4:]
                lt.link.event(contract.FAX_STATUS, contract.fax_status(cmd[1], -1, "in progress", False))
            lt.commands.append(cmd)
        lt.link.on_command = answer
        rc, out = _ctl(b.port, "send", "0312345678", str(txt), str(pbm), "--job", "J42")
        assert rc == 0, out
        assert "job J42 sent" in out and "status: -1 in progress" in out, out
        fax = lt.commands[0]
        pages = fax[3]
        assert pages[0] == ("text", b"Hello fax\n")
        assert pages[1][0] == "pbmz" and zlib.decompress(pages[1][1]) == pbm.read_bytes()
        z = pages[1][1]
        assert z[0] >> 4 == 2, "CINFO %d: faxctl must declare a 1 KB window (wbits=10)" % (z[0] >> 4)
        rc, out = _ctl(b.port, "send", "12;ATH", str(txt), "--job", "J43")
        assert rc == 1 and "error:" in out and "bad_field" in out, out
        rc, out = _ctl(b.port, "cancel", "J42")   # this handler never answers a cancel: said, exit 1
        assert rc == 1 and "no answer from the unit" in out and lt.commands[-1][0] == "cancel", out
        tg = tmp_path / "t.bin"
        tg.write_bytes(b"\x00\x01\xfe" * 30)

        def verdict(cmd):
            lt.commands.append(cmd)
            # someone else's verdict first: faxctl must wait for the one carrying its own ref
            lt.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict("other", "accept", None, None))
            lt.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(cmd[3], "discard", None, "3.3.4-1 #1",
                                                                         "length"))
        lt.link.on_command = verdict
        rc, out = _ctl(b.port, "telegram", str(tg), "--sender", "terminal")
        assert rc == 0 and "verdict: discard" in out and "verdict: accept" not in out, out
        assert lt.commands[-1][3] and lt.commands[-1][3].startswith("fc-"), lt.commands[-1]
        assert lt.commands[-1][1] == tg.read_bytes() and lt.commands[-1][2] == "terminal"

        def by_ref(cmd):
            lt.commands.append(cmd)
            lt.link.event(contract.CAFIS_VERDICT, contract.cafis_verdict(cmd[3], "accept", None, "r", None))
        lt.link.on_command = by_ref
        rc, out = _ctl(b.port, "telegram", str(tg), "--sender", "center", "--ref", "T77")
        assert rc == 0 and "verdict: accept" in out and lt.commands[-1][3] == "T77", out
        rc, out = _ctl(b.port, "send", "123", str(tmp_path / "missing.txt"))
        assert rc == 2 and "cannot read" in out
    finally:
        lt.stop()
        b.stop()


def test_watch_flags_gaps_and_duplicates(tmp_path):
    b = Broker(str(tmp_path / "broker")).start()
    lt = LinkThread("u1", "127.0.0.1", b.port)
    w = subprocess.Popen([sys.executable, FAXCTL, "--port", str(b.port), "watch", "--duration", "4"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    c = Consumer(b.port, (), client_id="faker")
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        time.sleep(0.8)  # let watch subscribe
        lt.event(contract.FAX_STATUS, contract.fax_status("J1", -3, "in progress", False))
        lt.event(contract.FAX_STATUS, contract.fax_status("J1", 0, "success", True, 1, 2))
        lt.event(contract.CAFIS_VERDICT, contract.cafis_verdict("T1", "accept", None, None))
        wait_for(lambda: lt.link.outbox.depth() == 0, what="delivered")
        # another unit whose seq jumps (a lost event) and repeats (a QoS 1 duplicate)
        for s in (1, 2, 5, 5):
            c.publish("faxbridge/u2/cafis/verdict", contract.event("u2", s, contract.cafis_verdict(
                "T%d" % s, "accept", None, None)))
        out, _ = w.communicate(timeout=20)
    finally:
        if w.poll() is None:
            w.kill()
        c.close()
        lt.stop()
        b.stop()
    assert w.returncode == 1, out
    assert "u1" in out and "job J1: 0 success final" in out, out
    assert "GAP: seq 3..4 missing" in out and "(duplicate)" in out, out
    summary = out.split("--- summary")[1]
    assert "u1: online, last seq 3, 0 gaps" in summary, summary
    assert "u2: ?, last seq 5, 1 gaps 3..4, 1 duplicates" in summary, summary
