"""MQTT 3.1.1 packet codec (sans-I/O): encoders and an incremental parser.

Encoders return bytes (rare packets) or write into a caller's buffer (PUBLISH header, the hot
path; whole PUBLISH packets are built only by tests and tools: host_tests/core/mqtt_helpers.py).
The Parser (the session's base class) takes bytes in chunks of any size and calls a sink once per whole packet with a
memoryview of the body held in one preallocated buffer: no allocation per byte.
Bytes that are not MQTT 3.1.1 (or a packet we cannot accept) raise ValueError.
References: MQTT 3.1.1 (OASIS) sections 2.2 (fixed header), 3.1-3.14 (packets).
"""
from micropython import const

# packet types (2.2.1); the control packets a broker sends back (CONNACK, PUBACK, SUBACK,
# UNSUBACK, PINGRESP) are decoded by the session (session.py), which names its own and
# writes PINGREQ and DISCONNECT (two constant bytes each) itself
_PUBLISH = const(3)

_MAX_REMAINING = const(268435455)  # 2.2.3: four length bytes at most


def connack_text(rc):
    """The meaning of a CONNACK return code (3.2.2.3, Table 3.1)."""
    t = ("accepted", "unacceptable protocol version", "identifier rejected",
         "server unavailable", "bad user name or password", "not authorized")
    if 0 <= rc < len(t):
        return t[rc]
    return "unknown return code %d" % rc


def _u8(s):
    return s.encode() if isinstance(s, str) else s if type(s) is bytes else bytes(s)


def varint_into(buf, pos, n):
    """Write the remaining length n (2.2.3) at buf[pos]; return the new position."""
    if n < 0 or n > _MAX_REMAINING:
        raise ValueError("remaining length out of range")
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            buf[pos] = b | 0x80
            pos += 1
        else:
            buf[pos] = b
            return pos + 1


def varint_size(n):
    if n < 128:
        return 1
    if n < 16384:
        return 2
    if n < 2097152:
        return 3
    return 4


def _str_into(buf, p, t):
    """Write bytes t (at most 65535, checked by the caller) as an MQTT string (two length
    bytes first, 1.5.3) at buf[p]; the new p."""
    k = len(t)
    buf[p] = k >> 8
    buf[p + 1] = k & 0xFF
    buf[p + 2:p + 2 + k] = t
    return p + 2 + k


def check_topic(topic, wildcards=False):
    """Topic name / filter rules of 4.7: not empty, no NUL, no wildcards in a name."""
    t = _u8(topic)
    if not t or len(t) > 65535 or b"\x00" in t:
        raise ValueError("bad topic")
    if not wildcards and (b"+" in t or b"#" in t):
        raise ValueError("wildcard in a topic name")
    return t


def encode_connect(client_id, keepalive=60, clean=True, will=None, username=None, password=None):
    """CONNECT (3.1). will = (topic, payload, qos, retain) or None; keepalive in seconds."""
    if not 0 <= keepalive <= 65535:
        raise ValueError("keepalive out of range")
    flags = 0x02 if clean else 0
    fs = [_u8(client_id)]
    if will is not None:
        wt, wp, wq, wr = will
        if wq not in (0, 1, 2):
            raise ValueError("bad will qos")
        flags |= 0x04 | (wq << 3) | (0x20 if wr else 0)
        fs += (check_topic(wt), _u8(wp))
    if username is not None:
        flags |= 0x80
        fs.append(_u8(username))
    if password is not None:
        if username is None:
            raise ValueError("a password needs a user name (3.1.2.9)")
        flags |= 0x40
        fs.append(_u8(password))
    n = 10
    for f in fs:
        if len(f) > 65535:
            raise ValueError("string longer than 65535 bytes")
        n += 2 + len(f)
    out = bytearray(1 + varint_size(n) + n)
    out[0] = 0x10
    p = varint_into(out, 1, n)
    out[p:p + 7] = b"\x00\x04MQTT\x04"
    out[p + 7] = flags
    out[p + 8] = keepalive >> 8
    out[p + 9] = keepalive & 0xFF
    p += 10
    for f in fs:
        p = _str_into(out, p, f)
    return bytes(out)


