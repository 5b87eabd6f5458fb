"""Class 2 machine, sending, against scripted modem dialogues (both runtimes).

The DCE side of the reference transcripts (efax/mgetty against a Class 2 modem) is replayed
byte for byte; the other dialogues script what real modems do (seed 001, issue 7 item 8).
Receiving: test_fax_class2_rx.py; faults, cancel and the table: test_fax_class2_faults.py."""
from fax_helpers import (CONNECT, FCON, OK, PAGE, STUFFED, Rig, assert_reinit, connect, hang_up, pages_of, replies,
                         start_send, transcript, unstuff)


def efax_send_parts():
    items = transcript("efax_send.txt")
    data = bytearray()
    for d, b in items:
        if d == "DTE" and not b.startswith(b"AT"):
            data += b
    return items, bytes(data)


def test_send_replays_efax_transcript_dce_side():
    items, wire = efax_send_parts()
    page = unstuff(wire)
    assert len(page) == 10194                 # the simulator's note: 10194 bytes after unstuffing
    rep = replies(items)
    r = Rig({"station_id": "5550199"})
    op = pages_of(page, step=77)
    r.send("5551234", op)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    r.say(rep["ATD"][0])
    r.expect("AT+FDT\r")
    r.say(rep["AT+FDT"][0])
    assert r.take() == wire                   # same stuffing and DLE ETX as efax
    assert op.sources[0].configured == (1, 3, 0, 2, 0, 0, 0, 0)
    r.say(b"\x11\r\nOK\r\n")
    r.expect("AT+FET=2\r")
    r.say(rep["AT+FET"][0])
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 1 and e["pprs"] == [1]
    assert e["hangup"] == (0, "call", "Normal and proper end of connection")
    assert e["remote_id"] == "+1 555 0100" and e["remote_caps"] == "1,3,0,2,0,0,0,0"
    assert e["params"]["vr_lpi"] == 196 and e["params"]["bit_rate"] == 9600
    assert e["result"] == "OK" and e["number"] == "5551234"
    phases = [p["phase"] for p in r.kinds("progress")]
    assert phases[:3] == ["preparing", "dialling", "connected"] and "page" in phases
    assert_reinit(r)


def test_send_replays_sendfax_transcript_with_echo_on():
    items = transcript("sendfax_send.txt")
    rep = replies(items)
    wire = bytearray()
    for d, b in items:
        if d == "DTE" and not b.startswith(b"AT"):
            wire += b
    page = unstuff(wire)
    r = Rig()
    r.send("5551234", pages_of(page))
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say("AT+FDIS=1,3,0,2,0,0,0,0\r" + OK)      # echo on
    r.expect("ATDT5551234\r")
    r.say(rep["ATD"][0])                         # starts with the echo "ATD5551234\r"
    r.expect("AT+FDT\r")
    r.say(rep["AT+FDT"][0])
    assert r.take() == bytes(wire)
    r.say(b"\x11\r\nOK\r\n")
    r.expect("AT+FET=2\r")
    r.say(rep["AT+FET"][0])
    assert r.end()["code"] == 0


