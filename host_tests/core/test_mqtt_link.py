"""app/link.Link's command handling without a network (both runtimes): packets fed to its
session as a broker would send them; answers read from its outbox, PUBACKs from the session."""
import gc
import json

from mqtt_helpers import (rec, PUBACK, PUBLISH, MemStore, decode_publish, echo_waiting, encode_publish,
                          packets, wire)
from support import allocated, raises, tmpdir

from faxbridge.app import echo
from faxbridge.app.link import Link
from faxbridge.app.seen import Seen
from faxbridge.core.mqtt import codec, commands, contract, jsonw, outbox

R = "faxbridge/u1/"


def _up(ln):
    """The link connected: CONNECT taken, CONNACK fed, the SUBSCRIBE (and what the pump sent)
    taken; returns what was sent after the CONNACK."""
    s = ln.session
    s.start(0)
    s.take()
    s.feed(b"\x20\x02\x00\x00", 0)
    ln._handle(0)
    return s.take()


def _link(capacity=32768, seen=True, verify=False, **kw):
    ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=verify, capacity=capacity,
              seen=Seen(tmpdir("link") + "/seen", 64) if seen else None, **kw)
    got = []

    def handle(cmd):
        got.append(cmd)
        if cmd[0] == "telegram":
            ln.event(contract.CAFIS_VERDICT, contract.cafis_verdict(cmd[3], "accept", None, "r"))
        elif cmd[1] == "boom":
            raise ValueError("handler bug")
        elif cmd[1] == "oom":
            raise MemoryError("memory allocation failed, allocating 752 bytes")
    ln.on_command = handle
    _up(ln)
    return ln, got


def _pub(ln, topic, payload, pid=1, dup=False, retain=False, split=None):
    pkt = encode_publish(R + topic, payload, 1, retain, dup, pid)
    if split is None:
        ln.session.feed(pkt, 1)
    else:
        for i in range(0, len(pkt), split):
            ln.session.feed(pkt[i:i + split], 1)
    return [(t, bytes(b)) for t, _f, b in packets(wire(ln.session, ln.outbox))]


def _events(ln):
    """(class, suffix, payload) of the events stored; the class byte's bits 4-6 name the topic
    (1 + its index in contract.EVENT_TOPICS: the pump reads headers alone)."""
    out = []
    for r in ln.outbox.store.recs:
        sfx = str(r[2], "utf-8")
        assert (r[1] >> 4) & 7 == contract.EVENT_TOPICS.index(sfx) + 1, r
        out.append((r[1] & 0x8F, sfx, json.loads(r[3])))
    return out


def _puback(pid):
    return (PUBACK, bytes((pid >> 8, pid & 0xFF)))


def _subscribe_sent(verify, on_error=None):
    ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=verify, on_error=on_error)
    return bytes(b"".join(bytes(c) for c in _up(ln) if type(c) is not int)), ln


def test_subscribes_cmd_hash():
    out, ln = _subscribe_sent(False)
    assert codec.encode_subscribe(ln._subpid, ((R + "cmd/#", 1),)) in out
    err = []
    out, ln = _subscribe_sent(True, err.append)   # the echo check reads the unit's own events back
    assert codec.encode_subscribe(ln._subpid, ((R + "cmd/#", 1), (R + "fax/+", 0), (R + "cafis/+", 0),
                                               (R + "availability", 0))) in out
    ln.session.feed(bytes((0x90, 6, ln._subpid >> 8, ln._subpid & 255, 1, 0x80, 0, 0x80)), 1)
    assert err == []
    ln._handle(1)
    assert err == ["broker refused the subscription to faxbridge/u1/fax/+ (SUBACK 0x80: ACL?)",
                   "broker refused the subscription to faxbridge/u1/availability (SUBACK 0x80: ACL?)"]


def test_the_subscribe_at_connection_up_is_written_after_the_root_without_joined_filters():
    """The SUBSCRIBE is written with each filter after the link's root (codec.encode_subscribe's
    root): no list of pairs, no joined filter strings; _handle at CONNACK allocated 1 408 B
    with the echo check (MicroPython, 64-bit), 448 now. The filters are the contract's."""
    from faxbridge.app import link
    assert link._SUBS[0] == (contract.CMD_FILTER.encode(), 1)
    assert link._SUBS[3] == (contract.AVAILABILITY.encode(), 0)
    if not hasattr(gc, "mem_alloc"):
        return
    for verify, most in ((True, 640), (False, 480)):
        ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=verify)
        s = ln.session
        s.start(0)
        s.take()
        s.feed(b"\x20\x02\x00\x00", 0)
        n, _ = allocated(lambda: ln._handle(0))
        assert n <= most and ln._subpid, (verify, n)


def test_telegram_answered_then_acknowledged_with_the_senders_ref():
    ln, got = _link()
    out = _pub(ln, "cmd/telegram/terminal/R7", b"\x0e\x30\x0f", pid=9)
    assert out == [_puback(9)]
    assert got[0] == ("telegram", b"\x0e\x30\x0f", "terminal", "R7")
    ev = _events(ln)
    assert [(c, s, e["ref"]) for c, s, e in ev] == [(contract.ANSWER, "cafis/verdict", "R7")]


