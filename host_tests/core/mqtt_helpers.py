"""Helpers for the MQTT core tests and tools (both runtimes): a scripted broker end for a
Session, whole PUBLISH packets (the firmware writes headers only), an in-RAM outbox store, and
a writer for what a session queues (the link's write path without a socket)."""
from faxbridge.core.mqtt import codec
from faxbridge.core.mqtt import commands as C

# the reason codes cmd/error carries (docs/mqtt.md "Commands": stable strings)
REASONS = (C.TOO_LARGE, C.BAD_JSON, C.MISSING, C.BAD_FIELD, C.UNKNOWN_FIELD, C.UNKNOWN_COMMAND,
           C.EMPTY, C.BUSY, C.REJECTED)
PUBLISH = 3   # packet types (MQTT 3.1.1 2.2.1)
PUBACK = 4


def encode_publish(topic, payload, qos=0, retain=False, dup=False, pid=0):
    """A whole PUBLISH packet as bytes."""
    t = codec.check_topic(topic)
    p = payload.encode() if isinstance(payload, str) else bytes(payload)
    hdr = bytearray(9 + len(t))
    n = codec.publish_header_into(hdr, t, len(p), qos, retain, dup, pid)
    return bytes(hdr[:n]) + p


def decode_publish(flags, body):
    """A whole PUBLISH body (the bytes after the fixed header) -> (topic str, payload
    memoryview, qos, retain, dup, pid). pid is 0 at QoS 0."""
    qos = (flags >> 1) & 3
    if qos == 3:
        raise ValueError("PUBLISH with qos 3")
    n = len(body)
    if n < 2:
        raise ValueError("PUBLISH too short")
    tl = (body[0] << 8) | body[1]
    p = 2 + tl
    if p > n:
        raise ValueError("PUBLISH topic overruns packet")
    try:
        topic = str(body[2:p], "utf-8")
    except UnicodeError:
        raise ValueError("PUBLISH topic not UTF-8")
    pid = 0
    if qos:
        if p + 2 > n:
            raise ValueError("PUBLISH without packet id")
        pid = (body[p] << 8) | body[p + 1]
        if pid == 0:
            raise ValueError("PUBLISH with packet id 0")
        p += 2
    return topic, body[p:], qos, bool(flags & 1), bool(flags & 8), pid


def rec(st, at=-1):
    """A store's record as (seq, cls, suffix, payload), views of fetch()'s (None at the end or
    on damage): the outbox store keeps no reader of fields (issue 13)."""
    b = st.fetch(at)
    if not b:
        return b
    sl = b[8]
    return ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7], b[1], b[9:9 + sl],
            b[9 + sl:8 + ((b[2] << 8) | b[3])])


class MemStore:
    """An in-RAM outbox store (the interface of core/mqtt/outbox.py), not power-safe. A
    record's place is its number since open()."""

    def __init__(self, max_record=1024, file_size=None):
        self.max_record = max_record
        self.file_size = file_size or (lambda ref: -1)
        self.recs = []   # (seq, cls, suffix, payload), all undelivered
        self.bytes = 0
        self.cur = 0
        self.base = 0    # records trimmed since open()
        self.at = -1
        self.acked = 0
        self.last = 0

    def open(self):
        self.cur = 0
        self.base = 0
        return self.acked, self.last

    def record_size(self, suffix, payload):
        return 13 + len(suffix) + len(payload)

    def append(self, seq, cls, suffix, payload):
        self.recs.append((seq, cls, suffix.encode() if type(suffix) is str else bytes(suffix), bytes(payload)))
        self.bytes += self.record_size(suffix, payload)
        self.last = seq

    def read(self, at=-1):
        i = self.cur if at < 0 else at - self.base
        if 0 <= i < len(self.recs):
            if at < 0:
                self.cur = i + 1
                self.at = self.base + i
            return self.recs[i]
        return None

    def fetch(self, at=-1, lim=0):
        """read() as one record in the log's layout (app/outbox_store.py), its CRC not made."""
        r = self.read(at)
        if r is None:
            return None
        seq, cls, sfx, payload = r
        n = 1 + len(sfx) + len(payload)
        return memoryview(bytes((0xFB, cls, n >> 8, n & 255, seq >> 24, (seq >> 16) & 255, (seq >> 8) & 255,
                                 seq & 255, len(sfx))) + sfx + payload + bytes(4))

    def skip(self):
        r = self.read()
        return None if r is None else (r[0], r[1])

    def ack(self, seq, at=-1):
        n = 0
        while n < len(self.recs) and self.recs[n][0] <= seq:
            self.bytes -= self.record_size(self.recs[n][2], self.recs[n][3])
            n += 1
        del self.recs[:n]
        self.base += n
        self.cur -= n if n <= self.cur else self.cur
        self.acked = seq

    def used(self):
        return self.bytes

    def close(self):
        pass


