"""MQTT session state machine: CONNECT/CONNACK, keepalive, QoS 1 tracking, DUP, ids, backoff."""
from mqtt_helpers import encode_publish
from mqtt_helpers import packets as _packets

from faxbridge.core.mqtt import session


class Rx:
    """A session receiver that records each message's start, its payload and what it says."""

    def __init__(self, ack=True, fail=None):
        self.got = []
        self.ack = ack
        self.fail = fail
        self.cur = None

    def on_publish_start(self, topic, total, retain, dup, pid):
        if self.fail == "start":
            raise ValueError("boom")
        self.cur = [bytes(topic), total, retain, dup, pid, b"", 0]

    def on_publish_chunk(self, mv):
        if self.fail == "chunk":
            raise ValueError("boom")
        self.cur[5] += bytes(mv)
        self.cur[6] += 1

    def on_publish_end(self):
        self.got.append(tuple(self.cur))
        return self.ack


def _up(s, now=0, sp=False):
    s.start(now)
    s.take()
    s.feed(b"\x20\x02" + (b"\x01" if sp else b"\x00") + b"\x00", now)
    return s.events()


def test_connect_then_connack_up():
    s = session.Session("u1", keepalive=30, clean=False, will=("r/availability", b"offline", 1, True))
    s.start(0)
    pk = _packets(s.take())
    assert pk[0][0] == 1 and pk[0][2][7] == 0x2C  # CONNECT; will retain + qos1 + will flag
    s.feed(b"\x20\x02\x00\x00", 5)
    assert s.events() == [("up", False)] and s.state == session.UP


def test_connack_refused_is_reported():
    s = session.Session("u1")
    s.start(0)
    s.feed(b"\x20\x02\x00\x04", 1)
    ev = s.events()
    assert ev[0] == ("refused", 4, "bad user name or password")
    assert ev[1][0] == "down" and s.state == session.DOWN


def test_connack_timeout():
    s = session.Session("u1", connack_timeout_ms=1000)
    s.start(0)
    assert s.poll(999) == 1
    s.poll(1000)
    assert s.events()[0][0] == "down" and s.state == session.DOWN


def test_keepalive_ping_and_timeout():
    s = session.Session("u1", keepalive=10, ping_timeout_ms=3000)
    _up(s)
    assert s.poll(5000) == 5000 and s.take() == []
    s.poll(10000)
    assert s.take() == [b"\xc0\x00"]  # PINGREQ
    s.feed(b"\xd0\x00", 10500)
    s.poll(12000)
    assert s.take() == [] and s.state == session.UP
    s.poll(20500)
    assert s.take() == [b"\xc0\x00"]  # PINGREQ
    s.poll(23499)
    assert s.state == session.UP
    s.poll(23500)
    assert s.state == session.DOWN and "PINGRESP" in s.events()[-1][1]


def test_ping_when_receiving_nothing_even_while_sending():
    s = session.Session("u1", keepalive=10)
    _up(s)
    for t in range(1000, 10000, 1000):
        s.publish(b"t", b"x", 0, now=t)
        s.poll(t)
    s.take()
    s.poll(10000)
    assert s.take() == [b"\xc0\x00"]  # PINGREQ


def test_qos1_puback_tracking_and_dup_on_reconnect():
    s = session.Session("u1", max_inflight=3, retry_ms=0)
    _up(s)
    pids = [s.publish(b"a", b"%d" % i, 1, now=1) for i in range(3)]
    assert pids == [1, 2, 3] and not s.can_publish()
    s.take()
    s.feed(b"\x40\x02\x00\x02", 2)
    assert s.events() == [2] and s.inflight() == 2   # a PUBACK: its packet id alone
    s.lost(3, "test")
    assert s.events() == [("down", "test")]
    ev = _up(s, 10)
    assert ev == [("up", False)]
    pk = _packets(s.take())
    assert [(p[0], p[1]) for p in pk] == [(3, 0x0A), (3, 0x0A)]  # DUP + QoS1
    assert [p[2][-1:] for p in pk] == [b"0", b"2"]  # original order kept


