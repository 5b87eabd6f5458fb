"""MQTT 3.1.1 codec: encoders against hand-written packets from the standard, parser chunking."""
from mqtt_helpers import Collect, decode_publish, encode_publish
from support import raises

from faxbridge.core.mqtt import codec


class Events:
    """Records every sink call as it happens (to see that payloads stream)."""

    def __init__(self):
        self.ev = []

    def packet(self, t, f, body, n):
        self.ev.append(("packet", t, f, bytes(body[:n])))

    def pub_start(self, f, topic, pid, n):
        self.ev.append(("start", f, None if topic is None else bytes(topic), pid, n))

    def pub_data(self, mv):
        self.ev.append(("data", bytes(mv)))

    def pub_end(self):
        self.ev.append(("end",))


def _collect(parser, data, chunk):
    c = Collect()
    for i in range(0, len(data), chunk):
        parser.parse(data[i:i + chunk], c)
    return c.out


def _joined(ev):
    """Sink events with consecutive payload pieces joined (the split does not matter)."""
    out = []
    for e in ev:
        if e[0] == "data" and out and out[-1][0] == "data":
            out[-1] = ("data", out[-1][1] + e[1])
        else:
            out.append(e)
    return out


def test_connect_minimal_matches_standard_layout():
    p = codec.encode_connect("ab", keepalive=60, clean=True)
    # 3.1: fixed header 0x10, remaining 14; "MQTT" level 4, flags 0x02, keepalive 60, id "ab"
    assert p == b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02ab"


def test_connect_with_will_user_password_flags():
    p = codec.encode_connect("c", 30, False, ("t/a", b"offline", 1, True), "u", "pw")
    flags = p[9]
    assert flags == 0x80 | 0x40 | 0x20 | 0x08 | 0x04
    assert p[10:12] == b"\x00\x1e"
    assert p.endswith(b"\x00\x01c\x00\x03t/a\x00\x07offline\x00\x01u\x00\x02pw")
    raises(ValueError, codec.encode_connect, "c", 30, True, None, None, "pw")
    raises(ValueError, codec.encode_connect, "c", 70000)
    raises(ValueError, codec.encode_connect, "x" * 65536)   # a string is at most 65535 bytes (1.5.3)


def test_remaining_length_boundaries():
    for n, enc in ((0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16383, b"\xff\x7f"),
                   (16384, b"\x80\x80\x01"), (2097151, b"\xff\xff\x7f"),
                   (2097152, b"\x80\x80\x80\x01"), (268435455, b"\xff\xff\xff\x7f")):
        buf = bytearray(5)
        k = codec.varint_into(buf, 0, n)
        assert bytes(buf[:k]) == enc, n
        assert codec.varint_size(n) == len(enc)
    raises(ValueError, codec.varint_into, bytearray(5), 0, 268435456)


def test_publish_qos1_header_and_dup():
    p = bytearray(encode_publish("a/b", b"hi", qos=1, retain=True, pid=10))
    assert bytes(p) == b"\x33\x09\x00\x03a/b\x00\x0ahi"
    assert encode_publish("a/b", b"hi", 1, True, True, 10)[0] == 0x3B   # DUP (3.3.1.1)
    raises(ValueError, encode_publish, "a/b", b"", 1, False, False, 0)
    raises(ValueError, encode_publish, "a/b", b"", 1, False, False, 65536)
    raises(ValueError, encode_publish, "a/+", b"")
    raises(ValueError, encode_publish, "", b"")