def test_any_split_gives_the_same_answer():
    pkt_len = len(encode_publish(R + "cmd/cancel", b'{"job":"J1","x":1}', 1, False, False, 3))
    for split in range(1, pkt_len + 1):
        ln, got = _link(seen=False)
        assert _pub(ln, "cmd/cancel", b'{"job":"J1","x":1}', pid=3, split=split) == [_puback(3)]
        ev = _events(ln)
        assert [(e["cmd"], e["reason"], e["ref"]) for _c, _s, e in ev] == [("cancel", "unknown_field", "J1")]


def test_unknown_too_large_bad_ref_bad_topic_answered():
    ln, got = _link()
    _pub(ln, "cmd/reboot", b"now", pid=1)
    _pub(ln, "cmd/telegram", b"t" * (commands.MAX_TELEGRAM + 1), pid=2)
    _pub(ln, "cmd/cancel", b"x" * (commands.MAX_CANCEL + 1), pid=3)
    _pub(ln, "cmd/telegram/center/a;b", b"t", pid=4)
    _pub(ln, "cmd/telegram/R1", b"t", pid=5)
    _pub(ln, "cmd/\xff".encode("latin-1").decode("latin-1"), b"t", pid=6)
    _pub(ln, "cmd/fax", b"{}", pid=7)          # no spool: refused, not dropped
    _pub(ln, "cmd/" + "x" * 300, b"t", pid=8)  # topic longer than the header buffer
    ev = [(e["cmd"], e["reason"]) for _c, _s, e in _events(ln)]
    assert ev == [("reboot", "unknown_command"), ("telegram", "too_large"), ("cancel", "too_large"),
                  ("telegram", "bad_field"), ("telegram", "unknown_command"), ("\xff", "unknown_command"),
                  ("fax", "rejected"), ("?", "unknown_command")], ev
    assert got == [] and all(c == contract.ANSWER for c, _s, _e in _events(ln))


def test_empty_commands_get_no_answer_and_retained_refused_once():
    ln, got = _link()
    assert _pub(ln, "cmd/telegram", b"", pid=1) == [_puback(1)]
    assert _pub(ln, "cmd/cancel", b"", pid=2, retain=True) == [_puback(2)]
    assert _events(ln) == []
    _pub(ln, "cmd/cancel", b'{"job":"J1"}', pid=3, retain=True)
    _pub(ln, "cmd/cancel", b'{"job":"J1"}', pid=4, retain=True)   # after the next boot, say
    ev = _events(ln)
    assert [(e["cmd"], e["reason"]) for _c, _s, e in ev] == [("cancel", "rejected")]
    assert "retained" in ev[0][2]["detail"] and got == []


def test_dup_redelivery_and_repeated_ref_get_no_second_answer():
    ln, got = _link()
    _pub(ln, "cmd/telegram", b"abc", pid=5)
    assert _pub(ln, "cmd/telegram", b"abc", pid=5, dup=True) == [_puback(5)]
    assert len(_events(ln)) == 1 and ln.redelivered == 1
    _pub(ln, "cmd/telegram", b"abc", pid=6)                       # a new command, same bytes
    _pub(ln, "cmd/telegram", b"abd", pid=6, dup=True)             # DUP, but other content: new
    assert len(_events(ln)) == 3
    _pub(ln, "cmd/telegram/center/Q1", b"x", pid=7)
    assert _pub(ln, "cmd/telegram/center/Q1", b"y", pid=8) == [_puback(8)]
    _pub(ln, "cmd/telegram/terminal/Q1", b"x", pid=9)             # another sender's Q1
    assert [e["ref"] for _c, _s, e in _events(ln)][3:] == ["Q1", "Q1"] and len(got) == 5


def test_a_ref_refused_before_its_payload_is_answered_once():
    # a too-large telegram with a ref: its cmd/error is recorded under the ref (the seen
    # window's key is made before the size check), so the ref sent again, now small enough,
    # is only acknowledged
    ln, got = _link()
    _pub(ln, "cmd/telegram/center/Z1", b"x" * (commands.MAX_TELEGRAM + 1), pid=3)
    ev = _events(ln)
    assert len(ev) == 1 and ev[0][1] == contract.CMD_ERROR and ev[0][2]["reason"] == commands.TOO_LARGE
    assert _pub(ln, "cmd/telegram/center/Z1", b"x", pid=4) == [_puback(4)]
    assert len(_events(ln)) == 1 and ln.redelivered == 1 and got == []


def test_a_telegram_with_a_ref_is_taken_in_with_little_heap():
    # issue 13: per telegram, on_publish_start allocated 544 B (the topic split into a list
    # of new strings), 416 B now (64-bit unix port, collector off: the suffix, the ref, the
    # route, the seen key, the window's hash pattern); the key is no longer made again at
    # the answer
    if not hasattr(gc, "mem_alloc"):
        return
    ln, _got = _link()
    start = ln.on_publish_start
    most = []

    def measured(*a):
        most.append(allocated(lambda: start(*a))[0])
    ln.on_publish_start = measured
    for i in range(4):
        _pub(ln, "cmd/telegram/center/r%d" % i, b"00" * 40, pid=i + 2)
    assert len(most) == 4 and max(most) <= 448, most
    assert len(_events(ln)) == 4


