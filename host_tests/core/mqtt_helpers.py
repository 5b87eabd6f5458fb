"""Helpers for the MQTT core tests (both runtimes): a scripted broker end for a Session."""
from faxbridge.core.mqtt import codec


class Collect:
    """A codec.Parser sink that records whole packets as (type, flags, body bytes); a PUBLISH
    body is put back together (topic length, topic, packet id, payload) for decode_publish."""

    def __init__(self):
        self.out = []
        self.pub = None

    def packet(self, t, f, body):
        self.out.append((t, f, bytes(body)))

    def pub_start(self, f, topic, pid, n):
        tb = bytes(topic)
        head = bytes((len(tb) >> 8, len(tb) & 0xFF)) + tb
        if (f >> 1) & 3:
            head += bytes((pid >> 8, pid & 0xFF))
        self.pub = [f, head, n]

    def pub_data(self, mv):
        self.pub[1] += bytes(mv)

    def pub_end(self):
        self.out.append((codec.PUBLISH, self.pub[0], self.pub[1]))
        self.pub = None


def packets(chunks):
    """Parse what a session wrote into [(type, flags, body bytes)]."""
    c = Collect()
    p = codec.Parser(256)
    for ch in chunks:
        p.feed(ch, c)
    return c.out


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