def test_puback_subscribe_encoding():
    assert codec.encode_puback(0x1234) == b"\x40\x02\x12\x34"
    raises(ValueError, codec.encode_puback, 0)
    s = codec.encode_subscribe(7, (("a/#", 1), ("b", 0)))
    assert s == b"\x82\x0c\x00\x07\x00\x03a/#\x01\x00\x01b\x00"
    # a body over 127 bytes: a two-byte remaining length (2.2.3), filters as str or bytes
    s = codec.encode_subscribe(0xBEEF, (("t/" + "x" * 150, 0), (b"u/+", 1)))
    assert s == (b"\x82\xa3\x01\xbe\xef\x00\x98t/" + b"x" * 150 + b"\x00" + b"\x00\x03u/+\x01")
    raises(ValueError, codec.encode_subscribe, 7, ())
    raises(ValueError, codec.encode_subscribe, 0, (("a", 0),))
    raises(ValueError, codec.encode_subscribe, 7, (("a", 3),))
    raises(ValueError, codec.encode_subscribe, 7, (("", 0),))
    raises(ValueError, codec.encode_subscribe, 7, (("a\x00b", 0),))
    # each filter written after a root: the same bytes as the joined filters
    assert codec.encode_subscribe(9, ((b"cmd/#", 1), ("x/+", 0)), b"faxbridge/u1/") == \
        codec.encode_subscribe(9, (("faxbridge/u1/cmd/#", 1), ("faxbridge/u1/x/+", 0)))


STREAM = (b"\x20\x02\x00\x00" + encode_publish("x/y", b"payload" * 40, 1, False, False, 5)
          + b"\xd0\x00" + encode_publish("q", b"", 0, True) + b"\x40\x02\x00\x05"
          + encode_publish("a/b", b"z" * 200, 0) + b"\x90\x03\x00\x01\x80")


def test_parser_any_chunking_gives_same_packets():
    whole = _collect(codec.Parser(64), STREAM, len(STREAM))
    assert [g[0] for g in whole] == [2, 3, 13, 3, 4, 3, 9]
    for chunk in (1, 2, 3, 7, 64):
        assert _collect(codec.Parser(64), STREAM, chunk) == whole


def test_parser_split_at_every_byte_boundary():
    ref = Events()
    codec.Parser(16).parse(STREAM, ref)
    want = _joined(ref.ev)
    assert want[1] == ("start", 0x2, b"x/y", 5, 280) and want[2] == ("data", b"payload" * 40)
    assert ("start", 0x1, b"q", 0, 0) in want and want[want.index(("start", 0x1, b"q", 0, 0)) + 1] == ("end",)
    for cut in range(1, len(STREAM)):
        for cut2 in (cut, min(len(STREAM), cut + 3)):
            e = Events()
            p = codec.Parser(16)
            p.parse(STREAM[:cut], e)
            p.parse(STREAM[cut:cut2], e)
            p.parse(STREAM[cut2:], e)
            assert _joined(e.ev) == want, cut


def test_parser_pubacks_in_a_row_whole_or_split():
    """A burst of PUBACKs (a window of events acknowledged) read at once goes straight to the
    sink: the same packets as byte by byte, and one with another length still by the states."""
    burst = b"".join(codec.encode_puback(i) for i in (1, 2, 300, 65535)) + b"\x40\x03\x00\x07\x00"
    ref = Events()
    codec.Parser(16).parse(burst, ref)
    assert ref.ev == [("packet", 4, 0, b"\x00\x01"), ("packet", 4, 0, b"\x00\x02"),
                      ("packet", 4, 0, b"\x01\x2c"), ("packet", 4, 0, b"\xff\xff"),
                      ("packet", 4, 0, b"\x00\x07\x00")]
    for cut in range(1, len(burst)):
        e = Events()
        p = codec.Parser(16)
        p.parse(burst[:cut], e)
        p.parse(burst[cut:], e)
        assert e.ev == ref.ev, cut


def _fed(stream, cuts):
    """Sink events of stream fed in the pieces between cuts (an exception: its type's name
    as the last event)."""
    e = Events()
    p = codec.Parser(16)
    a = 0
    try:
        for b in cuts + (len(stream),):
            p.parse(stream[a:b], e)
            a = b
    except ValueError as x:
        e.ev.append(type(x).__name__)
    return _joined(e.ev)