def test_no_room_holds_everything_until_room_then_asks_for_a_reconnect():
    ln, got = _link(capacity=8192, seen=False)
    _pub(ln, "cmd/telegram", b"1", pid=1)
    while ln.has_room():   # answers fill the outbox (the broker is away, say)
        ln.event(contract.CAFIS_VERDICT, contract.cafis_verdict("x", "accept", None, "r"), contract.ANSWER)
    n = len(_events(ln))
    assert _pub(ln, "cmd/telegram", b"2", pid=2) == []          # not processed, no PUBACK
    assert _pub(ln, "cmd/cancel", b'{"job":"J"}', pid=3) == []  # nor anything after it
    assert _pub(ln, "cmd/telegram", b"", pid=4) == []
    assert len(got) == 1 and ln.held == 1 and ln.holding and len(_events(ln)) == n
    ob = ln.outbox
    while ob.depth():
        ob.pump(ln.session, ln.root, 2)
        for t, f, b in packets(wire(ln.session, ln.outbox)):
            if t == PUBLISH:
                ln.session.feed(codec.encode_puback(decode_publish(f, memoryview(b))[5]), 3)
        ln._handle(3)
    ob.poll(3, True)
    assert ln.has_room()
    # a new connection: the broker delivers the held commands again (DUP), now answered
    ln.session.start(4)
    ln.session.feed(b"\x20\x02\x01\x00", 4)
    ln.holding = False   # what run() does for a new connection
    ln._handle(4)
    ln.session.take()
    assert _pub(ln, "cmd/telegram", b"2", pid=2, dup=True) == [_puback(2)]
    assert len(got) == 2


def test_handler_failure_is_answered_rejected():
    ln, got = _link()
    _pub(ln, "cmd/cancel", b'{"job":"boom"}', pid=1)
    ev = _events(ln)
    assert [(e["cmd"], e["reason"], e["ref"]) for _c, _s, e in ev] == [("cancel", "rejected", "boom")]
    assert "handler bug" in ev[0][2]["detail"]
    ln.on_command = None
    _pub(ln, "cmd/cancel", b'{"job":"J2"}', pid=2)
    assert _events(ln)[-1][2]["reason"] == "busy"


def test_no_heap_for_a_command_is_answered_busy_not_rejected():
    ln, _got = _link()
    _pub(ln, "cmd/cancel", b'{"job":"oom"}', pid=1)
    ev = _events(ln)
    assert [(e["cmd"], e["reason"], e["ref"]) for _c, _s, e in ev] == [("cancel", "busy", "oom")]


def test_answer_class_only_for_the_first_event_of_a_command():
    ln, _got = _link()
    ln.on_command = lambda cmd: [ln.event(contract.FAX_STATUS, contract.fax_status("J", -1, "x", False))
                                 for _ in range(2)]
    _pub(ln, "cmd/cancel", b'{"job":"J"}', pid=1)
    assert [c for c, _s, _e in _events(ln)] == [contract.ANSWER, contract.PROGRESS]
    ln.event(contract.CMD_ERROR, contract.cmd_error("telegram", "bad_field", "x"))
    assert _events(ln)[-1][0] == contract.PROGRESS
    try:
        ln.event("cmd/fax", ())
    except ValueError:
        pass
    else:
        raise AssertionError("cmd/fax is not an event topic")
    assert isinstance(outbox.OutboxFull(), Exception)


def test_a_fax_status_is_progress_only_by_its_final_key_being_false():
    # Link.event reads the class of a fax/status from its "final" key alone (the first one):
    # not from a value "final", and a status without the key is a result (never dropped)
    ln, _got = _link()
    for f, cls in ((contract.fax_status("J", -3, "x", False), contract.PROGRESS),
                   (contract.fax_status("J", 0, "final", True, state="final"), contract.RESULT),
                   (("job", "final", "state", "final"), contract.RESULT),
                   (("final", "final"), contract.RESULT),
                   (("final", 0, "final", True), contract.PROGRESS),
                   (("state", "final", "final", False, "code", "final"), contract.PROGRESS),
                   ((), contract.RESULT)):
        ln.event(contract.FAX_STATUS, f)
        assert _events(ln)[-1][0] == cls, f


def test_telemetry_carries_the_outbox_and_link_figures_and_allocates_little():
    # the link's and the outbox's figures go straight into the payload (no tuple of pairs per
    # field): on MicroPython one call allocates the payload and under 640 bytes more (64-bit
    # unix port, collector off; 1057 more with a tuple of pairs built per call)
    ln, _got = _link()
    _pub(ln, "cmd/telegram", b'{"data":"00"}', pid=1)
    ln.errors = 2
    ln.last_error = 'say "x"'
    fields = (("uptime", 86400), ("modem", "idle"), ("jobs", (("done", 100), ("queued", 1))))
    ln.telemetry(fields)
    n = 0
    if hasattr(gc, "mem_alloc"):
        gc.collect()
        gc.disable()
        try:
            a0 = gc.mem_alloc()
            ln.telemetry(fields)
            n = gc.mem_alloc() - a0
        finally:
            gc.enable()
    p = ln.outbox.telemetry
    assert n < len(p) + 640, (n, len(p))
    d = json.loads(p)
    assert (d["seq"], d["tseq"], d["uptime"], d["jobs"]) == (1, ln.tseq, 86400, {"done": 100, "queued": 1})
    assert p.index(b'"jobs"') < p.index(b'"outbox":{"depth":1,') < p.index(b'"link":{"state":"up",')
    assert d["outbox"]["last_seq"] == 1 and d["outbox"]["lost_files"] == 0
    assert d["link"] == {"state": "up", "connects": 1, "errors": 2, "denied": 0, "resent": 0,
                         "held": 0, "redelivered": 0, "last_error": 'say "x"'}