def test_retransmit_in_session_after_retry_interval():
    s = session.Session("u1", retry_ms=5000, keepalive=0)
    _up(s)
    s.publish(b"a", b"x", 1, now=0)
    s.take()
    assert s.poll(4999) == 1
    s.poll(5000)
    pk = _packets(s.take())
    assert len(pk) == 1 and pk[0][1] & 0x08


def test_packet_ids_wrap_skip_zero_and_inflight():
    s = session.Session("u1", max_inflight=2, retry_ms=0)
    _up(s)
    s._next_pid = 65534
    a = s.publish(b"a", b"", 1)
    b = s.publish(b"a", b"", 1)
    assert (a, b) == (65535, 1)
    s.feed(b"\x40\x02\xff\xff", 1)
    s._next_pid = 0
    assert s.publish(b"a", b"", 1) == 2  # 1 is still in flight


def test_incoming_publish_streams_to_the_receiver_then_puback():
    s = session.Session("u1")
    rx = s.rx = Rx()
    _up(s)
    s.feed(encode_publish("r/cmd/cancel", b'{"job":"j1"}', 1, False, False, 77), 1)
    assert rx.got == [(b"r/cmd/cancel", 12, False, False, 77, b'{"job":"j1"}', 1)]
    assert s.take() == [b"\x40\x02\x00\x4d"]


def test_receiver_holding_a_message_means_no_puback():
    s = session.Session("u1")
    rx = s.rx = Rx(ack=False)
    _up(s)
    s.feed(encode_publish("r/cmd/cancel", b"x", 1, False, False, 5), 1)
    assert len(rx.got) == 1 and s.take() == [] and not s.pending()
    rx.ack = True
    s.feed(encode_publish("r/cmd/cancel", b"x", 1, False, True, 5), 2)
    assert rx.got[1][3] is True and s.take() == [b"\x40\x02\x00\x05"]


def test_receiver_exception_still_acks_and_reports():
    for where in ("start", "chunk"):
        s = session.Session("u1")
        rx = s.rx = Rx(fail=where)
        _up(s)
        s.feed(encode_publish("x", b"y", 1, False, False, 9), 1)
        assert s.take() == [b"\x40\x02\x00\x09"]
        assert s.events()[0][0] == "error" and rx.got == []
        assert s.state == session.UP
        # a failed message's later pieces are not passed on (one error, not one per piece)
        pkt = encode_publish("x", b"abcdef", 1, False, False, 10)
        for i in range(len(pkt)):
            s.feed(pkt[i:i + 1], 2)
        assert [e[0] for e in s.events()] == ["error"] and rx.got == []
        assert s.take() == [b"\x40\x02\x00\x0a"]
        # ... and the next message reaches the receiver again, whole
        rx.fail = None
        s.feed(encode_publish("x", b"ok", 1, False, False, 11), 3)
        assert s.events() == [] and rx.got == [(b"x", 2, False, False, 11, b"ok", 1)]


def test_large_message_streams_through_a_small_buffer():
    """A 256 KB payload passes a 64-byte header buffer in the pieces the socket gave."""
    s = session.Session("u1", header_size=64)
    rx = s.rx = Rx()
    _up(s)
    body = bytes(range(256)) * 1024
    pkt = encode_publish("r/cmd/fax", body, 1, False, False, 4)
    for i in range(0, len(pkt), 1500):
        s.feed(pkt[i:i + 1500], 1)
    got = rx.got[0]
    assert got[0] == b"r/cmd/fax" and got[1] == len(body) and got[5] == body
    assert got[6] == (len(pkt) + 1499) // 1500  # one chunk per read, none assembled
    assert s.take() == [b"\x40\x02\x00\x04"]