def test_parser_pubacks_among_other_packets_at_any_split():
    """PUBACKs taken whole (pid 0, one with a remaining length of 0 or 3, a PUBLISH or a
    PINGRESP right after one, a read ending inside one) give the sink what a byte-by-byte
    read gives (where no PUBACK is ever whole in a read)."""
    stream = (codec.encode_puback(1) + b"\x40\x02\x00\x00" + encode_publish("a/b", b"xyz", 1, False, False, 9)
              + codec.encode_puback(2) + b"\xd0\x00" + codec.encode_puback(0x4002) + b"\x40\x00"
              + b"\x40\x03\x00\x05\x40" + codec.encode_puback(0x0240) + encode_publish("t", b"\x40\x02", 0)
              + b"\x90\x03\x00\x07\x01" + codec.encode_puback(65535) + b"\x41\x02\x00\x01"
              + codec.encode_puback(3)[:3])
    ref = _fed(stream, tuple(range(1, len(stream))))
    assert ref[0] == ("packet", 4, 0, b"\x00\x01") and ref[1] == ("packet", 4, 0, b"\x00\x00")
    assert ("packet", 4, 0, b"") in ref and ("packet", 4, 0, b"\x00\x05\x40") in ref
    assert ("packet", 4, 1, b"\x00\x01") == ref[-1] and ("packet", 13, 0, b"") in ref
    assert _fed(stream, ()) == ref
    for i in range(1, len(stream)):
        assert _fed(stream, (i,)) == ref, i
        for j in range(i + 1, min(len(stream), i + 6)):
            assert _fed(stream, (i, j)) == ref, (i, j)
    # a PUBACK that cuts short a packet the states are in is theirs: bytes of that packet
    bad = b"\x30\x05\x00\x01" + codec.encode_puback(7)
    assert _fed(bad, ()) == _fed(bad, tuple(range(1, len(bad))))


def test_parser_streams_payload_without_copying_it():
    """The payload reaches the sink as slices of what was fed: any length through 16 bytes."""
    big = encode_publish("t", b"z" * 300000, 1, False, False, 9)
    e = Events()
    p = codec.Parser(16)
    for i in range(0, len(big), 2048):
        p.parse(big[i:i + 2048], e)
    assert e.ev[0] == ("start", 0x2, b"t", 9, 300000)
    assert sum(len(x[1]) for x in e.ev if x[0] == "data") == 300000 and e.ev[-1] == ("end",)
    assert max(len(x[1]) for x in e.ev if x[0] == "data") <= 2048


def test_parser_topic_longer_than_the_buffer_is_skipped_not_fatal():
    pkt = encode_publish("t" * 100, b"abc", 1, False, False, 7) + b"\xd0\x00"
    e = Events()
    codec.Parser(32).parse(pkt, e)
    assert e.ev == [("start", 0x2, None, 7, 3), ("data", b"abc"), ("end",), ("packet", 13, 0, b"")]


def test_parser_rejects_malformed():
    sink = Events()
    bad = (b"\x00\x00",                               # reserved type 0
           b"\xf0\x00",                               # reserved type 15
           b"\x30\xff\xff\xff\xff\x01",               # five length bytes
           b"\x36\x05\x00\x01a\x00\x01",               # qos 3
           b"\x30\x01\x00",                           # PUBLISH shorter than its topic length
           b"\x30\x03\x00\x05a",                       # topic overruns the packet
           b"\x32\x04\x00\x01a\x00",                   # qos 1 without room for the id
           b"\x32\x05\x00\x01a\x00\x00",               # packet id 0
           b"\x90\x41" + b"\x00" * 65)                 # SUBACK larger than the buffer
    for data in bad:
        for cut in range(1, len(data) + 1):
            p = codec.Parser(64)
            try:
                p.parse(data[:cut], sink)
                p.parse(data[cut:], sink)
            except ValueError:
                continue
            raise AssertionError("accepted %r" % (data,))


def test_decode_publish_and_errors():
    pkt = encode_publish("a/b", b"xyz", 1, True, True, 3)
    got = _collect(codec.Parser(64), pkt, 5)[0]
    topic, payload, qos, retain, dup, pid = decode_publish(got[1], memoryview(got[2]))
    assert (topic, bytes(payload), qos, retain, dup, pid) == ("a/b", b"xyz", 1, True, True, 3)
    raises(ValueError, decode_publish, 0x6, memoryview(b"\x00\x01a"))
    raises(ValueError, decode_publish, 0x2, memoryview(b"\x00\x01a\x00\x00"))
    raises(ValueError, decode_publish, 0x0, memoryview(b"\x00\x09a"))
    raises(ValueError, decode_publish, 0x0, memoryview(b"\x00\x02\xff\xfe"))
    assert codec.connack_text(4) == "bad user name or password"