def _read_like_the_link(ln, stream, sizes):
    """Feed stream as Link._reader does: each read into the link's buffer behind the first
    inbox.keep bytes (a command being received stays where it was read), then fed from there."""
    ib = ln
    buf = ln.rxbuf
    mv = memoryview(buf)
    i = j = 0
    while i < len(stream):
        k = ib.keep
        n = min(sizes[j % len(sizes)], len(buf) - k, len(stream) - i)
        j += 1
        assert n > 0, "the buffer is full of a command that is not complete"
        buf[k:k + n] = stream[i:i + n]
        i += n
        ib.at = k
        ib.end = k + n
        ln.session.feed(mv[k:k + n], 1)
        ib.at = -1
    return j   # reads


def test_commands_are_kept_in_the_socket_buffer_at_any_read_split():
    # one buffer for socket reads and a whole command: cancel/telegram payloads up to the
    # 2048-byte limit, several in one read, straddling reads of every size, a read that fills
    # the buffer (the command moves to its start) and one-byte reads
    ln, got = _link()
    assert len(ln.rxbuf) == commands.MAX_TELEGRAM and not hasattr(ln, "cmdbuf")
    lens = (1, 2048, 5, 700, 1500, 2047, 33, 1024, 2048, 300, 64, 1999, 9, 1200)
    sent = []
    stream = bytearray()
    for i, n in enumerate(lens):
        data = bytes((i * 7 + j * 13) % 256 for j in range(n))
        sent.append(data)
        stream += encode_publish(R + "cmd/telegram/center/T%d" % i, data, 1, False, False, i + 1)
    stream += encode_publish(R + "cmd/cancel", b'{"job":"J9"}', 1, False, False, 99)
    for sizes in ((2048,), (1,), (7, 2048, 100), (1000, 13, 2048, 2048, 5), (4096,)):
        del got[:]
        _read_like_the_link(ln, stream, sizes)
        tel = [c for c in got if c[0] == "telegram"]
        assert [bytes(c[1]) for c in tel] == sent, (sizes, [len(c[1]) for c in tel])
        assert [c[3] for c in tel] == ["T%d" % i for i in range(len(lens))]
        assert got[-1] == ("cancel", "J9") and ln.keep == 0
        acks = [p for p in packets(wire(ln.session, ln.outbox)) if p[0] == PUBACK]
        assert len(acks) == len(lens) + 1
        ln.seen = None
        ln.seen = None   # the same pids again in the next round: not redeliveries here


def test_an_echo_head_is_kept_in_the_socket_buffer_across_reads():
    # our own events coming back (verify): only their head is kept (up to the seq), where the
    # read put it, whatever the split; a telegram behind them is still whole
    ln, got = _link(verify=True)
    echo.reset(ln, 0)
    echo.seen(ln, "availability", b"online")
    assert echo_waiting(ln) == []
    stream = bytearray()
    for i, sfx in enumerate(("cafis/verdict", "fax/status", "fax/received")):
        echo.expect(ln, sfx, 40 + i, 0)
        body = contract.event("u1", 40 + i, (("pad", "x" * (300 + 800 * i)),))
        stream += encode_publish(R + sfx, body, 0, False, False, 0)
    stream += encode_publish(R + "cmd/telegram/center/E1", b"t" * 1800, 1, False, False, 5)
    _read_like_the_link(ln, stream, (1900, 3, 2048, 50))
    assert echo_waiting(ln) == []
    assert [bytes(c[1]) for c in got] == [b"t" * 1800] and ln.keep == 0


def test_an_echo_head_that_ends_a_full_read_leaves_the_next_read_room():
    # a read that fills the buffer ends exactly _ECHO_KEEP (100) bytes into an echo: its head
    # moves to the start, so the read after it still has room (a zero-byte read would look like
    # the broker closing the connection)
    ln, got = _link(verify=True)
    echo.reset(ln, 0)
    echo.seen(ln, "availability", b"online")
    assert echo_waiting(ln) == []
    echo.expect(ln, "fax/status", 7, 0)
    pkt = encode_publish(R + "fax/status", contract.event("u1", 7, (("pad", "y" * 400),)), 0, False, False, 0)
    head = len(pkt) - len(contract.event("u1", 7, (("pad", "y" * 400),)))
    tpl = len(encode_publish(R + "cmd/telegram/center/F1", b"", 1, False, False, 1))
    first = encode_publish(R + "cmd/telegram/center/F1", b"f" * (2048 - 100 - head - tpl - 1), 1, False, False, 1)
    stream = first + pkt + encode_publish(R + "cmd/telegram/center/F2", b"g" * 30, 1, False, False, 2)
    assert len(first) + head + 100 == 2048
    _read_like_the_link(ln, stream, (2048,))
    assert echo_waiting(ln) == [] and [bytes(c[1])[:1] for c in got] == [b"f", b"g"]