def test_qos0_publish_gets_no_puback_and_empty_payload_no_chunk():
    s = session.Session("u1")
    rx = s.rx = Rx()
    _up(s)
    s.feed(encode_publish("a/b", b"", 0, True), 1)
    s.feed(encode_publish("a/b", b"", 1, False, False, 3), 1)
    assert [(g[1], g[2], g[6]) for g in rx.got] == [(0, True, 0), (0, False, 0)]
    assert s.take() == [b"\x40\x02\x00\x03"]


def test_qos2_publish_and_publish_before_connack_drop_the_connection():
    s = session.Session("u1")
    s.rx = Rx()
    _up(s)
    s.feed(b"\x34\x05\x00\x01a\x00\x01", 1)
    assert s.state == session.DOWN and "QoS 2" in s.events()[-1][1]
    s.start(0)
    s.feed(encode_publish("a", b"x", 0), 1)
    assert s.state == session.DOWN and "before CONNACK" in s.events()[-1][1]


def test_no_receiver_acks_and_drops():
    s = session.Session("u1")
    _up(s)
    s.feed(encode_publish("a", b"x" * 5000, 1, False, False, 8), 1)
    assert s.take() == [b"\x40\x02\x00\x08"]


def test_garbage_from_broker_drops_connection_not_crash():
    s = session.Session("u1")
    _up(s)
    s.feed(b"\x00\x00", 1)
    assert s.state == session.DOWN and "protocol error" in s.events()[-1][1]
    _up(s)
    s.feed(b"\x20\x02\x00\x00", 1)  # second CONNACK
    assert s.state == session.DOWN


def test_malformed_control_packets_drop_the_connection():
    for up, pkt, why in ((False, b"\x20\x02\x02\x00", "malformed CONNACK"),   # reserved flag bit
                         (False, b"\x20\x03\x00\x00\x00", "malformed CONNACK"),
                         (True, b"\x40\x02\x00\x00", "malformed PUBACK"),     # packet id 0
                         (True, b"\x40\x01\x05", "malformed PUBACK"),
                         (True, b"\x90\x02\x00\x01", "malformed SUBACK")):    # no return code
        s = session.Session("u1")
        if up:
            _up(s)
        else:
            s.start(0)
            s.take()
        s.feed(pkt, 1)
        ev = s.events()
        assert s.state == session.DOWN and ev[-1][0] == "down" and why in ev[-1][1], (pkt, ev)
    s = session.Session("u1")
    assert _up(s, sp=True) == [("up", True)]


def test_backoff_doubles_capped_with_jitter():
    seq = [0.0, 1.0, 0.0, 1.0]
    s = session.Session("u1", backoff_min_ms=1000, backoff_max_ms=8000,
                        rand=lambda: seq.pop(0) if seq else 0.5)
    assert [s.backoff_ms() for _ in range(4)] == [500, 2000, 2000, 8000]
    for _ in range(30):
        d = s.backoff_ms()
        assert 4000 <= d <= 8000
    _up(s)
    assert s.attempts == 0


def test_subscribe_and_suback():
    s = session.Session("u1")
    _up(s)
    pid = s.subscribe((("r/cmd/#", 1),))
    pk = _packets(s.take())
    assert pk[0][0] == 8 and pk[0][1] == 2  # SUBSCRIBE, its flags 0010 (3.8.1)
    s.feed(bytes((0x90, 3, pid >> 8, pid & 255, 0x80)), 1)
    assert s.events() == [("suback", pid, b"\x80")]


def test_backoff_counts_each_failure_once():
    s = session.Session("u1", backoff_min_ms=1000, backoff_max_ms=64000, rand=lambda: 0.999)
    delays = []
    for _ in range(4):
        s.start(0)
        delays.append(s.lost(1, "x"))
    assert delays == [999, 1999, 3998, 7996]  # 1, 2, 4, 8 s at the upper edge of the jitter


