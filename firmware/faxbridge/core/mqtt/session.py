"""MQTT 3.1.1 client session state machine (sans-I/O).

Time is passed in as `now`: integer milliseconds from any monotonic origin. The adapter:
  - on a new transport: session.start(now); write what session.take() returns;
  - on bytes received: session.feed(data, now); on a timer: session.poll(now);
  - after either, write session.take() (a list, in order) and read session.events() (a list
    of tuples, see EVENTS below). An item of take() is bytes-like (a packet, or a piece of
    one: a QoS 0 PUBLISH is its header then its payload, not copied), or an int for a QoS 1
    PUBLISH the adapter writes itself (publish_ext: an outbox record, outbox.packet): its
    packet id, plus DUP (0x10000) when it is a resend; a packet that can no longer be
    written (its record or file is gone): call forget(pid) instead and write nothing;
  - when the transport fails: delay_ms = session.lost(now, reason); wait; reconnect.
Incoming PUBLISH packets stream to session.rx (an object; None = acknowledge and drop) while
feed() runs, never assembled (docs/mqtt.md "Receiving"):
  rx.on_publish_start(topic, total, retain, dup, pid)   topic: memoryview of its bytes, valid
                                        during the call (None if longer than the parse buffer)
  rx.on_publish_chunk(mv)               the next piece of the payload (valid during the call)
  rx.on_publish_end() -> bool           True: PUBACK it now (QoS 1); False: hold it (no PUBACK
                                        on this connection, the broker delivers it again)
A receiver that raises gets an ("error", text) event and the message is acknowledged.

EVENTS: ("up", session_present) after CONNACK 0; ("refused", rc, text) CONNACK != 0;
("down", reason) the connection ended (the adapter must close the transport);
("suback", pid, granted bytes); ("error", text) a non-fatal problem; and a PUBACK of ours as
its packet id alone, an int (the commonest event, one per event sent: no tuple made).

RAM: the QoS 1 publishes in flight are three preallocated arrays of max_inflight + 2 slots
(packet id, last sent, a packet or None) kept in the order first sent: an outbox event in
flight is its packet id alone (the adapter writes it from the store, docs/mqtt.md "RAM").
The session is its own packet parser (codec.Parser is its base class, the session its sink:
one object); the CONNECT packet is made once, at construction.
"""
from array import array

from micropython import const

from faxbridge.core.mqtt import codec

DOWN = const(0)
_CONNECTING = const(1)
UP = const(2)

# the control packets a broker sends (2.2.1); decoded here, PUBLISH streams through codec.Parser
_CONNACK = const(2)
_PUBACK = const(4)
_SUBACK = const(9)
_UNSUBACK = const(11)
_PINGRESP = const(13)
_SPARE = const(2)          # in-flight slots beyond the window: forced publishes (availability)
_MASK = const(0x3FFFFFFF)  # send times kept modulo 2**30 (a small int on the ESP32 too)
_DUP = const(0x10000)      # take(): an int item with this bit is a resend
_RERR = const(0x100)       # in _first: the receiver failed on this PUBLISH (_rx_error)
# Session._cf: keepalive (ms), the QoS 1 window, CONNACK and PINGRESP timeouts, backoff bounds
_CF_KA = const(0)
_CF_WIN = const(1)
_CF_CONNACK = const(2)
_CF_PING = const(3)
_CF_BMIN = const(4)
_CF_BMAX = const(5)
_CF_RETRY = const(6)
_CF_RAND = const(7)
_CF_CONNECT = const(8)
_CF_PUBACK = const(9)      # the one PUBACK buffer (pub_end)
_CF_TAKEN = const(10)      # the list take() hands out (no new field: a session of 23 fields
#                            keeps its dict a size class smaller)
_CF_EVENTS = const(11)     # the list events() hands out