def test_an_empty_echo_is_not_read_as_the_payload_before_it():
    # a telegram read whole in place, then an empty publish on an echoed topic: the echo has no
    # head (no seq), so fax/status stays pending
    ln, got = _link(verify=True)
    echo.reset(ln, 0)
    echo.seen(ln, "availability", b"online")
    assert echo_waiting(ln) == []
    echo.expect(ln, "fax/status", 3, 0)
    stream = (encode_publish(R + "cmd/telegram/center/Z1", b'{"unit":"u1","seq":9}', 1, False, False, 1)
              + encode_publish(R + "fax/status", b"", 0, False, False, 0))
    _read_like_the_link(ln, stream, (2048,))
    assert len(got) == 1 and echo_waiting(ln) == ["fax/status"]


def test_discovery_configs_go_one_at_a_time_each_after_the_puback_of_the_one_before():
    ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=False, discovery=("homeassistant", "9"))
    _up(ln)
    s = ln.session
    topics = []
    for now in range(1, 40):
        ln._pump(now)
        ln._pump(now)                  # a second wake before the PUBACK sends nothing more
        sent = [bytes(b[2:2 + b[1]]) for t, _f, b in packets(c for c in s.take() if type(c) is not int)
                if t == PUBLISH and bytes(b[2:2 + b[1]]).endswith(b"/config")]
        assert len(sent) <= 1 and s.inflight() <= 2, (sent, s.inflight())   # + availability
        topics += sent
        for _ in range(s.inflight()):
            pid = s._ipid[0]
            s.feed(bytes((0x40, 2, pid >> 8, pid & 255)), now)
            ln._handle(now)
    from faxbridge.core.mqtt import discovery
    assert len(topics) == discovery.count() == len(set(topics)) and ln._disc == -1


def _accepting_link(tag):
    """A link over a file store and a seen window on flash whose every command is answered
    with an accept verdict."""
    from faxbridge.app.outbox_store import FileStore
    d = tmpdir(tag)
    ln = Link("u1", "127.0.0.1", 1883, FileStore(d), capacity=32768,
              seen=Seen(d + "/seen", 64))

    def handle(cmd):
        ln.event(contract.CAFIS_VERDICT, contract.cafis_verdict(cmd[3], "accept", None, "r"))
    ln.on_command = handle
    return ln


def test_the_answer_and_its_seen_slot_are_both_written_before_either_is_synced():
    # a firmware killed between syncing the answer and writing its seen slot answered the
    # broker's redelivery a second time (test_mqtt_exactly_once, kill -9 mid-burst)
    ln = _accepting_link("linksync")
    st = ln.outbox.store
    sn = ln.seen
    log = []
    st_sync, sn_sync, sn_write, st_append = st.sync, sn.sync, sn._write, st.append

    def append(*a):
        log.append("answer written")
        return st_append(*a)

    def write(i):
        log.append("seen written")
        return sn_write(i)

    def ssync():
        log.append("answer synced" if st.dirty else "answer sync (nothing)")
        return st_sync()

    def nsync(force=False):
        log.append("seen synced" if sn.dirty or force else "seen sync (nothing)")
        return sn_sync(force)
    st.append, sn._write, st.sync, sn.sync = append, write, ssync, nsync
    _up(ln)
    del log[:]
    _pub(ln, "cmd/telegram/center/K1", b'{"hex":"00"}', pid=7)
    assert log == ["answer written", "seen written", "answer synced", "seen synced"], log
    assert sn.set_key(99, b"K1") and sn.has_ref() and not st.hold and not sn.hold


def test_a_qos0_command_without_a_ref_gets_no_seen_slot_and_one_sync():
    """issue 15 (telegram latency): a QoS 0 command, not retained and without a ref, cannot come
    again (no packet id to redeliver, no ref to send again): answered once, with no seen slot
    and one flash sync, the answer's (two before). With a ref, or at QoS 1, the slot is kept."""
    from faxbridge.app import outbox_store
    ln = _accepting_link("linkq0")
    sn = ln.seen
    _up(ln)
    syncs = []
    st_sync, sn_sync = outbox_store._sync, sn.sync

    def ssync(f):
        syncs.append("answer")
        return st_sync(f)

    def nsync(force=False):
        if force or sn.dirty:
            syncs.append("seen")
        return sn_sync(force)
    outbox_store._sync, sn.sync = ssync, nsync
    try:
        n0 = sn.n
        ln.session.feed(encode_publish(R + "cmd/telegram", b'{"hex":"00"}', 0), 1)
        assert ln.outbox.last == 1 and sn.n == n0 and syncs == ["answer"], (sn.n, syncs)
        assert not [c for c in ln.session.take() if type(c) is not int]   # QoS 0: no PUBACK
        del syncs[:]
        ln.session.feed(encode_publish(R + "cmd/telegram/center/Z1", b'{"hex":"00"}', 0), 2)
        assert ln.outbox.last == 2 and sn.n == n0 + 1 and sn.set_key(99, b"Z1") and sn.has_ref()
        assert syncs == ["answer", "seen"], syncs
    finally:
        outbox_store._sync = st_sync
    _pub(ln, "cmd/telegram", b'{"hex":"00"}', pid=4)
    assert ln.outbox.last == 3 and sn.n == n0 + 2
    assert _pub(ln, "cmd/telegram", b'{"hex":"00"}', pid=4, dup=True) == [_puback(4)]
    assert ln.outbox.last == 3 and ln.redelivered == 1


