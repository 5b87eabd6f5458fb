"""Class 2 machine: bad results, dead modems, image errors, cancel, and the transition table
itself (both runtimes; seed 001, issue 7 item 8, issue 15)."""
from fax_helpers import (CONNECT, FCON, OK, PAGE, STUFFED, BufSink, Rig, connect, hang_up, pages_of, start_receive,
                         start_send)


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
    e = hang_up(r)
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
    e = hang_up(r)
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
    e = hang_up(r)
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
    e = hang_up(r)
    assert e["code"] == 403 and e["pages"] == 1


def test_transition_table_is_well_formed():
    from faxbridge.core.fax import c2call, c2core
    t = c2core.TABLE
    names = c2core.STATE_NAMES
    assert len(t) % 3 == 0
    seen = []
    ALL, OK, ANY, TIMEOUT = 31, 1, 5, 6      # c2core's private _ALL, _OK, _ANY, _TIMEOUT (>> 5)
    assert len(names) <= ALL, len(names)     # a state numbered 31 would be read as _ALL (5 bits)
    gone = 1 << c2core.INIT | 1 << names.index("classq") | 1 << c2core.HANGUP   # _GONE: the guard's
    for k in range(0, len(t), 3):
        key, action, nxt = t[k:k + 3]
        assert 0 <= key < 512, k                 # state bits 0-4, event 5-7, guard bit 8
        state, event, guard = key & 31, key >> 5 & 7, key >> 8
        assert state == ALL or 0 < state < len(names), k
        assert event in (1, 2, 3, ANY, TIMEOUT) and guard in (0, 1), k
        assert callable(getattr(c2call, action)) if action else nxt & (nxt - 1) == 0, (k, action)  # None: one state
        assert (state, event) not in seen, ("dead row", names[state], event)
        assert 0 < nxt < 1 << len(names) and not nxt & 1, (action, nxt)    # never back to "off"
        assert not guard or nxt & gone == gone, (action, "the guard's states missing")
        seen.append((state, event))
    assert (ALL, TIMEOUT) == seen[-1]
    # every state that sends a command has a row for its results
    for st in (c2core.INIT, c2core.SETUP, c2core.DIAL, c2core.FDT, c2core.TXEND, c2core.FET,
               c2core.ANSWER, c2core.FDR, c2core.RXPOST, c2core.FPTS, c2core.HANGUP):
        assert (st, ANY) in seen or (st, OK) in seen, names[st]


def test_a_next_state_column_that_drifts_from_its_action_is_caught():
    """The rig checks every dispatch against TABLE's next states: a row claiming the probe's
    timeout leads to IDLE (its action, reset, goes to RESET) fails the first probe unanswered.
    (A row without an action goes to its column's one state: nothing to drift from.)"""
    from faxbridge.core.fax import c2core
    good = c2core.TABLE
    k = 0
    probe = c2core.STATE_NAMES.index("probe")   # _PROBE: private
    while good[k] != probe | 6 << 5:            # _PROBE | _TIMEOUT
        k += 3
    assert good[k + 1] == "reset" and good[k + 2] == 1 << c2core.RESET
    c2core.TABLE = good[:k + 2] + (1 << c2core.IDLE,) + good[k + 3:]
    try:
        r = Rig({"idle_check": 60})
        r.tick(61)
        r.expect("AT\r")
        try:
            r.tick(6)                           # no answer within cmd_timeout (5 s)
            caught = None
        except AssertionError as e:
            caught = str(e)
    finally:
        c2core.TABLE = good
    assert caught and "probe" in caught and "reset" in caught, caught
    r = Rig({"idle_check": 60})                 # the real column passes
    r.tick(61)
    r.expect("AT\r")
    r.tick(6)
    assert r.m.state_name() == "reset"
    r.say(OK)                                   # ATZ answered: the init list again
    assert r.m.state_name() in ("init", "classq")
    r = Rig({"idle_check": 60})                 # the probe's OK row (no action): idle
    r.tick(61)
    r.expect("AT\r")
    r.say(OK)
    assert r.m.state_name() == "idle"


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
    d["responses"] = d["responses"].replace("+FHNG", "+FHS")   # names and role digits, one str
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


def test_ath_refused_ends_the_call():
    """ERROR to AT+FK: ATH; ERROR to ATH too (here the ATH after EOP): the call ends, no third
    command (c2call.finish; before issue 15 the second ATH was sent again)."""
    r = Rig()
    start_send(r, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=2\r")
    r.say("\r\n+FPTS:1\r\n" + OK)
    r.expect("ATH\r")
    r.say("\r\nERROR\r\n")
    assert r.end()["code"] == 0
    assert r.take().startswith(b"ATE0V1Q0\r")         # the init list, not ATH again


def test_unexpected_results_in_every_call_state_end_the_call():
    """`lost` rows, one state at a time (the rig checks each against TABLE's next states)."""
    no_carrier = "\r\nNO CARRIER\r\n"
    r = Rig()                                  # fdt: NO CARRIER -> 488
    start_send(r, PAGE)
    r.say(FCON)
    r.expect("AT+FDT\r")
    r.say(no_carrier)
    assert r.end()["code"] == 488
    r = Rig()                                  # txend: BUSY -> 205001, AT+FK
    start_send(r, PAGE)
    connect(r)
    r.take()
    r.say("\r\nBUSY\r\n")
    r.expect("AT+FK\r")
    r.say(OK)
    assert r.end()["code"] == 205001
    r = Rig()                                  # fet: NO CARRIER -> 488
    start_send(r, PAGE)
    connect(r)
    r.take()
    r.say(OK)
    r.expect("AT+FET=2\r")
    r.say(no_carrier)
    assert r.end()["code"] == 488
    for after_page in (False, True):           # fdr, rxpost: NO CARRIER -> 488
        r = Rig(sink=BufSink())
        start_receive(r)
        if after_page:
            r.say(b"p\x10\x03")
        else:
            r.take()
            r.say(b"\x10\x03\r\n+FPTS:1\r\n\r\n+FET:0\r\n" + OK.encode())
            r.expect("AT+FDR\r")
        r.say(no_carrier)
        assert r.end()["code"] == 488, after_page
    r = Rig({"idle_check": 60})                # probe: ERROR is an answer too
    r.tick(61)
    r.expect("AT\r")
    r.say("\r\nERROR\r\n")
    assert r.m.state_name() == "idle" and r.take() == b""
