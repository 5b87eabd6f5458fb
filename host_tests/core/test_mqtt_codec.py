"""MQTT 3.1.1 codec: encoders against hand-written packets from the standard, parser chunking."""
from support import raises

from faxbridge.core.mqtt import codec


def _collect(parser, data, chunk):
    got = []
    sink = lambda t, f, body, total: got.append((t, f, bytes(body), total))
    for i in range(0, len(data), chunk):
        parser.feed(data[i:i + chunk], sink)
    return got


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
    p = bytearray(codec.encode_publish("a/b", b"hi", qos=1, retain=True, pid=10))
    assert bytes(p) == b"\x33\x09\x00\x03a/b\x00\x0ahi"
    codec.set_dup(p)
    assert p[0] == 0x3B
    raises(ValueError, codec.encode_publish, "a/b", b"", 1, False, False, 0)
    raises(ValueError, codec.encode_publish, "a/b", b"", 1, False, False, 65536)
    raises(ValueError, codec.encode_publish, "a/+", b"")
    raises(ValueError, codec.encode_publish, "", b"")


def test_puback_subscribe_encoding():
    assert codec.encode_puback(0x1234) == b"\x40\x02\x12\x34"
    raises(ValueError, codec.encode_puback, 0)
    s = codec.encode_subscribe(7, (("a/#", 1), ("b", 0)))
    assert s == b"\x82\x0c\x00\x07\x00\x03a/#\x01\x00\x01b\x00"


def test_parser_any_chunking_gives_same_packets():
    stream = (b"\x20\x02\x00\x00" + codec.encode_publish("x/y", b"payload" * 40, 1, False, False, 5)
              + b"\xd0\x00" + b"\x40\x02\x00\x05" + b"\x90\x03\x00\x01\x80")
    whole = _collect(codec.Parser(1024), stream, len(stream))
    assert [g[0] for g in whole] == [2, 3, 13, 4, 9]
    for chunk in (1, 2, 3, 7, 64):
        assert _collect(codec.Parser(1024), stream, chunk) == whole


def test_parser_truncates_oversized_packet_and_stays_in_sync():
    big = codec.encode_publish("t", b"z" * 500, 0)
    stream = big + b"\xd0\x00"
    got = _collect(codec.Parser(64), stream, 13)
    assert got[0][0] == 3 and len(got[0][2]) == 64 and got[0][3] == 503
    assert got[1][0] == 13


def test_parser_rejects_malformed():
    p = codec.Parser(64)
    sink = lambda *a: None
    raises(codec.ProtocolError, p.feed, b"\x00\x00", sink)
    p.reset()
    raises(codec.ProtocolError, p.feed, b"\x30\xff\xff\xff\xff\x01", sink)
    p.reset()
    raises(codec.ProtocolError, p.feed, b"\xf0\x00", sink)


def test_decode_publish_and_errors():
    pkt = codec.encode_publish("a/b", b"xyz", 1, True, True, 3)
    got = _collect(codec.Parser(64), pkt, 64)[0]
    topic, payload, qos, retain, dup, pid = codec.decode_publish(got[1], memoryview(got[2]))
    assert (topic, bytes(payload), qos, retain, dup, pid) == ("a/b", b"xyz", 1, True, True, 3)
    raises(codec.ProtocolError, codec.decode_publish, 0x6, memoryview(b"\x00\x01a"))
    raises(codec.ProtocolError, codec.decode_publish, 0x2, memoryview(b"\x00\x01a\x00\x00"))
    raises(codec.ProtocolError, codec.decode_publish, 0x0, memoryview(b"\x00\x09a"))
    raises(codec.ProtocolError, codec.decode_publish, 0x0, memoryview(b"\x00\x02\xff\xfe"))
    assert codec.decode_connack(memoryview(b"\x01\x00")) == (True, 0)
    raises(codec.ProtocolError, codec.decode_connack, memoryview(b"\x02\x00"))
    raises(codec.ProtocolError, codec.decode_pid, memoryview(b"\x00\x00"))
    assert codec.connack_text(4) == "bad user name or password"
