"""The Class 2.0 (T.32) dialect of the same machine against scripted modem dialogues (both
runtimes): the init list, <DLE><ppm> page ends answered OK/ERROR, no XON wait, +FPS reports and
verdicts, +FKS, every +FHS row's InterFAX code, and fclass "auto" (AT+FCLASS=?)."""
from fax_helpers import BufSink, Rig, pages_of

OK = "\r\nOK\r\n"
C20 = {"fclass": "2.0"}
FCO = '\r\n+FCO\r\n\r\n+FCI:"+1 555 0100"\r\n\r\n+FIS:1,5,0,2,0,0,0,0\r\n' + OK
CONNECT = "\r\n+FCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n"
PAGE = bytes(range(256)) * 3            # DLE (0x10) and XON/XOFF byte values inside
INIT20 = [b"ATE0V1Q0\r", b"AT+FCLASS=2.0\r", b"ATS0=0\r", b"AT+FLO=1\r", b"AT+FBO=0\r",
          b"AT+FNR=1,1,1,0\r", b"AT+FCR=1\r", b'AT+FLI=""\r']


def stuffed(page):
    return page.replace(b"\x10", b"\x10\x10")


def start_send(r, *pages):
    op = pages_of(*pages)
    r.send("5551234", op)
    r.expect("AT+FIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    r.say(FCO)
    r.expect("AT+FDT\r")
    r.say(CONNECT)                      # no XON: T.32 has none
    return op


def init_list(r):
    """Answer OK to each init command; the commands, in order."""
    got = []
    while r.m.state_name() == "init":
        got.append(r.take())
        r.say(OK)
    return got


def test_init_list_is_the_t32_one():
    r = Rig(C20, boot=False)
    assert init_list(r) == INIT20
    assert r.m.state_name() == "idle" and r.m.fclass == "2.0"
    assert r.m.recover_bytes() == (b"\x10\x03", b"AT+FKS\r")



def test_optional_init_commands_may_answer_error_required_ones_reset():
    # dialect "init_opt": S0=0, +FLO, +FBO and +FNR may answer ERROR; the others may not
    r = Rig(C20, boot=False)
    seen = []
    while r.m.state_name() == "init":
        cmd = r.take()
        seen.append(cmd)
        r.say("\r\nERROR\r\n" if cmd in INIT20[2:6] else OK)
    assert r.m.ready() and seen == INIT20, seen
    for bad in (INIT20[0], INIT20[1], INIT20[6], INIT20[7]):
        r = Rig(C20, boot=False)
        while True:
            cmd = r.take()
            if cmd == bad:
                break
            r.say(OK)
        r.say("\r\nERROR\r\n")
        assert r.take() == b"\x10\x03\rATZ\r", bad

def test_send_three_pages_dle_ppm_page_ends():
    pages = (PAGE, b"\x10" * 50 + b"page two", b"page three\x10\x03")
    r = Rig(C20)
    op = start_send(r, *pages)
    for i, pg in enumerate(pages):
        if i:
            r.expect("AT+FDT\r")
            r.say(CONNECT)
        last = i == len(pages) - 1
        # page data at once (no XON), ended by <DLE>, (MPS) or <DLE>. (EOP); no AT+FET
        assert r.take() == stuffed(pg) + (b"\x10." if last else b"\x10,"), i
        assert r.m.state_name() == "txppm"
        r.say(("\r\n+FHS:00\r\n" if last else "") + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 3 and e["pprs"] == [1, 1, 1], e
    assert e["hangup"] == ("00", "call", "Normal and proper end of connection")
    assert e["remote_id"] == "+1 555 0100" and e["params"]["vr_lpi"] == 196
    assert e["remote_caps"] == "1,5,0,2,0,0,0,0"
    assert op.opened == [0, 1, 2] and op.sources[0].configured == (1, 3, 0, 2, 0, 0, 0, 0)
    assert r.take().startswith(b"ATE0V1Q0\r")          # re-init after the call


def test_error_to_page_end_is_rtn_page_sent_again():
    r = Rig(C20)
    op = start_send(r, PAGE, b"two")
    assert r.take().endswith(b"\x10,")
    r.say("\r\nERROR\r\n")                             # RTN: the same page again
    r.expect("AT+FDT\r")
    r.say(CONNECT)
    assert r.take() == stuffed(PAGE) + b"\x10,"
    r.say(OK)
    r.expect("AT+FDT\r")
    r.say(CONNECT)
    assert r.take() == b"two\x10."
    r.say("\r\n+FHS:00\r\n" + OK)
    e = r.end()
    assert e["code"] == 0 and e["pages"] == 2 and e["pprs"] == [2, 1, 1], e
    assert op.opened == [0, 1, 0, 1]


def test_error_again_gives_up_with_fks():
    r = Rig(dict(C20, rtn_resend=0))
    start_send(r, PAGE)
    assert r.take().endswith(b"\x10.")
    r.say("\r\nERROR\r\n")
    r.expect("AT+FKS\r")
    r.say("\r\n+FHS:02\r\n" + OK)
    e = r.end()
    assert e["code"] == 3268 and e["pprs"] == [2] and e["hangup"][0] == "02", e


def test_hangup_in_phase_d_is_no_verdict():
    r = Rig(C20)
    start_send(r, PAGE, PAGE)
    r.take()
    r.say("\r\n+FHS:52\r\n" + OK)                      # no response to MPS: OK, but no page
    e = r.end()
    assert e["code"] == 3268 and e["pages"] == 0 and e["pprs"] == [None], e
    assert e["reason"] == "+FHS:52" and e["hangup"] == ("52", "D", "No response to MPS repeated 3 times")


def test_cancel_during_page_data_ends_with_dle_etx_then_fks():
    r = Rig(dict(C20, chunk=64))
    op = pages_of(PAGE)
    r.send("5551234", op)
    r.say(OK)
    r.say(FCO)
    r.say(CONNECT + "\x13")                          # XOFF holds the page data back
    assert r.m.state_name() == "txdata"
    r.take()
    r.cancel()
    assert r.take() == b"\x10\x03"
    r.say("\r\n+FHS:00\r\n" + OK)                      # the modem took DLE ETX as EOP
    e = r.end()
    assert e["code"] == 403, e


def test_image_error_on_the_next_page_before_the_page_end():
    r = Rig(C20)
    start_send(r, PAGE, ValueError("bad bitmap"))
    assert r.take().endswith(b"\x10\x03")               # not <DLE>,: there is no next page
    r.say(OK)
    r.expect("AT+FKS\r")
    r.say(OK)
    e = r.end()
    assert e["code"] == 204000, e


def test_receive_two_pages_fps_reports_and_our_verdict():
    sink = BufSink(counts=[(100, 0), (100, 30)])
    r = Rig(C20, sink=sink)
    r.say("\r\nRING\r\n\r\nRING\r\n")
    r.expect("ATA\r")
    r.say('\r\n+FCO\r\n\r\n+FTI:"  +81 3 1234"\r\n\r\n+FCS:0,3,0,2,0,0,0,0\r\n' + OK)
    r.expect("AT+FDR\r")
    r.say("\r\nCONNECT\r\n")                           # no +FCFR in T.32
    r.expect(b"\x12")
    r.say(b"ab\x10\x10cd\x10\x03")
    r.say("\r\n+FPS:1,64,0,0,0\r\n\r\n+FET:0\r\n" + OK)   # hex counts
    r.expect("AT+FDR\r")
    r.say("\r\nCONNECT\r\n")
    r.expect(b"\x12")
    r.say(b"page 2\x10\x03")
    r.say("\r\n+FPS:1,64,0,0,0\r\n\r\n+FET:2\r\n" + OK)
    r.expect("AT+FPS=2\r")                             # 30 % bad lines: our RTN
    r.say(OK)
    r.expect("AT+FDR\r")
    r.say("\r\nCONNECT\r\n")
    r.expect(b"\x12")
    r.say(b"page 2 again\x10\x03\r\n+FPS:1,64,0,0,0\r\n\r\n+FET:2\r\n" + OK.encode())
    r.expect("AT+FDR\r")
    r.say("\r\n+FHS:00\r\n" + OK)
    e = r.end()
    assert e["dir"] == "rx" and e["code"] == 0 and e["pages"] == 2 and e["bad_pages"] == 1, e
    assert e["remote_id"] == "+81 3 1234" and e["params"]["vr_lpi"] == 98
    assert bytes(sink.pages[0]) == b"ab\x10cd" and bytes(sink.pages[1]) == b"page 2 again"
    assert sink.params[0]["msb_first"] is False                  # +FBO=0: direct order
    assert [p["modem_ppr"] for p in r.kinds("page")] == [1, 1, 1]


def test_receive_hangup_in_hex_with_receive_phase():
    r = Rig(C20, sink=BufSink())
    r.say("\r\nRING\r\n\r\nRING\r\n")
    r.expect("ATA\r")
    r.say("\r\n+FCO\r\n" + OK)
    r.expect("AT+FDR\r")
    r.say("\r\n+FHS:A0\r\n" + OK)
    e = r.end()
    assert e["code"] == 7200 and e["hangup"] == ("A0", "rD", "Unspecified receive phase D error"), e


# Every row of T.32's +FHS table (t32.CLASS20["hangup_text"][0]; tools/modemsim/t32.py has the same rows) with the
# InterFAX code it ends a call with: spec/fax.md's +FHNG rows read with T.32's digits.
FHS_CODES = (
    ("00", 0), ("01", 488), ("02", 7200), ("03", 205001), ("04", 8021), ("05", 9001),
    ("10", 9001), ("11", 9001), ("20", 3211), ("21", 3211), ("22", 3211), ("23", 3211),
    ("24", 3211), ("25", 3224), ("26", 3211), ("27", 3233), ("28", 3211),
    ("40", 3268), ("41", 3268), ("42", 3268), ("43", 205001), ("44", 3268), ("45", 3268),
    ("46", 3268), ("47", 3268), ("50", 3268), ("51", 3268), ("52", 3268), ("53", 3268),
    ("54", 3268), ("55", 3268), ("56", 3268), ("57", 3268), ("58", 3268),
    ("70", 7200), ("71", 7200), ("72", 7200), ("73", 7200), ("74", 7200),
    ("90", 7200), ("91", 7200), ("92", 7200), ("93", 7200),
    ("A0", 7200), ("A1", 7200), ("A2", 7200), ("A3", 7200),
)


def test_every_fhs_row_has_a_code():
    from faxbridge.core.fax import dialect, status, t32
    assert [h for h, _ in FHS_CODES] == [row[:2] for row in t32.CLASS20["hangup_text"][0].split("\n")[1:]]
    d = t32.CLASS20
    for h, code in FHS_CODES:
        assert status.from_hangup(int(h, 16), d["hangup_code"]) == code, h
        e = dialect.describe_hangup(int(h, 16), d["hangup_text"])
        assert e[0] == h and e[1] is not None and e[2] != "Unknown hang-up code", e
    assert dialect.describe_hangup(0xEE, d["hangup_text"]) == ("EE", None, "Unknown hang-up code")
    assert status.from_hangup(0xEE, d["hangup_code"]) == 7200


def test_every_fhs_row_ends_a_call_with_its_code():
    for h, code in FHS_CODES:
        r = Rig(C20)
        op = pages_of(PAGE)
        r.send("5551234", op)
        r.expect("AT+FIS=1,3,0,2,0,0,0,0\r")
        r.say(OK)
        r.expect("ATDT5551234\r")
        r.say("\r\n+FCO\r\n\r\n+FHS:%s\r\n" % h + OK)
        e = r.end()
        assert e["code"] == code, (h, e)
        assert e["hangup"][0] == h and e["reason"] == "+FHS:" + h, e


def test_unreadable_fhs_is_unknown():
    r = Rig(C20)
    r.send("5551234", pages_of(PAGE))
    r.say(OK)
    r.say("\r\n+FCO\r\n\r\n+FHS:zz\r\n" + OK)
    e = r.end()
    assert e["code"] == 7200 and e["hangup"] is None, e



def test_names_that_are_no_rows_name_are_ignored():
    # dialect "responses" is one str of names and role digits: a line whose name runs into a
    # digit, into the next row or past the end, or is another dialect's, has no role
    r = Rig(C20)
    r.send("5551234", pages_of(PAGE))
    r.expect("AT+FIS=1,3,0,2,0,0,0,0\r")
    r.say(OK)
    r.expect("ATDT5551234\r")
    r.say("\r\n+FET7:1\r\n\r\n+FCO1 +FHS:0\r\n\r\n+FHS2:0\r\n\r\n+FCON\r\n\r\n+F\r\n" + OK)
    r.expect("AT+FKS\r")              # no +FCO among them: not a fax call (9001), hung up
    r.say(OK)
    e = r.end()
    assert e["code"] == 9001 and e["hangup"] is None, e

# ---- fclass "auto": AT+FCLASS=? and class_order ------------------------------------------

def auto(listing, order=None):
    cfg = {"fclass": "auto"}
    if order:
        cfg["class_order"] = order
    r = Rig(cfg, boot=False)
    r.expect("AT+FCLASS=?\r")
    r.say("\r\n%s\r\n" % listing + OK)
    return r


def test_auto_picks_by_class_order():
    for listing, order, want in (("0,2", None, "2"), ("0,2.0", None, "2.0"),
                                 ("0,2,2.0", None, "2.0"), ("0,2,2.0", ("2", "2.0"), "2"),
                                 ("(0,1,2,2.0)", ("2",), "2"), ("0,1,2.0,8", None, "2.0"),
                                 ("x" * 300 + "\r\n0,2", None, "2")):     # the last line is the list
        r = auto(listing, order)
        assert r.m.fclass == want, (listing, order)
        assert r.kinds("modem")[0] == {"state": "class", "class": want}
        cmds = init_list(r)
        assert cmds[1] == ("AT+FCLASS=%s\r" % want).encode(), cmds
        assert r.m.state_name() == "idle"


def test_auto_with_no_class_of_the_order_waits_and_asks_again():
    r = auto("0,1", ("2.0", "2"))
    assert r.m.fclass is None and r.m.state_name() == "reset_wait"
    assert r.kinds("modem")[0]["state"] == "unsupported"
    r.tick(30)
    r.expect("\x10\x03\rATZ\r")
    r.say(OK)
    r.expect("AT+FCLASS=?\r")                          # asked again
    r.say("\r\n0,2.0\r\n" + OK)
    assert r.m.fclass == "2.0"


def test_auto_error_and_silence():
    r = Rig({"fclass": "auto"}, boot=False)
    r.take()
    r.say("\r\nERROR\r\n")                              # a modem without +FCLASS=?: no class
    assert r.m.state_name() == "reset_wait"
    r = Rig({"fclass": "auto", "cmd_timeout": 5}, boot=False)
    r.take()
    r.tick(6)
    assert r.m.state_name() == "reset" and r.take().endswith(b"ATZ\r")


def test_bad_class_config_is_refused():
    from faxbridge.core.fax.class2 import Class2
    for cfg in ({"fclass": "1"}, {"fclass": "auto", "class_order": ()},
                {"fclass": "auto", "class_order": ("2", "1.0")}):
        try:
            Class2(cfg)
            raise AssertionError("accepted %r" % (cfg,))
        except ValueError:
            pass


def test_class2_dialect_unchanged_by_default():
    r = Rig(boot=False)
    cmds = init_list(r)
    assert cmds[1] == b"AT+FCLASS=2\r" and r.m.fclass == "2"