def test_an_answer_written_is_synced_even_when_its_seen_slot_cannot_be_written():
    # the seen slot's write fails (flash): the session acknowledges the command anyway
    # (a receiver error), so the answer already written must not stay unsynced
    ln = _accepting_link("linksyncerr")
    st = ln.outbox.store
    sn = ln.seen
    synced = []
    st_sync = st.sync

    def ssync():
        synced.append(st.dirty)
        return st_sync()

    def add(*a):
        raise OSError(28, "no space for the seen slot")
    st.sync, sn.add = ssync, add
    _up(ln)
    s = ln.session
    _pub(ln, "cmd/telegram/center/K2", b'{"hex":"00"}', pid=8)
    assert synced == [True] and not st.dirty, synced
    assert not st.hold and not sn.hold
    assert [e[0] for e in s.events()] == ["error"]
    ln.outbox.close()


def test_an_echo_head_near_the_end_of_a_read_leaves_the_next_reads_room():
    # an echo whose 100-byte head ends one byte before the end of the buffer: kept where it
    # was, the reads for the rest of that echo (~430 bytes) had room for one byte each
    ln, got = _link(verify=True)
    echo.reset(ln, 0)
    echo.seen(ln, "availability", b"online")
    echo.expect(ln, "fax/status", 7, 0)
    body = contract.event("u1", 7, (("pad", "y" * 400),))
    pkt = encode_publish(R + "fax/status", body, 0, False, False, 0)
    head = len(pkt) - len(body)
    tpl = len(encode_publish(R + "cmd/telegram/center/F1", b"", 1, False, False, 1))
    first = encode_publish(R + "cmd/telegram/center/F1", b"f" * (2048 - 101 - head - tpl - 1), 1, False, False, 1)
    stream = first + pkt + encode_publish(R + "cmd/telegram/center/F2", b"g" * 30, 1, False, False, 2)
    assert len(first) + head + 100 == 2047
    reads = _read_like_the_link(ln, stream, (2048,))
    assert echo_waiting(ln) == [] and [bytes(c[1])[:1] for c in got] == [b"f", b"g"]
    assert reads <= 3, reads


def test_an_event_is_stored_without_a_copy_of_its_payload():
    """MicroPython: Link.event has the payload written in place in the store's record buffer
    (before, in the contract's own buffer, then copied): no bytes object the size of the payload is made (a 1500-byte
    payload allocated 1.9 KB in one event before, the pairs and a few small objects now)."""
    if not hasattr(gc, "mem_alloc"):
        return
    from faxbridge.app.outbox_store import FileStore
    ln = Link("u1", "127.0.0.1", 1883, FileStore(tmpdir("linkev") + "/outbox", max_record=2048))
    _up(ln)
    pairs = contract.fax_status("J1", -3, "in progress", False, 1, 2, (("result", "x" * 1400),))
    per = []
    for _ in range(3):
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        ln.event(contract.FAX_STATUS, pairs)
        per.append(gc.mem_alloc() - a0)
        gc.enable()
    st = ln.outbox.store
    assert ln.outbox.last == 3 and len(rec(st)[3]) > 1500
    assert max(per) < 800, per


def test_a_root_longer_than_the_stores_room_still_gets_its_header_in_place():
    """A prefix and a unit id of 64 characters each (the longest the configuration takes) make a
    130-byte root, more than the FileStore's default 80-byte room: the link gives the store
    room for it before the buffer is made, so every send writes its header in place in the
    store's buffer (before, a packet of header and payload was allocated per send: above 2 KB
    with a 2 KB outbox_record)."""
    from faxbridge.app.outbox_store import FileStore
    st = FileStore(tmpdir("linkroot") + "/outbox")
    ln = Link("u" * 64, "127.0.0.1", 1883, st, prefix="p" * 64, verify=False)
    assert len(ln.root) == 130
    _up(ln)
    ln.event(contract.CAFIS_VERDICT, contract.cafis_verdict("r1", "accept", None, "ok"))
    ln._pump(0)
    pid = ln.session.take()[-1]
    pkt, ref, size = ln.outbox.packet(pid, False, ln.root)
    topic, payload = decode_publish(pkt[0] & 0x0F, memoryview(bytes(pkt))[3:])[:2]
    assert topic == ("p" * 64) + "/" + ("u" * 64) + "/cafis/verdict" and b'"seq":1' in bytes(payload)
    assert bytes(pkt) in bytes(st.whole)   # written in the store's buffer, not a packet made for it


