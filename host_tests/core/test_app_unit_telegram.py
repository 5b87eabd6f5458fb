"""Telegram lines on the UART (app/unit.py uart_telegram, fed by core/cafis/line.py): each
line's verdict or cmd/error, and a full outbox never kills the telegram task (its death
restarts the whole unit); Unit.telegram's verdict and abnormal report. Both runtimes."""
import json

import cafis_helpers as h
from support import allocated, tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit
from faxbridge.core.cafis.line import Line
from faxbridge.core.mqtt import contract
from faxbridge.core.mqtt.outbox import OutboxFull


class Port:
    name = "test"

    def __init__(self):
        self.flash = tmpdir("uart") + "/"

    def ticks_ms(self):
        return 0

    def time(self):
        return 1700000000


class Link:
    """Records events as the payload the real link builds before event() returns (so a
    buffer reused by the next telegram is read in time); refuses them all (OutboxFull) when full."""

    def __init__(self, full=False):
        self.full = full
        self.events = []

    def event(self, suffix, fields, cls=None):
        if self.full:
            raise OutboxFull("outbox full: 0 bytes, 0 events held")
        self.events.append((suffix, json.loads(contract.event("u1", len(self.events) + 1, fields))))


def _unit(full=False):
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    u = Unit(Port(), cfg)
    u.link = Link(full)
    tc = cfg["telegram"]
    return u, Line(tc["sender"], tc["center"])


def _lines(u, ln, data):
    i = 0
    while True:
        i = ln.feed(data, i)
        if i < 0:
            return
        u.uart_telegram(ln)


def test_each_line_gets_its_verdict_or_cmd_error():
    u, ln = _unit()
    _lines(u, ln, b"\xff\xfe:A1 3030\nzz\n" + b"30" * 2000 + b"\n")
    assert [e[0] for e in u.link.events] == ["cafis/verdict", "cmd/error", "cmd/error"], u.link.events
    assert u.link.events[0][1]["verdict"] == "discard"  # no registry configured in this unit
    assert u.link.events[0][1]["ref"] == "uart-1-1"
    assert [(e[1]["reason"], e[1]["detail"][:20]) for e in u.link.events[1:]] == [
        ("bad_field", "telegram line is not"), ("too_large", "telegram line longer")]
    assert u.counters["telegrams"] == 1


def test_a_full_outbox_drops_the_answer_not_the_task():
    u, ln = _unit(full=True)
    _lines(u, ln, b"3030\ncenter:A1 zz\n")           # a verdict, then a cmd/error, both refused
    assert u.counters["telegrams"] == 1 and u.link.events == []


def test_uart_telegrams_are_checked_and_each_abnormal_report_is_its_own():
    """Two rejected requests in a row: each verdict carries its own report (the Checker's one
    report buffer is read into the payload before the next telegram), then an accept."""
    u, ln = _unit()
    u.checker = h.checker()
    bad_seq = h.center_tel((("seq", "00012X"),))
    bad_date = h.center_tel((("route", "0003"), ("org_date", "32")))
    good = h.center_tel((("route", "0004"),))
    data = b"".join(b"center:A " + bytes(t).hex().encode() + b"\n" for t in (bad_seq, bad_date, good))
    _lines(u, ln, data)
    ev = [e[1] for e in u.link.events]
    assert [(e["verdict"], e["code"], e["rule"]) for e in ev] == [
        ("abnormal_report", "C58", "3.3.4-2 #3"), ("abnormal_report", "C58", "3.3.4-2 #10"),
        ("accept", None, None)], ev
    want = [bytes(h.checker().report(t, h.checker().check(t, "center", "A"))).hex() for t in (bad_seq, bad_date)]
    assert [ev[0]["detail"], ev[1]["detail"]] == want and ev[2]["detail"] is None
    assert want[0] != want[1] and want[0].startswith(bytes(bad_seq[:43]).hex())
    assert [e["ref"] for e in ev] == ["uart-1-1", "uart-1-2", "uart-1-3"]
    assert u.counters["verdicts"] == {"abnormal_report": 2, "accept": 1}


def test_a_telegram_is_checked_on_its_first_n_bytes_only():
    u, _ = _unit()
    u.checker = h.checker()
    buf = bytearray(1100)
    t = h.center_tel()
    buf[:len(t)] = t
    u.telegram(buf, "center", "A", "mqtt", "r1", len(t))
    u.telegram(buf, "center", "A", "mqtt", "r2")                 # all 1100 bytes: too long, C03
    ev = [e[1] for e in u.link.events]
    assert [(e["ref"], e["verdict"], e["code"]) for e in ev] == [("r1", "accept", None),
                                                                  ("r2", "abnormal_report", "C03")], ev