def publish_header_into(buf, topic, payload_len, qos=0, retain=False, dup=False, pid=0, tail=b""):
    """Write a PUBLISH fixed header, topic (topic then tail: a root and a suffix, not joined
    first) and packet id into buf; return its length, or -1 if buf is too short (nothing of
    value written). The payload (payload_len bytes) follows on the wire; the caller writes it
    separately, so neither is copied. topic must be bytes-like, already checked (check_topic).
    """
    if qos not in (0, 1):
        raise ValueError("qos 0 or 1 only")
    if qos and not 1 <= pid <= 65535:
        raise ValueError("packet id must be 1..65535 (2.3.1)")
    hl = len(topic)
    tl = hl + len(tail)
    rem = 2 + tl + (2 if qos else 0) + payload_len
    if 1 + varint_size(rem) + rem - payload_len > len(buf):
        return -1
    buf[0] = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    p = varint_into(buf, 1, rem)
    buf[p] = tl >> 8
    buf[p + 1] = tl & 0xFF
    p += 2
    buf[p:p + hl] = topic
    buf[p + hl:p + tl] = tail
    p += tl
    if qos:
        buf[p] = pid >> 8
        buf[p + 1] = pid & 0xFF
        p += 2
    return p


def publish_head_before(buf, end, topic, tail_at, tail_len, payload_len, dup, pid):
    """Write, in place, the header of a QoS 1 PUBLISH whose payload (payload_len bytes on the
    wire) begins at buf[end]: fixed header, topic then the tail_len bytes now at buf[tail_at]
    (moved to their place), packet id. An outbox record as it lies in the store's buffer, its
    suffix before its payload (docs/mqtt.md "RAM"): nothing is copied but the suffix. Returns
    where the packet starts, -1 if buf has no room before it (nothing written)."""
    tl = len(topic) + tail_len
    rem = 4 + tl + payload_len
    s = end - 5 - tl - varint_size(rem)
    if s < 0 or not 1 <= pid <= 65535:
        return -1
    d = end - 2 - tail_len
    if d < tail_at:       # the tail moves down (forward copy) or up (backward copy)
        for i in range(tail_len):
            buf[d + i] = buf[tail_at + i]
    else:
        for i in range(tail_len - 1, -1, -1):
            buf[d + i] = buf[tail_at + i]
    buf[end - 2] = pid >> 8
    buf[end - 1] = pid & 0xFF
    buf[s] = 0x3A if dup else 0x32
    p = varint_into(buf, s + 1, rem)
    buf[p] = tl >> 8
    buf[p + 1] = tl & 0xFF
    buf[p + 2:d] = topic
    return s


def encode_puback(pid):
    """PUBACK of pid (3.4), a new object (the session writes its one buffer in place)."""
    if not 1 <= pid <= 65535:
        raise ValueError("packet id must be 1..65535")
    b = bytearray(b"\x40\x02\x00\x00")
    b[2] = pid >> 8
    b[3] = pid & 0xFF
    return b


def encode_subscribe(pid, filters, root=b""):
    """SUBSCRIBE (3.8): filters is a sequence of (topic filter, max qos), each filter written
    after root (bytes; a link's b'faxbridge/<unit>/': no joined filter made). Sized first, then
    written into one buffer (no body grown by concatenation), which is returned."""
    if not filters:
        raise ValueError("SUBSCRIBE needs at least one filter (3.8.3)")
    if not 1 <= pid <= 65535:
        raise ValueError("packet id must be 1..65535")
    n = 2
    r = len(root)
    for f, q in filters:
        if q not in (0, 1, 2):
            raise ValueError("bad qos")
        n += 3 + r + len(check_topic(f, True))
    out = bytearray(1 + varint_size(n) + n)
    out[0] = 0x82
    p = varint_into(out, 1, n)
    out[p] = pid >> 8
    out[p + 1] = pid & 0xFF
    p += 2
    for f, q in filters:
        t = _u8(f)
        k = r + len(t)
        out[p] = k >> 8
        out[p + 1] = k & 0xFF
        out[p + 2:p + 2 + r] = root
        out[p + 2 + r:p + 2 + k] = t
        p += 2 + k
        out[p] = q
        p += 1
    return out


_HDR = const(0)
_LEN = const(1)
_BODY = const(2)    # a whole non-PUBLISH packet into the buffer
_TLEN = const(3)    # PUBLISH: the two topic length bytes
_TOPIC = const(4)   # PUBLISH: the topic (kept up to the buffer's size, the rest skipped)
_PID = const(5)     # PUBLISH: the packet id (QoS 1 and 2)
_DATA = const(6)    # PUBLISH: the payload, passed on as it arrives