def test_events_are_built_in_place_in_the_stores_record_and_read_back_the_same():
    """issue 13: the contract keeps no 2 KB payload buffer; each event's payload is written
    where its record's payload goes in the FileStore's buffer (after the header and suffix):
    every topic's record reads back, after a reopen too, byte for byte as contract.event."""
    from faxbridge.app.outbox_store import FileStore
    d = tmpdir("linkplace") + "/outbox"
    ln = Link("u1", "127.0.0.1", 1883, FileStore(d), verify=False)
    evs = ((contract.FAX_STATUS, contract.fax_status("J1", -3, "in progress", False, 1, 2)),
           (contract.CMD_ERROR, contract.cmd_error("fax", "bad_request", 'say "x"', "r1")),
           (contract.CAFIS_VERDICT, contract.cafis_verdict("T1", "accept", None, "r")),
           (contract.FAX_RECEIVED, contract.fax_received("rx1", 1, "+81", {"vr": 1}, 0, "E", "ok")))
    for sfx, f in evs:
        ln.event(sfx, f)
    ln.outbox.store.close()
    st = FileStore(d)
    st.open()
    for i in range(len(evs)):
        seq, _cls, sfx, payload = rec(st)
        assert (seq, bytes(sfx)) == (i + 1, evs[i][0].encode())
        assert bytes(payload) == contract.event("u1", i + 1, evs[i][1]), (i, bytes(payload))
    assert rec(st) is None
    # one too large for a record is refused before a seq is used, and the next one is whole
    ln = Link("u1", "127.0.0.1", 1883, FileStore(tmpdir("linkplace") + "/outbox"), verify=False)
    ln.event(contract.CMD_ERROR, contract.cmd_error("fax", "x" * 900))
    raises(ValueError, ln.event, contract.CMD_ERROR, contract.cmd_error("fax", "x" * 2000))
    ln.event(contract.CMD_ERROR, contract.cmd_error("fax", "y"))
    assert ln.outbox.last == 2
    if hasattr(gc, "mem_alloc"):
        # the fields built: 320 B an event on main (64-bit unix port), then 128 B (the
        # payload's view, the suffix's encoded copy, the record's views); now the record's
        # CRC view alone: the payload's length handed to the store, the suffix written by
        # character, the record written by offset
        f = evs[2][1]
        n, _ = allocated(lambda: ln.event(contract.CAFIS_VERDICT, f))
        assert n <= 32, n
    assert [json.loads(bytes(rec(ln.outbox.store)[3]))["reason"][:1] for _ in range(2)] == ["x", "y"]


def test_telemetry_the_heap_refuses_is_logged_in_words_not_the_error():
    """make bench 09:40, 400K plugged: telemetry too large for the record buffer, the heap
    refusing its one-off buffer, was logged with the error's repr ("MemoryError(...)", a
    failed run for the bench and the issue's "no MemoryError in any log")."""
    errs = []
    ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=False, on_error=errs.append)

    def build(*a):
        raise MemoryError("memory allocation failed, allocating 506 bytes")
    assert ln._built("telemetry", build) is None
    assert errs == ["telemetry not sent: no memory"], errs


def test_a_payload_built_aside_that_the_heap_refuses_leaves_no_hold_on_its_buffer():
    """rv25: telemetry too large for the record buffer is built in a one-off buffer; the heap
    refusing a piece of it (the escaped path's json) left the writer holding that 2 KB buffer
    until the next payload began, under the very shortage that refused it."""
    from faxbridge.app.outbox_store import FileStore
    errs = []
    ln = Link("u1", "127.0.0.1", 1883, FileStore(tmpdir("linkaside") + "/outbox", max_record=256),
              verify=False, on_error=errs.append)
    w = ln.outbox.store.whole
    real = jsonw.json

    class _NoHeap:
        @staticmethod
        def dumps(v):
            raise MemoryError("memory allocation failed, allocating 600 bytes")
    try:
        jsonw.json = _NoHeap
        ln.telemetry((("pad", "x" * 400), ("esc", "a\"b")))   # aside, then an escape refused
    finally:
        jsonw.json = real
    assert errs == ["telemetry not sent: no memory"], errs
    assert jsonw._b is None or jsonw._b is w, len(jsonw._b)