class _Quiet:
    """A link that drops events (the allocation tests measure the unit alone)."""

    def event(self, suffix, fields, cls=None):
        pass


def _quiet_unit():
    """(a unit with the example checker and a _Quiet link, a center telegram it rejects)."""
    u, _ = _unit()
    u.checker = h.checker()
    u.link = _Quiet()
    return u, h.center_tel((("seq", "00012X"),))


def test_a_rejected_telegram_allocates_only_its_verdict_fields():
    """MicroPython: Unit.telegram of a rejected telegram allocates nothing: the verdict's
    fields are contract.cafis_verdict's one list, filled in place (a tuple of them was 128 B
    on this 64-bit port), the report goes into the Checker's buffer (the link is left out
    here)."""
    u, bad = _quiet_unit()
    u.telegram(bad, "center", "A", "mqtt", "r0")
    used = allocated(lambda: u.telegram(bad, "center", "A", "mqtt", "r1"))[0]
    if used is None:     # CPython: no gc.mem_alloc
        return
    assert used == 0, used


def test_a_telegram_command_allocates_no_more_than_its_check():
    """MicroPython: Unit._on_command of a cmd/telegram (the command tuple the inbox hands the
    link's handler) allocates what Unit.telegram does and nothing more: the modules a fax or
    cancel refusal needs are not imported on a telegram (a function's from-import allocates,
    32 B on this 64-bit port)."""
    u, bad = _quiet_unit()
    center = u.cfg["telegram"]["center"] or None
    cmd = ("telegram", bad, "center", "r1")
    u._on_command(cmd)
    u.telegram(bad, "center", center, "mqtt", "r1")
    used = [allocated(lambda: u._on_command(cmd))[0],
            allocated(lambda: u.telegram(bad, "center", center, "mqtt", "r1"))[0]]
    if used[0] is None:  # CPython: no gc.mem_alloc
        return
    assert used[0] == used[1], used


def test_a_telegram_commands_whole_path_allocates_little():
    """issue 13: a cmd/telegram/center/<ref> PUBLISH fed to a connected link whose handler is
    the unit's (Inbox.on_publish_start .. on_publish_end, Unit._on_command, Unit.telegram, the
    verdict into the outbox's file, the seen slot, the PUBACK queued) allocated 1 120 B per
    abnormal telegram on the 64-bit unix port (collector off; the session's and the codec's
    224 B in it): its topic suffix, sender, ref and seen key were new strings, the route a
    tuple, the window's lookup a pattern. Read in place now: the ref's str alone (96 B) at
    its start; 736 B in all, then 448 B: the verdict's fields filled in a list of the
    contract's (its tuple 128 B), the record written in place and by offset (the payload's
    view, the suffix's copy, the write's view: 96 B), the PUBACK into the session's buffer
    (64 B). What is left: the inbox's (the ref's text, the command tuple and the telegram's
    copy, the body's view: 320 B), the fed packet's, the topic's and the payload's views
    (96 B), the record's CRC view (32 B).
    A redelivery of the same ref is acknowledged without a second answer."""
    from mqtt_helpers import encode_publish

    from faxbridge.app import store
    from faxbridge.app.link import Link as RealLink
    from faxbridge.app.outbox_store import FileStore
    from faxbridge.app.seen import Seen
    u, bad = _quiet_unit()
    d = tmpdir("tpath")
    store.makedirs(d + "/outbox")
    ln = RealLink("u1", "127.0.0.1", 1883, FileStore(d + "/outbox"), seen=Seen(d + "/seen", 64))
    ln.on_command = u._on_command
    u.link = ln
    s = ln.session
    s.start(0)
    s.take()
    s.feed(b"\x20\x02\x00\x00", 0)
    ln._handle(0)
    s.take()
    used = []
    for i in range(4):
        pkt = encode_publish("faxbridge/u1/cmd/telegram/center/r%d" % i, bad, 1, False, False, i + 1)
        used.append(allocated(lambda: s.feed(pkt, 1))[0])
        s.take()
    pkt = encode_publish("faxbridge/u1/cmd/telegram/center/r2", bad, 1, False, False, 9)
    s.feed(pkt, 1)      # the sender sends r2 again: acknowledged, not answered again
    assert [c for c in s.take() if type(c) is not int] == [b"\x40\x02\x00\x09"]
    assert ln.outbox.last == 4 and ln.redelivered == 1 and u.counters["telegrams"] == 4
    if used[0] is not None:
        assert max(used[1:]) <= 448, used
