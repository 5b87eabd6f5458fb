"""Class 2 machine, receiving, against scripted modem dialogues (both runtimes): the efax
transcript's DCE side replayed byte for byte, then what real modems do (seed 001)."""
from fax_helpers import (OK, BufSink, Rig, assert_reinit, hang_up, receiving, replies, ring_in, start_receive,
                         transcript, unstuff)


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


def test_receive_two_pages_with_dle_split_across_chunks():
    r, sink = receiving()
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
    r, sink = receiving([(100, 20), (100, 1)])
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
    r, sink = receiving()
    r.say(b"some data")
    r.tick(31)
    assert r.take() == b"\x18"               # CAN
    assert sink.aborted == 1
    r.tick(16)
    assert r.take() == b"\x10\x03\rATZ\r"
    e = r.end()
    assert e["code"] == 205001 and "no page data" in e["reason"]


def test_receive_cancel_then_fk():
    r, sink = receiving()
    r.say(b"data")
    r.cancel()
    assert r.take() == b"\x18"
    r.say(b"more\x10\x03\r\n+FPTS:1\r\n\r\n+FET:0\r\n" + OK.encode())
    e = hang_up(r)
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
    r = Rig(factory=lambda: None)
    ring_in(r)
    assert r.take() == b"" and r.kinds("end") == []


def test_receive_page_cut_by_hangup_is_not_kept():
    r, _ = receiving([(37, 1)])
    r.say(b"part of a page\x10\x03\r\n+FHNG:90\r\n" + OK.encode())
    e = r.end()
    assert e["code"] == 7200 and e["pages"] == 0 and e["pprs"] == [None] and e["bad_pages"] == 1
    pg = r.kinds("page")[0]
    assert pg["complete"] is False and pg["ok"] is False and pg["lines"] == 37


def test_receive_our_verdict_overrides_the_modems():
    r, _ = receiving([(300, 0)])
    r.say(b"page\x10\x03\r\n+FPTS:2,300,0,0\r\n\r\n+FET:2\r\n" + OK.encode())
    r.expect("AT+FPTS=1\r")
    r.say(OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 1


def test_receive_cancel_while_writing_our_verdict():
    r, _ = receiving([(100, 50)])
    r.say(b"p\x10\x03\r\n+FPTS:1\r\n\r\n+FET:0\r\n" + OK.encode())
    r.expect("AT+FPTS=2\r")
    r.cancel()
    r.say(OK)
    assert hang_up(r)["code"] == 403


def test_modem_refusing_our_verdict_is_tolerated():
    r, _ = receiving([(100, 50)])
    r.say(b"p\x10\x03\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + OK.encode())
    r.expect("AT+FPTS=2\r")
    r.say("\r\nERROR\r\n")
    r.expect("AT+FDR\r")


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


def test_a_long_reception_keeps_a_fixed_record_of_page_verdicts():
    """Issue 13: the call's page verdicts grew one list item a page (~2 KB after ~500 pages).
    The record holds the first 32; the rest are counted (end event: pprs_more)."""
    r, sink = receiving()
    rec = r.m._s.pprs
    for i in range(40):
        last = i == 39
        r.say(b"p%d\x10\x03\r\n+FPTS:1\r\n\r\n+FET:%d\r\n\r\nOK\r\n" % (i, 2 if last else 0))
        r.expect("AT+FDR\r")
        if not last:
            r.say("\r\n+FCFR\r\n\r\nCONNECT\r\n")
            r.expect(b"\x12")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 40 and len(sink.pages) == 40
    assert e["pprs"] == [1] * 32 and e["pprs_more"] == 8, e
    assert r.m._s.pprs is rec and len(rec) == 32          # the same record, never grown
    assert len(r.kinds("page")) == 40


def test_a_short_call_has_no_pprs_more_and_unknown_verdicts_stay_unknown():
    r, sink = receiving()
    r.say(b"p\x10\x03\r\n+FPTS:1\r\n\r\n+FET:2\r\n\r\nOK\r\n")
    r.expect("AT+FDR\r")
    r.say("\r\n+FHNG:0\r\n" + OK)
    e = r.end()
    assert e["pprs"] == [1] and "pprs_more" not in e
    from faxbridge.core.fax import evidence
    s = r.m._s
    s.reset("rx", 0)
    for v in (None, 2, 300):
        s.add_ppr(v)
    assert evidence.end_info(s, 0, "", 0, None)["pprs"] == [None, 2, None] and s.npprs == 3


class _FullSink(BufSink):
    """A sink whose storage fills up after `room` bytes: write raises OSError (ENOSPC)."""

    def __init__(self, room):
        BufSink.__init__(self)
        self.room = room

    def write(self, mv):
        if len(self.pages[self.cur]) + len(mv) > self.room:
            raise OSError(28)
        BufSink.write(self, mv)


def test_a_sink_that_fills_up_cancels_the_page_and_ends_the_call():
    """A write to the sink fails (its storage full): CAN, the page aborted (not kept), then AT+FK
    once the modem's data ends, and the call ends 205001 "sink: ...". Mid-page (a full buffer of
    257 bytes: chunk 128) and at DLE ETX (the tail) alike."""
    for size, mid in ((2000, True), (357, False)):     # room for the first 257 bytes only
        sink = _FullSink(300)
        r = Rig(sink=sink)
        start_receive(r)
        r.expect(b"\x12")
        r.say(bytes(range(32, 132)) * (size // 100) + bytes(range(32, 32 + size % 100)))
        if mid:
            assert r.take() == b"\x18" and sink.aborted == 1      # CAN at once
        r.say(b"\x10\x03\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + OK.encode())
        if mid:
            e = hang_up(r)
        else:                        # the tail failed at DLE ETX: CAN, then the post-page OK: AT+FK
            assert r.take() == b"\x18AT+FK\r" and sink.aborted == 1
            r.say("\r\n+FHNG:2\r\n" + OK)
            e = r.end()
        assert e["code"] == 205001 and e["reason"].startswith("sink:") and e["pages"] == 0, e
        assert sink.ended == 0 and len(sink.pages[0]) == 257