class Parser:
    """Incremental, streaming packet parser with one preallocated buffer (no allocation per
    packet or per byte). The session is one (core/mqtt/session.Session is its subclass: its
    own sink).

    parse(data, sink) consumes all of data (bytes-like, any split) and calls on the sink:
      sink.packet(ptype, flags, buf, n)     a whole non-PUBLISH packet: its body is buf[:n],
                                            buf the parser's buffer (a memoryview; valid
                                            during the call; no view made per packet)
      sink.pub_start(flags, topic, pid, n)  a PUBLISH: topic a memoryview of its bytes (None
                                            when longer than the buffer), n the payload length
      sink.pub_data(mv)                     the next piece of that payload (a view of data)
      sink.pub_end()                        the payload is complete
    A PUBLISH payload is never held: any length passes through. Other packets longer than the
    buffer are a ValueError (a broker sends none: CONNACK, PUBACK, SUBACK are a few bytes).
    """

    def __init__(self, size=256):
        self.mv = memoryview(bytearray(size))   # the buffer, through its one view
        self.reset()

    def reset(self):
        self._st = _HDR
        self._first = 0
        self._rem = 0
        self._got = 0      # bytes of the current field so far (the remaining length's too)
        self._want = 0
        self._id = 0

    def parse(self, data, sink):
        mv = data if type(data) is memoryview else memoryview(data)
        i = 0
        n = len(mv)
        cap = len(self.mv)
        while i < n:
            st = self._st
            if st == _DATA:
                take = self._rem
                if take > n - i:
                    take = n - i
                self._rem -= take
                sink.pub_data(mv if take == n else mv[i:i + take])   # a whole read: no new view
                i += take
                if not self._rem:
                    self._st = _HDR
                    sink.pub_end()
            elif st == _HDR:
                b = mv[i]
                if b == 0x40 and i + 4 <= n and mv[i + 1] == 2:
                    # a whole PUBACK in this chunk (3.4; one per event sent): to the sink at
                    # once, not byte by byte through the states (issue 15's MQTT rate)
                    self._first = b
                    self._rem = 2
                    self.mv[0] = mv[i + 2]
                    self.mv[1] = mv[i + 3]
                    i += 4
                    sink.packet(4, 0, self.mv, 2)
                    continue
                i += 1
                t = b >> 4
                if t == 0 or t == 15:
                    raise ValueError("reserved packet type %d" % t)
                self._first = b
                self._rem = 0
                self._got = 0
                self._st = _LEN
            elif st == _LEN:
                b = mv[i]
                i += 1
                g = self._got
                self._rem += (b & 0x7F) << 7 * g   # 2.2.3: 7 bits a byte, low first
                self._got = g + 1
                if b & 0x80:
                    if g == 3:
                        raise ValueError("remaining length longer than 4 bytes")
                    continue
                self._got = 0
                if self._first >> 4 == _PUBLISH:
                    if (self._first >> 1) & 3 == 3:
                        raise ValueError("PUBLISH with qos 3")
                    if self._rem < 2:
                        raise ValueError("PUBLISH too short")
                    self._want = 2
                    self._st = _TLEN
                elif self._rem > cap:
                    raise ValueError("packet type %d of %d bytes, more than the %d-byte buffer"
                                        % (self._first >> 4, self._rem, cap))
                else:
                    self._st = _BODY
                    if not self._rem:
                        self._emit(sink)
            elif st == _BODY:
                take = self._rem - self._got
                if take > n - i:
                    take = n - i
                g = self._got
                self.mv[g:g + take] = mv[i:i + take]
                self._got = g + take
                i += take
                if self._got == self._rem:
                    self._emit(sink)
            else:  # _TLEN, _TOPIC, _PID: the variable header, byte by byte (a few dozen)
                b = mv[i]
                i += 1
                g = self._got
                self._got = g + 1
                if st == _TLEN:
                    self._id = (self._id << 8) | b if g else b
                    if g:
                        tl = self._id
                        self._id = 0
                        q = (self._first >> 1) & 3
                        if 2 + tl + (2 if q else 0) > self._rem:
                            raise ValueError("PUBLISH topic overruns packet")
                        self._want = tl
                        self._got = 0
                        self._st = _TOPIC if tl else self._after_topic(sink)
                elif st == _TOPIC:
                    if g < cap:
                        self.mv[g] = b
                    if self._got == self._want:
                        self._st = self._after_topic(sink)
                else:
                    self._id = (self._id << 8) | b
                    if g:
                        if not self._id:
                            raise ValueError("PUBLISH with packet id 0")
                        self._st = self._start(sink)
                if self._st == _HDR:
                    sink.pub_end()

    def _after_topic(self, sink):
        self._rem -= 2 + self._want
        if (self._first >> 1) & 3:
            self._rem -= 2
            self._id = 0
            self._got = 0
            return _PID
        self._id = 0
        return self._start(sink)

    def _start(self, sink):
        tl = self._want
        sink.pub_start(self._first & 0x0F, self.mv[:tl] if tl <= len(self.mv) else None,
                       self._id, self._rem)
        return _DATA if self._rem else _HDR

    def _emit(self, sink):
        self._st = _HDR
        sink.packet(self._first >> 4, self._first & 0x0F, self.mv, self._rem)
