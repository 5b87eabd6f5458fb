"""Class 2 machine against scripted modem dialogues (both runtimes).

The DCE side of the reference transcripts (efax/mgetty against a Class 2 modem) is replayed
byte for byte; the other dialogues script what real modems do (seed 001, issue 7 item 8)."""
from fax_helpers import BufSink, Rig, pages_of, replies, transcript, unstuff

OK = "\r\nOK\r\n"
FCON = "\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\n+FDIS:1,3,0,2,0,0,0,0\r\n" + OK
CONNECT = "\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n"
PAGE = bytes(range(256)) * 3            # contains DLE (0x10) and XON/XOFF byte values
STUFFED = PAGE.replace(b"\x10", b"\x10\x10") + b"\x10\x03"


def start_send(r, *pages, **kw):
    op = pages_of(*pages, **kw)
    r.send("5551234", op)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    return op


def connect(r, xon=True):
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.say(CONNECT + ("\x11" if xon else ""))


def assert_reinit(r):
    assert r.take().startswith(b"ATE0V1Q0\r"), "machine re-initialises after a call"


# ---- sending -------------------------------------------------------------------------------

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
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
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
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
    assert e["code"] == 205001 and "XOFF" in e["reason"]


def test_ring_during_a_command_is_not_its_result():
    r = Rig()
    start_send(r, PAGE)
    r.say("\r\nRING\r\n")
    assert r.m.state_name() == "dial"
    r.say(FCON)
    r.expect("AT+FDT\r")
    assert r.kinds("ring") == [{"count": 1}]


def test_numeric_result_codes():
    r = Rig()
    start_send(r, PAGE)
    r.say("\r\n+FCON\r\n0\r")
    r.expect("AT+FDT\r")
    r.say("+FDCS:1,3,0,2,0,0,0,0\r1\r\x11")
    assert r.take() == STUFFED
    r.say("0\r")
    r.expect("AT+FET=2\r")
    r.say("+FPTS:1\r+FHNG:0\r0\r")
    assert r.end()["code"] == 0


def test_refused_and_malformed_numbers_never_reach_the_modem():
    for number, code in (("119", 6002), ("0,110", 6002), ("555;ATH", 6027), ("", 6027)):
        r = Rig()
        r.send(number, pages_of(PAGE))
        assert r.take() == b""
        e = r.end()
        assert e["code"] == code and e["number"] is None
        assert r.m.ready()


def test_image_error_before_dialling():
    r = Rig()
    r.send("5551234", pages_of(ValueError("bad PBM header")))
    assert r.take() == b""
    e = r.end()
    assert e["code"] == 204000 and "bad PBM header" in e["reason"]
    r2 = Rig()
    r2.send("5551234", pages_of())
    assert r2.end()["code"] == 204000


def test_image_error_mid_page_hangs_up():
    r = Rig()
    start_send(r, PAGE, fail_at=500)
    connect(r)
    out = r.take()
    assert out.endswith(b"\x10\x03") and len(out) < len(STUFFED)
    r.say(OK)
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
    assert e["code"] == 204000 and e["hangup"][0] == 2


def test_image_error_on_a_later_page():
    r = Rig()
    start_send(r, PAGE, ValueError("bad text"))
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FK\r")
    r.say(OK)
    assert r.end()["code"] == 204000