def wire(s, ob, root=b"faxbridge/u1/", files=None):
    """What session s queued, as the link writes it (app/link.Link._flush without a socket):
    bytes items as they are, an outbox event (an int) from the store through ob.packet, a
    page's file read whole from `files` (a dict ref -> bytes) or from disk. Returns the list
    of pieces; an event that cannot be written is forgotten as the link does."""
    out = []
    for ch in s.take():
        if type(ch) is not int:
            out.append(bytes(ch))
            continue
        pid = ch & 0xFFFF
        r = ob.packet(pid, ch > 0xFFFF, root)
        if r is None:
            continue
        pkt, ref, size = r
        if pkt is None:
            s.forget(pid)
            ob.on_puback(pid, 0)
            continue
        out.append(bytes(pkt))
        if ref is not None:
            if files is not None:
                data = files[ref]
            else:
                with open(ref, "rb") as f:
                    data = f.read()
            assert len(data) == size
            out.append(bytes(data))
    return out


class Collect:
    """A codec.Parser sink that records whole packets as (type, flags, body bytes); a PUBLISH
    body is put back together (topic length, topic, packet id, payload) for decode_publish."""

    def __init__(self):
        self.out = []
        self.pub = None

    def packet(self, t, f, body, n):
        self.out.append((t, f, bytes(body[:n])))

    def pub_start(self, f, topic, pid, n):
        tb = bytes(topic)
        head = bytes((len(tb) >> 8, len(tb) & 0xFF)) + tb
        if (f >> 1) & 3:
            head += bytes((pid >> 8, pid & 0xFF))
        self.pub = [f, head, n]

    def pub_data(self, mv):
        self.pub[1] += bytes(mv)

    def pub_end(self):
        self.out.append((PUBLISH, self.pub[0], self.pub[1]))
        self.pub = None


def packets(chunks):
    """Parse what a session wrote into [(type, flags, body bytes)]."""
    c = Collect()
    p = codec.Parser(256)
    for ch in chunks:
        p.parse(ch, c)
    return c.out


def up(s, now=0):
    s.start(now)
    s.take()
    s.feed(b"\x20\x02\x00\x00", now)
    return s.events()


def ack_all(s, outbox, now):
    """Play the broker: PUBACK every PUBLISH the session wrote; return [(topic, payload)]."""
    got = []
    for t, f, body in packets(wire(s, outbox)):
        if t != PUBLISH:
            continue
        topic, payload, qos, _r, _d, pid = decode_publish(f, memoryview(body))
        got.append((topic, bytes(payload)))
        if qos:
            s.feed(codec.encode_puback(pid), now)
    for ev in s.events():
        if type(ev) is int:   # a PUBACK's packet id
            outbox.on_puback(ev, now)
    return got


def echo_waiting(ln):
    """The topic suffixes a link's echo check still waits for (its `ep` list, in topic order)."""
    from faxbridge.app import echo
    return [t for i, t in enumerate(echo._TOPICS) if ln.ep[2 * i] >= 0]