def test_retain_and_dup_flags_reach_the_receiver():
    s = session.Session("u1")
    rx = s.rx = Rx()
    _up(s)
    s.feed(encode_publish("x", b"y", 0, True), 1)
    s.feed(encode_publish("x", b"y", 1, False, True, 2), 1)
    assert [(g[2], g[3]) for g in rx.got] == [(True, False), (False, True)]


def test_session_present_connack_is_up_and_resends():
    s = session.Session("u1", clean=False, retry_ms=0)
    _up(s)
    s.publish(b"a", b"1", 1)
    s.take()
    s.lost(1, "cut")
    assert s.events() == [("down", "cut")]
    assert _up(s, 2, sp=True) == [("up", True)]
    pk = _packets(s.take())
    assert len(pk) == 1 and pk[0][1] == 0x0A and s.state == session.UP


def test_qos0_publish_is_not_copied():
    """A QoS 0 PUBLISH (telemetry) is its header then the caller's payload object, as given."""
    s = session.Session("u1")
    _up(s)
    pl = b"t" * 300
    assert s.publish(b"r/telemetry", pl, 0) == 0
    out = s.take()
    assert len(out) == 2 and out[1] is pl and len(out[0]) == 1 + 2 + 2 + 11
    assert _packets(out) == [(3, 0, b"\x00\x0br/telemetry" + pl)]


def test_pubacks_reuse_one_buffer_and_take_reuses_one_list():
    """issue 13 (a telegram's path): a PUBACK is written into the session's one 4-byte buffer
    and take() hands out the session's one list (a bytearray and a list were made per packet:
    64 B and 64 B on the 64-bit unix port). Two PUBLISHes in one feed: the second PUBACK,
    while the buffer is still queued, gets a buffer of its own: each its own pid."""
    import gc

    from support import allocated
    s = session.Session("u1")
    s.rx = Rx()
    _up(s)
    pkts = [memoryview(encode_publish("r/cmd/telegram/center/q%d" % i, b"x" * 40, 1, False, False, i + 1))
            for i in range(4)]
    s.feed(pkts[0], 1)
    a = s.take()
    assert a == [b"\x40\x02\x00\x01"]
    first = a[0]
    s.rx = None   # (the receiver's own copies left out of the measure)
    used = allocated(lambda: s.feed(pkts[1], 1))[0]
    b = s.take()
    assert b == [b"\x40\x02\x00\x02"] and b[0] is first and b is a
    if hasattr(gc, "mem_alloc"):
        # the topic's and the payload's views alone
        assert used <= 64, used
    s.feed(bytes(pkts[2]) + bytes(pkts[3]), 2)
    assert s.pending()
    out = s.take()
    assert out == [b"\x40\x02\x00\x03", b"\x40\x02\x00\x04"] and out[0] is first and out[1] is not first
    assert not s.pending() and s.take() == []
    rx = s.rx = Rx()
    s.feed(encode_publish("r/cmd/cancel", b"{}", 1, False, False, 9), 3)
    s.feed(encode_publish("r/cmd/telegram/center/q77", b"{}", 1, False, False, 10), 3)
    assert [g[0] for g in rx.got] == [b"r/cmd/cancel", b"r/cmd/telegram/center/q77"]
    assert s.take() == [b"\x40\x02\x00\x09", b"\x40\x02\x00\x0a"]


def test_events_hands_out_one_list():
    """issue 13: events() moves what happened into the session's one list and hands that out
    (a new list was made per call: 64 B on the 64-bit unix port, one per PUBACK read)."""
    import gc

    from support import allocated
    s = session.Session("u1")
    _up(s)
    used = []
    got = []
    for i in range(3):
        pid = s.publish(b"r/cafis/verdict", b"{}", 1)
        s.take()
        s.feed(bytes((0x40, 2, pid >> 8, pid & 0xFF)), 1)
        n, e = allocated(s.events)
        used.append(n)
        got.append(list(e))
        assert s.events() == []
    assert got == [[1], [2], [3]]
    if hasattr(gc, "mem_alloc"):
        assert max(used[1:]) == 0, used