def test_second_page_at_other_resolution_sets_fdis():
    r = Rig()
    op = pages_of(PAGE, PAGE)
    r.send("5551234", op)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    connect(r)
    r.take()
    op.sources  # page 1 (index 1) will be normal resolution
    op.kw["fine"] = False
    r.say(OK)
    r.expect("AT+FET=0\r")
    r.say("\r\n+FPTS:1\r\n" + OK)
    r.expect("AT+FDIS=0,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("AT+FDT\r")


# ---- timeouts, cancel, modem health ---------------------------------------------------------

def test_dial_timeout_then_dead_modem_reset():
    r = Rig()
    start_send(r, PAGE)
    r.tick(119)
    assert r.take() == b""
    r.tick(2)
    assert r.take() == b"\r"                 # abort the dial
    r.tick(16)                               # nothing comes back
    assert r.take() == b"\x10\x03\rATZ\r"
    e = r.end()
    assert e["code"] == 205001 and "ATD" in e["reason"]
    assert [m["state"] for m in r.kinds("modem")] == ["reset"]
    r.tick(11)
    assert [m["state"] for m in r.kinds("modem")] == ["reset", "unresponsive"]
    r.tick(31)
    assert r.take() == b"\x10\x03\rATZ\r"
    r.say(OK)
    r.boot()
    assert r.m.ready()


def test_connect_timeout_after_fdt():
    r = Rig()
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.tick(46)
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
    assert e["code"] == 205001 and "+FDT" in e["reason"]


def test_no_ok_after_page_end():
    r = Rig()
    start_send(r, PAGE)
    connect(r)
    r.take()
    r.tick(121)
    r.expect("AT+FK\r")
    r.tick(16)
    assert r.take().endswith(b"ATZ\r")
    assert r.end()["code"] == 205001


def test_dead_modem_at_start_and_idle_probe():
    r = Rig(boot=False)
    assert r.take() == b"ATE0V1Q0\r"
    r.tick(5.5)
    assert r.take() == b"\x10\x03\rATZ\r"
    r.say("ATZ\r" + OK)                      # echo of ATZ, then OK: init again
    r.boot()
    r.tick(61)
    assert r.take() == b"AT\r"
    r.say(OK)
    assert r.m.ready()
    r.tick(61)
    r.expect("AT\r")
    r.tick(6)
    assert r.take() == b"\x10\x03\rATZ\r"
    assert not r.m.ready()


def test_optional_init_command_error_tolerated_required_one_resets():
    r = Rig(boot=False)
    seen = []
    while r.m.state_name() == "init":
        cmd = r.take()
        seen.append(cmd)
        r.say("\r\nERROR\r\n" if cmd in (b"ATS0=0\r", b"AT+FBOR=0\r") else OK)
    assert r.m.ready() and b'AT+FLID=""\r' in seen
    r2 = Rig(boot=False)
    r2.take()
    r2.say(OK)
    r2.expect("AT+FCLASS=2\r")
    r2.say("\r\nERROR\r\n")                  # not a Class 2 modem
    assert r2.take() == b"\x10\x03\rATZ\r"


def test_cancel_while_dialling():
    r = Rig()
    start_send(r, PAGE)
    r.cancel()
    r.expect("\r")
    r.say("\r\nNO CARRIER\r\n")
    e = r.end()
    assert e["code"] == 403


def test_cancel_during_page_data():
    r = Rig({"chunk": 64})
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.m.feed(CONNECT.encode() + b"\x11", r.t)
    r.m.next_output(r.t)
    r.cancel()
    assert r.take() == b"\x10\x03"
    r.say(OK)
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
    assert e["code"] == 403 and e["hangup"][0] == 2


def test_cancel_when_modem_refuses_fk_uses_ath():
    r = Rig()
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.cancel()
    r.say(OK)
    r.expect("AT+FK\r")
    r.say("\r\nERROR\r\n")
    r.expect("ATH\r")
    r.say(OK)
    assert r.end()["code"] == 403


def test_send_when_busy_raises():
    r = Rig(boot=False)
    try:
        r.send("5551234", pages_of(PAGE))
    except RuntimeError:
        return
    raise AssertionError("send on an uninitialised modem must raise")


# ---- receiving -------------------------------------------------------------------------------

def efax_recv_parts():
    items = transcript("efax_recv.txt")
    after = []
    seen_dc2 = False
    for d, b in items:
        if d == "DTE" and b == b"\x12":
            seen_dc2 = True
            continue
        if seen_dc2:
            if d == "DTE":
                break
            after.append(b)
    return items, after


def ring_in(r, n=2):
    for _ in range(n):
        r.say("\r\nRING\r\n")


def test_receive_replays_efax_transcript_dce_side():
    items, after = efax_recv_parts()
    rep = replies(items)
    sink = BufSink(counts=[(300, 0)])
    r = Rig({"station_id": "5550199"}, sink=sink)
    r.say("\r\nRING\r\n")
    assert r.take() == b""
    r.say("\r\nRING\r\n")
    r.expect("ATA\r")
    r.say(rep["ATA"][0])
    r.expect("AT+FDR\r")
    r.say(rep["AT+FDR"][0])
    assert r.take() == b"\x12"               # DC2
    for b in after:
        r.say(b)
    r.expect("AT+FDR\r")                     # our verdict equals the modem's +FPTS:1
    r.say(rep["AT+FDR"][1])
    e = r.end()
    assert e["dir"] == "rx" and e["code"] == 0 and e["pages"] == 1
    assert e["remote_id"] == "+1 555 0100" and e["params"]["vr_lpi"] == 196
    assert e["hangup"][0] == 0
    data = bytearray()
    for b in after:
        data += b
    page = unstuff(bytes(data))
    assert len(page) == 10101 and bytes(sink.pages[0]) == page
    assert sink.params[0]["msb_first"] is True and sink.params[0]["bit_rate"] == 9600
    pg = r.kinds("page")
    assert pg[0]["lines"] == 300 and pg[0]["ok"] and pg[0]["modem_ppr"] == 1
    assert_reinit(r)


def start_receive(r, n=2, dcs="1,3,0,2,0,0,0,0"):
    ring_in(r, n)
    r.expect("ATA\r")
    r.say("\r\n+FCON\r\n\r\n+FTSI:\"  +81 3 1234\"\r\n\r\n+FDCS:%s\r\n" % dcs + OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FCFR\r\n\r\nCONNECT\r\n")


def test_receive_two_pages_with_dle_split_across_chunks():
    sink = BufSink()
    r = Rig(sink=sink)
    start_receive(r)
    assert r.take() == b"\x12"
    wire = b"ab\x10\x10cd\x10\x10\x10\x10ef\x10\x03"
    for i in range(len(wire)):                # one byte at a time
        r.say(wire[i:i + 1])
    r.say("\r\n+FPTS:1,100,0,0\r\n\r\n+FET:0\r\n" + OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FCFR\r\n\r\nCONNECT\r\n")
    r.expect(b"\x12")
    r.say(b"page 2\x10\x03\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + OK.encode())
    r.expect("AT+FDR\r")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 2 and e["remote_id"] == "+81 3 1234"
    assert sink.pages == {0: bytearray(b"ab\x10cd\x10\x10ef"), 1: bytearray(b"page 2")}


def test_receive_bad_page_answered_rtn_and_kept_at_same_index():
    sink = BufSink(counts=[(100, 20), (100, 1)])
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"bad\x10\x03\r\n+FPTS:1,100,0,0\r\n\r\n+FET:2\r\n\r\nOK\r\n")
    r.expect("AT+FPTS=2\r")                   # 20 % bad lines: RTN
    r.say(OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n")
    r.expect(b"\x12")
    r.say(b"good\x10\x03\r\n+FPTS:1\r\n\r\n+FET:2\r\n\r\nOK\r\n")
    r.expect("AT+FDR\r")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 1 and e["bad_pages"] == 1 and e["pprs"] == [2, 1]
    assert sink.pages == {0: bytearray(b"good")}


def test_receive_dc1_and_lsb_first_per_modem_config():
    sink = BufSink()
    r = Rig({"rx_start": "DC1", "rx_msb_first": False}, sink=sink)
    start_receive(r)
    assert r.take() == b"\x11"
    r.say(b"x\x10\x03")
    assert sink.params[0]["msb_first"] is False


def test_receive_stray_lf_after_connect_is_not_page_data():
    sink = BufSink()
    r = Rig(sink=sink)
    ring_in(r)
    r.expect("ATA\r")
    r.say("\r\n+FCON\r\n\r\n+FDCS:0,3,0,2,0,0,0,0\r\n" + OK)
    r.expect("AT+FDR\r")
    r.say("\r\nCONNECT\r")
    r.say("\n")
    r.expect(b"\x12")
    r.say(b"\x00\x01\x10\x03")
    assert sink.pages[0] == bytearray(b"\x00\x01")


def test_receive_hangup_reported_with_receive_phase():
    sink = BufSink()
    r = Rig(sink=sink)
    ring_in(r)
    r.expect("ATA\r")
    r.say("\r\n+FCON\r\n\r\n+FHNG:70\r\n" + OK)
    e = r.end()
    assert e["dir"] == "rx" and e["code"] == 7200 and e["hangup"][1] == "rB"


def test_receive_data_stall_cancels_and_resets():
    sink = BufSink()
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"some data")
    r.tick(31)
    assert r.take() == b"\x18"               # CAN
    assert sink.aborted == 1
    r.tick(16)
    assert r.take() == b"\x10\x03\rATZ\r"
    e = r.end()
    assert e["code"] == 205001 and "no page data" in e["reason"]


def test_receive_cancel_then_fk():
    sink = BufSink()
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"data")
    r.cancel()
    assert r.take() == b"\x18"
    r.say(b"more\x10\x03\r\n+FPTS:1\r\n\r\n+FET:0\r\n" + OK.encode())
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
    assert e["code"] == 403 and sink.aborted == 1 and sink.ended == 0


def test_ring_count_expires_and_no_sink_never_answers():
    sink = BufSink()
    r = Rig(sink=sink)
    r.say("\r\nRING\r\n")
    assert not r.m.ready()
    r.tick(11)
    assert r.m.ready()
    r.say("\r\nRING\r\n")
    assert r.take() == b""
    r2 = Rig()
    ring_in(r2, 5)
    assert r2.take() == b""
    r3 = Rig({"rings": 0}, sink=sink)
    ring_in(r3, 5)
    assert r3.take() == b""


def test_refused_reception_by_sink_factory():
    r = Rig()
    r.m._sink_factory = lambda: None
    ring_in(r)
    assert r.take() == b"" and r.kinds("end") == []


def test_receive_page_cut_by_hangup_is_not_kept():
    sink = BufSink(counts=[(37, 1)])
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"part of a page\x10\x03\r\n+FHNG:90\r\n" + OK.encode())
    e = r.end()
    assert e["code"] == 7200 and e["pages"] == 0 and e["pprs"] == [None] and e["bad_pages"] == 1
    pg = r.kinds("page")[0]
    assert pg["complete"] is False and pg["ok"] is False and pg["lines"] == 37


def test_receive_our_verdict_overrides_the_modems():
    sink = BufSink(counts=[(300, 0)])
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"page\x10\x03\r\n+FPTS:2,300,0,0\r\n\r\n+FET:2\r\n" + OK.encode())
    r.expect("AT+FPTS=1\r")
    r.say(OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 1


def test_receive_cancel_while_writing_our_verdict():
    sink = BufSink(counts=[(100, 50)])
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"p\x10\x03\r\n+FPTS:1\r\n\r\n+FET:0\r\n" + OK.encode())
    r.expect("AT+FPTS=2\r")
    r.cancel()
    r.say(OK)
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    assert r.end()["code"] == 403


