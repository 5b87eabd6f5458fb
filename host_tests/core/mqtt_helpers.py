"""Helpers for the MQTT core tests (both runtimes): a scripted broker end for a Session."""
from faxbridge.core.mqtt import codec


def packets(chunks):
    """Parse what a session wrote into [(type, flags, body bytes)]."""
    out = []
    p = codec.Parser(65536)
    for c in chunks:
        p.feed(c, lambda t, f, b, n: out.append((t, f, bytes(b))))
    return out


def up(s, now=0):
    s.start(now)
    s.take()
    s.feed(b"\x20\x02\x00\x00", now)
    return s.events()


def ack_all(s, outbox, now):
    """Play the broker: PUBACK every PUBLISH the session wrote; return [(topic, payload)]."""
    got = []
    for t, f, body in packets(s.take()):
        if t != codec.PUBLISH:
            continue
        topic, payload, qos, _r, _d, pid = codec.decode_publish(f, memoryview(body))
        got.append((topic, bytes(payload)))
        if qos:
            s.feed(codec.encode_puback(pid), now)
    for ev in s.events():
        if ev[0] == "puback":
            outbox.on_puback(ev[1], now)
    return got