def test_send_three_pages():
    pages = (PAGE, b"\x10" * 50 + b"page two", b"page three\x10\x03")
    r = Rig()
    op = start_send(r, *pages)
    connect(r)
    for i, pg in enumerate(pages):
        if i:
            r.expect("AT+FDT\r")
            r.say(CONNECT + "\x11")
        assert r.take() == pg.replace(b"\x10", b"\x10\x10") + b"\x10\x03"
        r.say(OK)
        last = i == len(pages) - 1
        r.expect("AT+FET=%d\r" % (2 if last else 0))
        r.say("\r\n+FPTS:1\r\n" + ("\r\n+FHNG:0\r\n" if last else "") + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 3 and e["pprs"] == [1, 1, 1]
    assert op.opened == [0, 1, 2]
    assert [p["index"] for p in r.kinds("page")] == [0, 1, 2]


def test_dial_results_map_to_interfax_codes():
    for result, code in (("BUSY", 263), ("NO ANSWER", 8021), ("NO CARRIER", 3912),
                         ("VOICE", 3936), ("NO DIALTONE", 205001), ("NO DIAL TONE", 205001),
                         ("ERROR", 6027), ("7", 263), ("3", 3912), ("BLACKLISTED", 205001)):
        r = Rig()
        start_send(r, PAGE)
        r.say("\r\n%s\r\n" % result)
        e = r.end()
        assert e["code"] == code, (result, e)
        assert e["hangup"] is None and e["pages"] == 0
        assert_reinit(r)


def test_hangup_codes_reported_with_phase_and_text():
    for hsc, code, phase in ((11, 9001, "A"), (25, 3224, "B"), (27, 3233, "B"), (21, 3211, "B"),
                             (3, 205001, "call"), (1, 488, "call"), (2, 7200, "call")):
        r = Rig()
        start_send(r, PAGE)
        r.say("\r\n+FCON\r\n\r\n+FHNG:%d\r\n" % hsc + OK)
        e = r.end()
        assert e["code"] == code and e["hangup"][0] == hsc and e["hangup"][1] == phase, (hsc, e)
        assert e["hangup"][2]


def test_hangup_during_training_after_fdt():
    r = Rig()
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.say("\r\n+FHNG:25\r\n" + OK)
    e = r.end()
    assert e["code"] == 3224 and e["hangup"][2] == "DCS sent three times without response."


def test_hangup_during_page_data():
    r = Rig()
    start_send(r, PAGE)
    connect(r, xon=False)
    r.say("\r\n+FHNG:43\r\n" + OK)            # data underflow reported before we streamed
    e = r.end()
    assert e["code"] == 205001 and e["hangup"][0] == 43


def test_no_carrier_after_fcon_is_communication_error():
    r = Rig()
    start_send(r, PAGE)
    r.say("\r\n+FCON\r\n\r\nNO CARRIER\r\n")
    assert r.end()["code"] == 488


def test_page_rejected_is_sent_again_then_confirmed():
    r = Rig()
    op = start_send(r, PAGE)
    connect(r)
    assert r.take() == STUFFED
    r.say(OK)
    r.expect("AT+FET=2\r")
    r.say("\r\n+FPTS:2\r\n" + OK)             # RTN: bad, retrain
    r.expect("AT+FDT\r")
    r.say(CONNECT + "\x11")
    assert r.take() == STUFFED
    r.say(OK)
    r.expect("AT+FET=2\r")
    r.say("\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pprs"] == [2, 1] and e["pages"] == 1
    assert op.opened == [0, 0]


def test_page_rejected_give_up_per_config():
    r = Rig({"rtn_resend": 0})
    start_send(r, PAGE, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=0\r")
    r.say("\r\n+FPTS:2\r\n" + OK)
    e = hang_up(r)
    assert e["code"] == 3268 and e["pprs"] == [2] and e["hangup"][0] == 2 and "rejected" in e["reason"]


def test_fhng0_without_fpts_on_last_page_is_success():
    r = Rig()
    start_send(r, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=2\r")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 1


def test_fhng0_before_the_last_page_is_send_error():
    r = Rig()
    start_send(r, PAGE, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=0\r")
    r.say("\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 3268 and e["pages"] == 1


def test_ok_after_eop_without_fhng_hangs_up_itself():
    r = Rig()
    start_send(r, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=2\r")
    r.say("\r\n+FPTS:1\r\n" + OK)
    r.expect("ATH\r")
    r.say(OK)
    assert r.end()["code"] == 0


def test_ok_instead_of_connect_repeats_fdt_then_gives_up():
    r = Rig()
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.say(OK)
    r.expect("AT+FDT\r")                     # HylaFAX: repeat +FDT
    r.say(CONNECT + "\x11")
    assert r.take() == STUFFED
    r2 = Rig()
    start_send(r2, PAGE)
    r2.say(FCON)
    for _ in range(4):
        r2.expect("AT+FDT\r")
        r2.say(OK)
    r2.expect("AT+FK\r")
    r2.say(OK)
    e = r2.end()
    assert e["code"] == 7200 and "OK instead of CONNECT" in e["reason"]


def test_no_xon_after_connect_sends_after_grace():
    r = Rig()
    start_send(r, PAGE)
    connect(r, xon=False)
    assert r.take() == b""
    assert r.m.deadline() == r.t + 2
    r.tick(1.9)
    assert r.take() == b""
    r.tick(0.2)
    assert r.take() == STUFFED


def test_xon_xoff_flow_control():
    r = Rig({"chunk": 64})
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.m.feed(CONNECT.encode() + b"\x11", r.t)
    got = bytearray(r.m.next_output(r.t))
    assert len(got) >= 64
    r.m.feed(b"\x13", r.t)                    # XOFF
    assert r.m.next_output(r.t) == b""
    r.t += 19
    r.m.poll(r.t)
    assert r.m.next_output(r.t) == b""
    r.m.feed(b"\x11", r.t)                    # XON
    while True:
        b = r.m.next_output(r.t)
        if not b:
            break
        got += b
    assert bytes(got) == STUFFED


def test_xoff_held_too_long_ends_as_system_error():
    r = Rig({"chunk": 64})
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.m.feed(CONNECT.encode() + b"\x11", r.t)
    r.m.next_output(r.t)
    r.m.feed(b"\x13", r.t)
    r.tick(20.5)
    assert r.take() == b"\x10\x03"           # page ended where it stood
    r.say(OK)
    e = hang_up(r)
    assert e["code"] == 205001 and "XOFF" in e["reason"]


def test_ring_during_a_command_is_not_its_result():
    r = Rig()
    start_send(r, PAGE)
    r.say("\r\nRING\r\n")
    assert r.m.state_name() == "dial"
    r.say(FCON)
    r.expect("AT+FDT\r")
    assert r.kinds("ring") == [{"count": 1}]


# ---- the unit's API: xoff(), recover_bytes(), evidence ---------------------------------

def test_evidence_in_a_fixed_order():
    # the fax/status evidence pairs (docs/mqtt.md), in this order on every runtime
    from faxbridge.core.fax.evidence import evidence
    r = Rig()
    start_send(r, PAGE)
    r.say("\r\nBUSY\r\n")
    ev = evidence(r.end())
    assert [k for k, _ in ev] == ["result", "reason", "pprs", "remote_id", "duration_s"], ev
    assert ev[0] == ("result", "BUSY") and ev[2] == ("pprs", [])
    r2 = Rig()
    start_send(r2, PAGE)
    connect(r2)
    r2.take()
    r2.say(OK)
    r2.say("\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + OK)
    ev = evidence(r2.end())
    assert [k for k, _ in ev] == ["result", "reason", "fhng", "phase", "text", "pprs", "remote_id",
                                  "params", "duration_s"], ev
    d = dict(ev)
    assert d["fhng"] == 0 and d["params"] == "1,3,0,2,0,0,0,0" and d["pprs"] == [1], ev


def test_evidence_is_one_tuple_the_job_keeps_as_it_is():
    # issue 13: the evidence was a list grown pair by pair, then copied into a tuple by the
    # job (jobtab.pairs): 576 B on MicroPython's 64-bit unix port; now one tuple of pairs,
    # kept as it is (384 B with a hangup and params). Bound on MicroPython only.
    import gc
    from faxbridge.core.fax.evidence import evidence
    from faxbridge.core.fax.jobtab import pairs
    info = {"result": "OK", "reason": None, "hangup": (0, "call", "normal"), "pprs": [1],
            "remote_id": "x", "params": {"raw": "1,3,0,2,0,0,0,0"}, "duration": 5}
    assert pairs(evidence(info)) == (("result", "OK"), ("reason", None), ("fhng", 0), ("phase", "call"),
                                     ("text", "normal"), ("pprs", [1]), ("remote_id", "x"),
                                     ("params", "1,3,0,2,0,0,0,0"), ("duration_s", 5))
    assert [k for k, _ in evidence({"params": "1,3"})] == ["result", "reason", "pprs", "remote_id", "duration_s"]
    ev = evidence(info)
    assert pairs(ev) is ev
    if not hasattr(gc, "mem_alloc"):
        return
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        pairs(evidence(info))
        n = gc.mem_alloc() - a
    finally:
        gc.enable()
    assert n <= 400, n


def test_xoff_is_public_and_follows_the_modem():
    r = Rig({"chunk": 64})
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.m.feed(CONNECT.encode() + b"\x11", r.t)
    assert r.m.xoff() is False
    r.m.feed(b"\x13", r.t)
    assert r.m.xoff() is True and r.m.next_output(r.t) == b""
    r.m.feed(b"\x11", r.t)
    assert r.m.xoff() is False and len(r.m.next_output(r.t)) >= 64


def test_recover_bytes_end_page_data_then_the_session():
    r = Rig()
    assert r.m.recover_bytes() == (b"\x10\x03", b"AT+FK\r")


class _Closing(pages_of):
    """open_page over pages whose sources log their opening and closing in `log`."""

    def __init__(self, *datas, **kw):
        pages_of.__init__(self, *datas, **kw)
        self.log = []

    def __call__(self, i):
        src = pages_of.__call__(self, i)
        if src is not None:
            log = self.log
            self.log.append("o%d" % i)
            src.close = lambda: log.append("c%d" % i)
        return src


def test_page_sources_are_closed_when_let_go_one_at_a_time():
    """A page source (in the unit a file and an MH encoder) was let go without close() and
    held until the next page's was made: two at a time, and a file left open when a resend
    or the end of a call dropped a page opened ahead. Now each is closed when its data is out
    (before the next page is opened) or when it is dropped."""
    r = Rig()
    op = _Closing(PAGE, PAGE)
    r.send("5551234", op)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    connect(r)
    assert r.take() == STUFFED and op.log == ["o0", "c0"]
    r.say(OK)
    r.expect("AT+FET=0\r")
    assert op.log == ["o0", "c0", "o1"]
    r.say("\r\n+FPTS:2\r\n" + OK)             # RTN: page 0 again, page 1 (opened ahead) closed
    assert op.log == ["o0", "c0", "o1", "c1", "o0"]
    r.expect("AT+FDT\r")
    r.say(CONNECT + "\x11")
    assert r.take() == STUFFED
    r.say(OK)
    r.expect("AT+FET=0\r")
    r.say("\r\n+FPTS:1\r\n\r\n+FHNG:50\r\n" + OK)  # the line drops with page 1 opened ahead
    assert r.end()["code"] != 0
    assert op.log == ["o0", "c0", "o1", "c1", "o0", "c0", "o1", "c1"], op.log


def test_clear_after_a_driver_error_closes_the_page_source_of_the_call_it_drops():
    """Class2.clear() (the modem task's restart after a driver error, app/faxline.py) reset
    the session in place and let its page source go unclosed (in the unit a file left open
    until the GC finalises it); it is dropped as at the end of a call (drop_pages)."""
    r = Rig()
    op = _Closing(PAGE, PAGE)
    r.send("5551234", op)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    assert op.log == ["o0"] and r.m.in_call()
    r.m.clear()
    assert op.log == ["o0", "c0"], op.log
    assert not r.m.in_call() and r.m._s.src is None and r.m._s.io is None