def test_modem_refusing_our_verdict_is_tolerated():
    sink = BufSink(counts=[(100, 50)])
    r = Rig(sink=sink)
    start_receive(r)
    r.take()
    r.say(b"p\x10\x03\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + OK.encode())
    r.expect("AT+FPTS=2\r")
    r.say("\r\nERROR\r\n")
    r.expect("AT+FDR\r")


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


def test_cancel_before_dialling_never_dials():
    r = Rig()
    r.send("5551234", pages_of(PAGE))
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.cancel()
    r.say(OK)
    assert r.end()["code"] == 403
    assert b"ATD" not in r.take()


def test_cancel_while_waiting_for_page_verdict():
    r = Rig()
    start_send(r, PAGE, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=0\r")
    r.cancel()
    r.say("\r\n+FPTS:1\r\n" + OK)
    r.expect("AT+FK\r")
    r.say("\r\n+FHNG:2\r\n" + OK)
    e = r.end()
    assert e["code"] == 403 and e["pages"] == 1


def test_cancel_while_answering():
    sink = BufSink()
    r = Rig(sink=sink)
    ring_in(r)
    r.expect("ATA\r")
    r.cancel()
    r.say("\r\n+FCON\r\n" + OK)
    r.expect("AT+FK\r")
    r.say(OK)
    assert r.end()["code"] == 403 and sink.pages == {}


def test_answer_failures_before_fcon_get_answer_codes_not_dialling_codes():
    for result, code in (("NO CARRIER", 488), ("VOICE", 3936), ("ERROR", 205001)):
        r = Rig(sink=BufSink())
        ring_in(r)
        r.expect("ATA\r")
        r.say("\r\n" + result + "\r\n")
        e = r.end()
        assert e["dir"] == "rx" and e["code"] == code, (result, e["code"])


# ---- the public API added with the table (issue 15) -------------------------------------------

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


def test_transition_table_is_well_formed():
    from faxbridge.core.fax import c2call, c2core
    t = c2core.TABLE
    names = c2core.STATE_NAMES
    assert len(t) % 4 == 0
    seen = []
    ALL, OK, ANY, TIMEOUT = 99, 1, 5, 6      # c2core's private _ALL, _OK, _ANY, _TIMEOUT
    for k in range(0, len(t), 4):
        state, event, guard, action = t[k:k + 4]
        assert state == ALL or 0 < state < len(names), k
        assert event in (1, 2, 3, ANY, TIMEOUT) and guard in (0, 1), k
        assert callable(getattr(c2call, action)), action
        assert (state, event) not in seen, ("dead row", names[state], event)
        seen.append((state, event))
    assert (ALL, TIMEOUT) == seen[-1]
    # every state that sends a command has a row for its results
    for st in (c2core.INIT, c2core.SETUP, c2core.DIAL, c2core.FDT, c2core.TXEND, c2core.FET,
               c2core.ANSWER, c2core.FDR, c2core.RXPOST, c2core.FPTS, c2core.HANGUP):
        assert (st, ANY) in seen or (st, OK) in seen, names[st]


def test_dialect_is_data_read_by_role():
    """The machine reads commands and responses through its dialect table: a copy with other
    spellings (as Class 2.0 would have: +FKS, +FHS in hex) drives the same machine."""
    from faxbridge.core.fax import dialect
    assert dialect.get("2") is dialect.CLASS2
    assert sorted(dialect.get("2.0")) == sorted(dialect.CLASS2)     # issue 17: T.32, same keys
    try:
        dialect.get("1.0")
        raise AssertionError("an unknown class must be refused")
    except ValueError:
        pass
    d = dict(dialect.CLASS2)
    d["abort"] = "+FKS"
    d["hangup_base"] = 16
    d["responses"] = tuple(("+FHS" if n == "+FHNG" else n, r) for n, r in d["responses"])
    r = Rig()
    r.m.d = d
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.cancel()
    r.say(OK)
    r.expect("AT+FKS\r")                      # the dialect's spelling of "end the session"
    r.say("\r\n+FHS:4A\r\n\r\n+FHNG:2\r\n" + OK)   # +FHNG is not a response of this dialect
    e = r.end()
    assert e["code"] == 403 and e["hangup"][0] == 0x4A and e["hangup"][1] == "rB"
    assert r.m.recover_bytes() == (b"\x10\x03", b"AT+FKS\r")