class Session(codec.Parser):
    def __init__(self, client_id, *, keepalive=60, clean=True, will=None, username=None,
                 password=None, header_size=256, max_inflight=8, retry_ms=20000,
                 connack_timeout_ms=10000, ping_timeout_ms=None, backoff_min_ms=500,
                 backoff_max_ms=60000, rand=None):
        ka = keepalive * 1000
        if ping_timeout_ms is None:
            ping_timeout_ms = min(ka // 2, 10000) if ka else 10000
        # the fixed settings in one tuple, read by the _CF_* indices (fewer fields: the
        # session's dict stays in a smaller size class), the CONNECT packet last: made once
        # (its fields are checked here: ValueError)
        self._cf = (ka, max_inflight, connack_timeout_ms, ping_timeout_ms, backoff_min_ms,
                    backoff_max_ms, retry_ms, rand,
                    codec.encode_connect(client_id, keepalive, clean, will, username, password),
                    bytearray(b"\x40\x02\x00\x00"), [], [])
        codec.Parser.__init__(self, header_size)  # headers only: payloads stream through
        self.rx = None
        # the incoming PUBLISH being received: its qos and pid are the parser's (_first, _id)
        # until the next packet begins; a receiver that failed on it sets _RERR in _first
        self.state = DOWN
        self.attempts = 0
        self.ups = 0             # CONNACKs accepted: which connection a packet arrives on
        self._next_pid = 0
        n = max_inflight + _SPARE   # QoS 1 in flight, in the order first sent (_ni of them)
        self._ipid = array("H", bytes(2 * n))
        self._it = array("I", bytes(4 * n))   # when each was last sent (& _MASK)
        self._ipk = [None] * n      # the packet (publish), None: the adapter writes it
        self._ni = 0
        self._out = []
        self._ev = []
        self._t_rx = 0
        self._t_tx = 0
        self._t_ping = -1        # when the outstanding PINGREQ was sent, -1 = none; while
        #                          connecting: when CONNECT was sent
        self.stats_resent = 0    # PUBLISH sent again with DUP

    # ---- packet ids: 1..65535, never 0, never one still in flight (2.3.1) ----
    def _pid(self):
        for _ in range(65536):
            p = self._next_pid + 1
            if p > 65535:
                p = 1
            self._next_pid = p
            if self.slot(p) < 0:
                return p
        raise RuntimeError("no free packet id")

    def slot(self, pid):
        """The in-flight slot of pid, -1 if it is not in flight."""
        p = self._ipid
        for k in range(self._ni):
            if p[k] == pid:
                return k
        return -1

    def _add(self, pid, pkt, now):
        k = self._ni
        self._ipid[k] = pid
        self._it[k] = now & _MASK
        self._ipk[k] = pkt
        self._ni = k + 1

    def _drop(self, k):
        """Free slot k, the later ones move down (the send order is kept)."""
        n = self._ni - 1
        p = self._ipid
        t = self._it
        o = self._ipk
        while k < n:
            p[k] = p[k + 1]
            t[k] = t[k + 1]
            o[k] = o[k + 1]
            k += 1
        p[n] = 0
        o[n] = None
        self._ni = n

    def _resend(self, k, now):
        """Slot k goes again, DUP set (3.3.1.1)."""
        pkt = self._ipk[k]
        self._it[k] = now & _MASK
        self.stats_resent += 1
        if pkt is None:
            self._send(self._ipid[k] | _DUP, now)
        else:
            pkt[0] |= 0x08
            self._send(pkt, now)

    def _send(self, pkt, now):
        self._out.append(pkt)
        self._t_tx = now

    def pending(self):
        """True when there are bytes to write (take() would return some)."""
        return bool(self._out)

    def take(self):
        """The bytes to write, in order (a list; the session forgets them). The list is the
        session's, valid until the next take() (its items moved there: no list made per
        take); a PUBACK in it is the session's one PUBACK buffer, valid until the next feed()
        (an adapter that awaits before writing it copies it: app/link.py _write)."""
        o = self._out
        if not o:
            return o
        t = self._cf[_CF_TAKEN]
        t.clear()
        t.extend(o)
        o.clear()
        return t

    def events(self):
        """The events since the last call (a list, see EVENTS): the session's, valid until
        the next events() (its items moved there: no list made per call)."""
        e = self._ev
        if not e:
            return e
        t = self._cf[_CF_EVENTS]
        t.clear()
        t.extend(e)
        e.clear()
        return t

    # ---- connection lifecycle ----
    def start(self, now):
        """The transport is connected: send CONNECT."""
        self.reset()
        self._out = []
        self.state = _CONNECTING
        self._t_rx = now
        self._t_ping = now       # CONNECT sent (the CONNACK timeout); -1 again at any packet
        self._send(self._cf[_CF_CONNECT], now)

    def lost(self, now, reason="connection lost"):
        """The transport failed or closed. Returns the delay (ms) before the next attempt."""
        if self.state != DOWN:
            self.state = DOWN
            self._ev.append(("down", reason))
        self._out = []
        return self.backoff_ms()

    def backoff_ms(self):
        """Exponential backoff with jitter: uniform in [d/2, d], d = min(max, min * 2**n)."""
        n = self.attempts
        self.attempts = n + 1
        cf = self._cf
        d = cf[_CF_BMIN] << (n if n < 20 else 20)
        if d > cf[_CF_BMAX]:
            d = cf[_CF_BMAX]
        r = cf[_CF_RAND]() if cf[_CF_RAND] else 0.5
        return d // 2 + int(r * (d - d // 2))

    def disconnect(self, now):
        """Polite end: queue DISCONNECT (the will is then not published)."""
        if self.state != DOWN:
            self._send(b"\xe0\x00", now)   # DISCONNECT (3.14)
            self.state = DOWN
            self._ev.append(("down", "disconnected"))

    def _fail(self, reason):
        self.state = DOWN
        self._ev.append(("down", reason))

    # ---- outgoing ----
    def can_publish(self):
        return self.state == UP and self._ni < self._cf[_CF_WIN]

    def inflight(self):
        return self._ni

    def _qos1(self, force):
        if self.state != UP:
            raise OSError("not connected")
        if (self._ni >= self._cf[_CF_WIN] and not force) or self._ni >= len(self._ipid):
            raise OSError("too many publishes in flight")
        return self._pid()

    def publish(self, topic, payload, qos=0, retain=False, now=0, force=False, tail=b""):
        """Queue a PUBLISH to topic + tail (bytes, checked; a root and a suffix are not joined
        first), payload bytes-like. Returns the packet id
        (0 at QoS 0). QoS 0: only the header is built, take() hands out the payload object
        itself (keep it unchanged until then). QoS 1 (rare control messages: availability, HA
        discovery; events go by publish_ext): the packet is copied whole and kept until PUBACK,
        sent again (DUP) on reconnect. force: beyond the window, into one of two spare slots
        (availability); OSError when none is free."""
        if self.state != UP:
            raise OSError("not connected")
        pid = self._qos1(force) if qos else 0
        pl = len(payload)
        rem = 2 + len(topic) + len(tail) + (2 if qos else 0) + pl
        pkt = bytearray(1 + codec.varint_size(rem) + rem - (pl if not qos else 0))
        n = codec.publish_header_into(pkt, topic, pl, qos, retain, False, pid, tail)
        self._send(pkt, now)
        if not qos:
            self._out.append(payload)
            return 0
        pkt[n:] = payload
        self._add(pid, pkt, now)
        return pid

    def publish_ext(self, now=0):
        """Queue a QoS 1 PUBLISH the adapter writes (an outbox record: its header, topic and
        payload come from the store, outbox.packet). The session keeps its packet id and when
        it was sent, nothing else; take() hands out the id (DUP added on a resend). Returns
        the packet id; OSError when not connected or the window is full."""
        pid = self._qos1(False)
        self._add(pid, None, now)
        self._send(pid, now)
        return pid

    def forget(self, pid):
        """The adapter could not write an adapter-written PUBLISH (its record or file is gone):
        free its slot without an event (the adapter tells the outbox itself)."""
        k = self.slot(pid)
        if k >= 0:
            self._drop(k)

    def subscribe(self, filters, now=0, root=b""):
        """Queue a SUBSCRIBE of filters ((filter, qos), ...), each after root (codec); its pid."""
        if self.state != UP:
            raise OSError("not connected")
        pid = self._pid()
        self._send(codec.encode_subscribe(pid, filters, root), now)
        return pid

    # ---- incoming ----
    def feed(self, data, now):
        if self.state == DOWN:
            return
        self._t_rx = now      # the packets' time too (packet, pub_end)
        try:
            self.parse(data, self)
        except ValueError as e:
            self._fail("protocol error: %s" % e)

    def packet(self, ptype, flags, body, n):
        """Parser sink: one whole non-PUBLISH packet, body[:n]."""
        if self.state == DOWN:
            return
        now = self._t_rx
        self._t_ping = -1  # any packet proves the link alive
        if ptype == _CONNACK:   # 3.2: session present flag, return code
            if self.state != _CONNECTING:
                raise ValueError("unexpected CONNACK")
            if n != 2 or body[0] & 0xFE:
                raise ValueError("malformed CONNACK")
            rc = body[1]
            if rc:
                t = codec.connack_text(rc)
                self._ev.append(("refused", rc, t))
                self._fail("broker refused the connection: %s (CONNACK %d)" % (t, rc))
                return
            self.state = UP
            self.attempts = 0
            self.ups += 1
            self._ev.append(("up", bool(body[0] & 1)))
            for k in range(self._ni):   # what is in flight goes again, DUP set (3.3.1.1, 4.4)
                self._resend(k, now)
        elif self.state != UP:
            raise ValueError("packet type %d before CONNACK" % ptype)
        elif ptype == _PUBACK:   # 3.4: the packet id
            pid = (body[0] << 8) | body[1] if n == 2 else 0
            if not pid:
                raise ValueError("malformed PUBACK")
            k = self.slot(pid)
            if k >= 0:
                self._drop(k)
                self._ev.append(pid)
        elif ptype == _SUBACK:   # 3.9: the packet id, a return code per filter (0x80 = failure)
            if n < 3:
                raise ValueError("malformed SUBACK")
            self._ev.append(("suback", (body[0] << 8) | body[1], bytes(body[2:n])))
        elif ptype != _PINGRESP and ptype != _UNSUBACK:
            raise ValueError("unexpected packet type %d" % ptype)

    def pub_start(self, flags, topic, pid, total):
        """Parser sink: a PUBLISH begins (see the module docstring for what rx gets)."""
        if self.state != UP:
            raise ValueError("PUBLISH before CONNACK")
        q = (flags >> 1) & 3
        if q == 2:
            # we subscribe at QoS 1 at most, so a broker never sends QoS 2 (3.8.4)
            raise ValueError("QoS 2 PUBLISH not supported")
        self._t_ping = -1
        if self.rx is not None:
            try:
                self.rx.on_publish_start(topic, total, bool(flags & 1), bool(flags & 8), pid)
            except Exception as e:  # a receiver bug must not kill the link
                self._rx_error(e)

    def pub_data(self, mv):
        if self.rx is not None and not self._first & _RERR:
            try:
                self.rx.on_publish_chunk(mv)
            except Exception as e:
                self._rx_error(e)

    def pub_end(self):
        ack = True
        if self.rx is not None and not self._first & _RERR:
            try:
                ack = self.rx.on_publish_end()
            except Exception as e:
                self._rx_error(e)
        if self._first & 6 and ack and self.state == UP:   # QoS 1: its pid is the parser's
            # into the one PUBACK buffer, unless it is still queued (a second PUBLISH in the
            # same feed): then a buffer of its own (no object per PUBACK otherwise)
            b = self._cf[_CF_PUBACK]
            o = self._out
            for k in range(len(o)):
                if o[k] is b:
                    b = codec.encode_puback(self._id)
                    break
            else:   # its first two bytes stay 0x40 0x02 (3.4.1); the pid is the parser's (1..65535)
                i = self._id
                b[2] = i >> 8
                b[3] = i & 0xFF
            self._send(b, self._t_rx)

    def _rx_error(self, e):
        self._first |= _RERR   # the rest of this PUBLISH is not passed on (the parser resets it)
        self._ev.append(("error", "message handler: %r" % (e,)))

    # ---- timers ----
    def poll(self, now):
        """Fire timers. Returns ms until the next timer is due (for the adapter's sleep)."""
        if self.state == DOWN:
            return 1000
        cf = self._cf
        if self.state == _CONNECTING:
            left = cf[_CF_CONNACK] - (now - self._t_ping)
            if left <= 0:
                self._fail("no CONNACK within %d ms" % cf[_CF_CONNACK])
                return 1000
            return left
        nxt = 60000
        if self._t_ping >= 0:
            left = cf[_CF_PING] - (now - self._t_ping)
            if left <= 0:
                self._fail("no PINGRESP within %d ms" % cf[_CF_PING])
                return 1000
            nxt = left
        elif cf[_CF_KA]:
            ka = cf[_CF_KA]
            idle = now - (self._t_tx if self._t_tx < self._t_rx else self._t_rx)
            if idle >= ka:
                self._send(b"\xc0\x00", now)   # PINGREQ (3.12)
                self._t_ping = now
                nxt = cf[_CF_PING]
            elif ka - idle < nxt:
                nxt = ka - idle
        r = cf[_CF_RETRY]
        if r:
            t = self._it
            for k in range(self._ni):
                left = r - ((now - t[k]) & _MASK)
                if left <= 0:
                    self._resend(k, now)
                    left = r
                if left < nxt:
                    nxt = left
        return nxt if nxt > 0 else 1
