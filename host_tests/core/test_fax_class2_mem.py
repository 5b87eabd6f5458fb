"""What the Class 2 driver allocates per line and per call (issue 13: the unit lives in 64 KB
of heap). On MicroPython: gc.mem_alloc deltas with the collector off (kept + garbage), 64-bit
unix port; the bounds are about twice today's figures and below the figures before the driver
reused its call session and parsed +F lines in place (docs/fax.md, "Memory"). On CPython the
same dialogues run and their results are checked."""
import gc

import fax_helpers as h

from faxbridge.core.fax import dial

MP = hasattr(gc, "mem_alloc")


def _cost(fn):
    """Bytes allocated by fn() with the collector off (0 on CPython)."""
    if not MP:
        fn()
        return 0
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        fn()
        return gc.mem_alloc() - a
    finally:
        gc.enable()


def _send_call(r):
    """One page sent, confirmed, the call ended and the modem initialised again."""
    h.start_send(r, h.PAGE)
    h.connect(r)
    r.take()
    r.say(h.OK)
    r.expect("AT+FET=2\r")
    r.say("\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + h.OK)
    assert r.end()["code"] == 0
    r.boot()


def _dial_check():
    """The dial policy's share of send() (core/fax/dial.py: not the driver's)."""
    g = h.Rig(boot=False).m.cfg
    p = (g["deny"], g["allow"], g["max_len"], g["outside_prefixes"], g["country"])
    return _cost(lambda: dial.check("5551234", *p))


def test_a_whole_send_dialogue_allocates_a_bounded_amount():
    r = h.Rig()
    _send_call(r)                  # warm: modules, qstrs, the rig's own lists
    used = _cost(lambda: _send_call(r)) - _dial_check()
    # 19.8 KB before (a Session per call, a tuple and three copies per line); 13.7 KB after
    assert used < 16000, used


def test_a_whole_receive_dialogue_allocates_a_bounded_amount():
    sink = h.BufSink()
    r = h.Rig(sink=sink)

    def call():
        h.start_receive(r)
        r.expect("\x12")
        r.say(h.STUFFED)
        r.say("\r\n+FPTS:1\r\n\r\n+FET:2\r\n" + h.OK)
        r.expect("AT+FDR\r")
        r.say("\r\n+FHNG:0\r\n" + h.OK)
        assert r.end()["code"] == 0, r.end()
        r.boot()
    call()
    used = _cost(call)
    assert sink.pages[0] == h.PAGE
    assert used < 13500, used     # 17.2 KB before, 10.8 KB after (the Rig's copies included)


def test_one_line_allocates_little():
    r = h.Rig()
    _send_call(r)
    r.tick(61)                                     # the idle probe: "AT"
    r.expect("AT\r")
    ok = h.OK.encode()
    used = _cost(lambda: r.m.feed(ok, r.t))
    assert r.m.state_name() == "idle"
    assert used < 250, used                         # 320 B before, 128 B after
    h.start_send(r, h.PAGE)
    r.say(h.FCON)
    r.expect("AT+FDT\r")
    line = b"\r\n+FDCS:1,3,0,2,0,0,0,0\r\n"
    used = _cost(lambda: r.m.feed(line, r.t))
    assert r.m.sess.dcs == (1, 3, 0, 2, 0, 0, 0, 0)
    assert used < 800, used                         # 1248 B before, 416 B after
    dcs = r.m.sess.dcs
    used = _cost(lambda: r.m.feed(line, r.t))      # the same +FDCS again (a page's): no tuple
    assert r.m.sess.dcs is dcs
    assert used < 320, used                         # 416 B before, 288 B after
    line = b"\r\n+FPTS:3\r\n"
    used = _cost(lambda: r.m.feed(line, r.t))
    assert r.m.sess.ppr == 3
    assert used < 400, used                         # 544 B before, 224 B after


def test_commands_are_made_in_place_unless_one_is_still_queued():
    """An AT command was a str and its bytes (96 B on the 64-bit port); it is made in the line
    reader's command buffer (a 32 B view); a second one queued before the first is written
    is new bytes, and both go out intact."""
    r = h.Rig(boot=False)
    assert r.take() == b"ATE0V1Q0\r"
    r.m.feed(b"\r\nOK\r\n\r\nOK\r\n", r.t)     # two answers in one read: two commands queued
    out = []
    while True:
        b = r.m.next_output(r.t)
        if not b:
            break
        out.append(bytes(b))
    assert out == [b"AT+FCLASS=2\r", b"ATS0=0\r"], out
    r.say(h.OK)
    r.expect("AT+FBOR=0\r")
    ok = h.OK.encode()
    used = _cost(lambda: r.m.feed(ok, r.t))
    assert r.m._wq and bytes(r.m._wq[0]) == b"AT+FCR=1\r"
    assert used < 128, used                         # 160 B before, 96 B after


def test_the_session_is_one_object_reused_and_keeps_no_page_io_between_calls():
    r = h.Rig()
    s = r.m._s
    _send_call(r)
    assert r.m.sess is None and r.m._s is s
    assert s.src is None and s.io is None           # the page source, the page opener / sink
    _send_call(r)
    assert r.m._s is s and s.npprs == 1 and s.pprs[0] == 1 and s.dir == "tx"
    # its fields fill an instance table of 23 slots (12 -> 17 -> 23 -> 29 on MicroPython)
    assert len(s.__dict__) <= 23, sorted(s.__dict__)


def test_asking_for_events_when_there_are_none_allocates_nothing():
    r = h.Rig()
    assert list(r.m.events()) == []
    assert _cost(r.m.events) == 0          # the modem loop asks every pass (64 B each before)
    r.say("\r\nRING\r\n")
    assert r.kinds("ring") == [{"count": 1}]


def test_events_come_in_two_lists_that_take_turns():
    """events() made a new list each time it had events (32 B and its growth on the 64-bit
    port); two lists take turns, each valid until the next call."""
    r = h.Rig()
    m = r.m
    m.emit("a", {"n": 1})
    first = m.events()
    assert first == [("a", {"n": 1})]
    m.emit("b", {"n": 2})
    m.emit("c", {"n": 3})
    assert _cost(lambda: m.events()) == 0          # it had events: handed out, none made
    m.emit("d", {"n": 4})
    third = m.events()
    assert third is first and third == [("d", {"n": 4})]
    assert m.events() == ()


def test_a_hang_up_code_is_described_without_splitting_its_table():
    """The end event's (code, phase, text): the phase rows read in place (dialect.describe_hangup);
    only the result's strings are made. Table 5-5 and T.32's alike."""
    from faxbridge.core.fax import dialect, t32
    for code, t, want in ((0, None, (0, "call", "Normal and proper end of connection")),
                          (45, None, (45, "C", "Transmit Phase C Hangup Codes")),
                          (0xA1, t32.CLASS20["hangup_text"], ("A1", "rD", "RSPREC invalid response received"))):
        got = []
        used = _cost(lambda: got.append(dialect.describe_hangup(code, t)))
        assert got[0] == want, got
        assert used < 500, (code, used)            # 640-768 B before (a split per row), 352 B, 288 B codes in place


def test_the_driver_and_its_modules_stay_within_their_tables():
    """An instance's attributes and a module's names live in a hash table that grows 12 -> 17
    -> 23 -> 29 -> 37 slots (MicroPython): the driver keeps 23 fields (the unstuffing cap is
    len(_full[3]) - 1, not a field; receiving's flags one int), c2core and c2call 29 names or
    fewer (states no other module reads are private; near-twin actions are one), class2 12
    (what only __init__ uses imported there). The modules' counts are MicroPython's (CPython's
    module dict holds more)."""
    from faxbridge.core.fax import c2call, c2core, class2
    from faxbridge.core.fax.class2 import Class2
    m = Class2()                   # not the Rig's: it adds a checking _dispatch of its own
    m.start(0)
    assert len(m.__dict__) <= 23, sorted(m.__dict__)
    assert not hasattr(c2core, "PROBE") and not hasattr(c2core, "CLASSQ")
    if MP:
        assert len(c2core.__dict__) <= 29, sorted(c2core.__dict__)
        assert len(c2call.__dict__) <= 29, sorted(c2call.__dict__)
        assert len(class2.__dict__) <= 12, sorted(class2.__dict__)    # a table of 12, not 17


def test_an_end_the_heap_refuses_keeps_its_decided_code_in_the_session():
    """rv24: the end's record (evidence.end_info) refused: the MemoryError goes to the caller,
    the call's decided code (an int) left in the session's outcome for it (app/faxline.py
    _restart: the job ends with it, not -3), nothing made for it."""
    from faxbridge.core.fax import evidence
    r = h.Rig()
    h.start_send(r, h.PAGE)
    h.connect(r)
    r.take()
    r.say(h.OK)
    r.expect("AT+FET=2\r")
    real = evidence.end_info

    def refused(*a):
        raise MemoryError("memory allocation failed, allocating 208 bytes")
    evidence.end_info = refused
    try:
        r.m.feed(b"\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n\r\nOK\r\n", r.t)
        raise AssertionError("the refusal did not reach the caller")
    except MemoryError:
        pass
    finally:
        evidence.end_info = real
    s = r.m.sess
    assert r.m.in_call() and s.outcome == 0 and s.confirmed == 1