def test_telemetry_and_discovery_too_large_for_the_record_buffer_are_built_aside_or_logged():
    """Telemetry and Home Assistant configs are built in the store's record buffer; one larger
    (long names; docs/mqtt.md "RAM") is built in a one-off buffer of jsonw.MAX_PAYLOAD
    bytes; one larger still is logged as not sent: never an exception out of the link."""
    from faxbridge.app.outbox_store import FileStore
    errs = []
    ln = Link("u" * 40, "127.0.0.1", 1883, FileStore(tmpdir("linkbig") + "/outbox", max_record=256),
              verify=False, discovery=("homeassistant", "9"), on_error=errs.append)
    assert len(ln.outbox.store.whole) == 80 + 256
    _up(ln)
    ln.telemetry((("pad", "x" * 600),))            # over 336 bytes: built aside, sent
    assert json.loads(ln.outbox.telemetry)["pad"] == "x" * 600 and not errs
    ln.outbox.telemetry = None
    ln.telemetry((("pad", "x" * 2000),))           # over MAX_PAYLOAD: logged, not sent
    assert ln.outbox.telemetry is None and len(errs) == 1
    assert errs[0].startswith("telemetry not sent: ValueError(") and "2000" in errs[0], errs
    from faxbridge.core.mqtt import discovery
    s = ln.session
    sizes = []
    for now in range(1, 3 * discovery.count()):   # every config (~500..900 bytes) built aside
        ln._pump(now)
        sizes += [len(b) for t, _f, b in packets(c for c in s.take() if type(c) is not int)
                  if t == PUBLISH and bytes(b[2:2 + b[1]]).endswith(b"/config")]
        for _ in range(s.inflight()):
            pid = s._ipid[0]
            s.feed(bytes((0x40, 2, pid >> 8, pid & 255)), now)
            ln._handle(now)
    assert len(sizes) == discovery.count() and max(sizes) > 336 and len(errs) == 1, (sizes, errs)
    big = jsonw.MAX_PAYLOAD
    try:
        jsonw.MAX_PAYLOAD = 400     # the one-off buffer too small for most configs
        _up(ln)
        n = 0
        for now in range(1, 3 * discovery.count()):
            ln._pump(now)
            n += len([1 for t, _f, b in packets(c for c in s.take() if type(c) is not int)
                      if t == PUBLISH and bytes(b[2:2 + b[1]]).endswith(b"/config")])
            for _ in range(s.inflight()):
                pid = s._ipid[0]
                s.feed(bytes((0x40, 2, pid >> 8, pid & 255)), now)
                ln._handle(now)
    finally:
        jsonw.MAX_PAYLOAD = big
    assert ln._disc == -1 and n + len(errs) - 1 == discovery.count(), (n, errs)
    assert errs[-1].startswith("Home Assistant config not sent: ValueError("), errs


class _Idle:
    """A connection that never says anything (the link's reader waits), until closed."""

    def __init__(self):
        import asyncio
        self.ev = asyncio.Event()

    def write(self, b):
        pass

    async def drain(self):
        pass

    async def readinto(self, buf):
        await self.ev.wait()
        return 0

    async def close(self):
        self.ev.set()


def test_a_connection_or_link_the_heap_refuses_is_logged_in_words_not_the_error():
    """Link.run(): a MemoryError connecting ("cannot connect ...: %r") or while connected ("link
    failed: %r") was logged with its repr, "MemoryError(...)": a failed run for the bench and
    the issue's "no MemoryError in any log"."""
    import asyncio
    from faxbridge.app import transport
    errs = []
    conns = []
    ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=False, on_error=errs.append,
              backoff_min_ms=10, backoff_max_ms=20, rand=lambda: 0.0)

    async def connect(addr, tls, sni, tmo, nodelay=True):
        conns.append(_Idle())
        if len(conns) == 1:
            raise MemoryError("memory allocation failed, allocating 16384 bytes")
        return conns[-1]
    handle = ln._handle

    def refused(now):
        ln._handle = handle
        raise MemoryError("memory allocation failed, allocating 300 bytes")
    ln._handle = refused
    saved = transport.connect, transport.resolve
    transport.connect = connect
    transport.resolve = lambda host, port: (2, 1, 6, "", (host, port))

    async def main():
        t = asyncio.create_task(ln.run())
        for _ in range(300):
            await asyncio.sleep(0.01)
            if len(conns) > 2:
                break
        await ln.stop()
        await asyncio.wait_for(t, 5)

    try:
        asyncio.run(main())
    finally:
        transport.connect, transport.resolve = saved
    assert len(conns) > 2 and len(errs) >= 2, errs
    assert errs[:2] == ["cannot connect to 127.0.0.1:1883: no memory", "link failed: no memory"], errs
    assert not [e for e in errs if "MemoryError" in e], errs


def test_events_that_just_fit_the_stores_record_are_kept_and_one_byte_more_refused():
    """Link.event builds in place up to the record's CRC (len(buf) - 4): a payload of exactly
    that room is stored and reads back the same, one byte more is a ValueError with nothing
    stored and the next event as before (strs plain, escaped, past ASCII early or late)."""
    from faxbridge.app.outbox_store import FileStore
    d = tmpdir("linkfit") + "/outbox"
    ln = Link("u1", "127.0.0.1", 1883, FileStore(d, max_record=256), verify=False)
    _up(ln)
    room = len(ln.outbox.store.buf) - 4 - 9 - len(contract.CMD_ERROR)
    kept = []
    for tail in ("", 'q"', "\\", "\u00e9", "\u65e5" + "x" * 30, "\x01", "\U0001f600"):
        for over in (1, 0):
            f = None
            for k in range(room, -1, -1):   # the longest pad that gives room + over bytes
                g = contract.cmd_error("x" * k + tail, "r", None, -999999999 + k)
                if len(contract.event("u1", ln.outbox.last + 1, g)) == room + over:
                    f = g
                    break
            if f is None:
                continue
            if over:
                raises(ValueError, ln.event, contract.CMD_ERROR, f)
            else:
                kept.append(contract.event("u1", ln.outbox.last + 1, f))
                assert ln.event(contract.CMD_ERROR, f) == len(kept)
    assert len(kept) >= 5 and ln.outbox.last == len(kept)
    ln.outbox.store.close()
    st = FileStore(d, max_record=256)
    st.open()
    for i in range(len(kept)):
        seq, _cls, _sfx, payload = rec(st)
        assert seq == i + 1 and bytes(payload) == kept[i], i
    assert rec(st) is None
