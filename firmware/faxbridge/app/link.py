"""The MQTT link: connection, session, outbox and events over app/transport; the commands
coming in are its base class's, app/inbox.Inbox, and its sending half (the outbox pumped, the
session's packets written to the socket, the write timeout) is app/linksend.py's functions,
bound here as its methods (docs/mqtt.md).
Usage: docs/mqtt.md "API (stable)". Its parts elsewhere: Home Assistant discovery
(core/mqtt/discovery.announce), the backoff's jitter (transport.urandom_float).

Commands stream in (never assembled). Each gets exactly one answer, persisted in the outbox
before its PUBACK; with no room for an answer the inbox holds the broker off (no processing, no
PUBACK) and the link reconnects once there is room, so the broker delivers them again.
"""
import asyncio
from micropython import const

from faxbridge.app import echo, linksend, rx, transport
from faxbridge.app.clock import Monotonic
from faxbridge.app.inbox import Inbox
from faxbridge.core.mqtt import commands, contract, jsonw, outbox, session

_TICK_MS = const(200)  # the driver's timer resolution (keepalive, CONNACK, retry, write timeouts)
# the fixed settings, one tuple read by these indices (fewer fields: the link's dict stays in
# a smaller size class); the address last: looked up at the first connect, again after a failure
_HOST = const(0)
_PORT = const(1)
_TLS = const(2)      # the TLS context or None
_SNI = const(3)
_NODELAY = const(4)
_CONNECT_MS = const(5)
_WRITE_MS = const(6)
_CHUNK = const(7)    # file_chunk
_DISC = const(8)     # (HA prefix, firmware version, root_s) or None
_UNIT = const(9)
_ON_ERROR = const(10)
_ADDR = const(11)


class Link(Inbox):
    """One unit's MQTT link. Keyword options are documented in docs/mqtt.md (API)."""

    def __init__(self, unit, host, port, store, *, prefix=contract.PREFIX,
                 username=None, password=None, tls=None, ca=None, cert=None, key=None,
                 server_name=None, keepalive=60, clean=False, client_id=None, verify=True,
                 verify_ms=5000, rx_buffer=2048, max_inflight=8, capacity=32768,
                 max_records=512, connect_timeout_ms=10000, write_timeout_ms=30000,
                 backoff_min_ms=500, backoff_max_ms=60000, rand=None,
                 default_sender="center", on_error=None, nodelay=True, seen=None, spool=None,
                 answer_reserve=4096, discovery=None, file_chunk=512, clock=None):
        root_s = contract.root(unit, prefix)   # checks the unit id and the prefix
        if tls is True:
            tls = transport.make_tls(cafile=ca, certfile=cert, keyfile=key)
        self._cf = (host, port, tls or None, server_name or host, nodelay, connect_timeout_ms,
                    write_timeout_ms, file_chunk, discovery and (discovery[0], discovery[1], root_s),
                    unit, on_error, None)
        self.root = (root_s + "/").encode()
        self.default_sender = default_sender
        self.on_command = None
        self.clock = clock or Monotonic()   # the unit's, passed in: one clock, not two
        self.verify = verify_ms if verify else 0   # the echo check (app/echo.py), 0: off
        self.denied = 0
        self.ep = echo.slots() if verify else None
        will = (root_s + "/" + contract.AVAILABILITY, contract.OFFLINE, 1, True)
        self.session = session.Session(
            client_id or ("fb-" + unit), keepalive=keepalive, clean=clean, will=will,
            username=username, password=password, header_size=len(self.root) + commands.MAX_TOPIC,
            max_inflight=max_inflight, connack_timeout_ms=connect_timeout_ms,
            backoff_min_ms=backoff_min_ms, backoff_max_ms=backoff_max_ms,
            rand=rand or transport.urandom_float)
        # socket reads, and a whole cancel/telegram kept where it was read (app/inbox.py): so
        # at least the largest of them
        self.rxbuf = bytearray(max(rx_buffer, commands.MAX_TELEGRAM))
        super().__init__(seen, spool)   # the receiving half (app/inbox.py)
        self.session.rx = self
        if getattr(store, "room", 1 << 16) < len(self.root):
            store.room = len(self.root)   # a long prefix and unit id: outbox.packet's header room
        # the ring of events in flight as wide as the session's window (out-of-order PUBACKs
        # only make the pump wait for the oldest)
        self.outbox = outbox.Outbox(store, capacity, max_records, answer_reserve=answer_reserve,
                                    window=max_inflight)
        self.files_done = 0   # file-backed events acknowledged and their files deleted
        self.last_error = None
        self.errors = 0
        self.tseq = 0
        # Home Assistant discovery on this connection (docs/ha.md): -1, or (the next config,
        # the packet id of the last one: the next waits for it), as discovery.announce gives
        self._disc = -1
        self._wake = asyncio.Event()
        self._stopping = False
        self._c = None
        self._rx_err = None
        self._t_flush = -1
        self._subpid = 0   # the last SUBSCRIBE's packet id, 0: none sent yet

    # ---- the application's side ----
    def event(self, suffix, pairs, cls=None):
        """Accept one event for <root>/<suffix> (contract.EVENT_TOPICS). Persisted before it
        returns; returns its seq. Raises outbox.OutboxFull per the full policy."""
        if suffix not in contract.EVENT_TOPICS:
            raise ValueError("not an event topic: %s" % suffix)
        if cls is None:
            if self.ans == 1:
                cls = contract.ANSWER
            elif suffix == contract.CMD_ERROR:
                cls = contract.PROGRESS
            else:
                cls = contract.RESULT
                if suffix == contract.FAX_STATUS:   # contract.fax_status's fields
                    for i in range(0, len(pairs), 2):
                        if pairs[i] == "final":   # a key once: no need to look on
                            cls = contract.RESULT if pairs[i + 1] else contract.PROGRESS
                            break
        ob = self.outbox
        st = ob.store
        w = getattr(st, "buf", None)
        o = m = 0
        v = True
        if w is not None:
            # built in place: where FileStore.append puts the record's payload in its record
            # buffer, after the 8-byte header, the suffix's length byte and the suffix; before
            # the 4-byte CRC. The store is handed its length alone (no view made)
            o = 9 + len(suffix)
            m = len(w) - 4
            v = 2
        seq = ob.accept(cls, suffix, contract.event(self._cf[_UNIT], ob.last + 1, pairs, v, w, o, m))
        if self.ans:
            self.ans = 2
        self._wake.set()
        return seq

    def event_file(self, suffix, ref, pairs=(), cls=contract.RESULT):
        """Accept one file-backed event for <root>/<suffix>: its payload is the JSON head
        {"unit":..,"seq":N,<pairs>} and a newline, then the file ref (a path) streamed when
        sent; the link deletes the file once the broker has it (PUBACK). Persisted before it
        returns; returns its seq. Raises outbox.OutboxFull; ValueError for a ref with a newline
        or a character past ASCII (the unit's own paths have none).
        The record's payload (ref, a newline, the head, a newline: outbox.accept_file's) is
        written in place in the store's record buffer, as event() does: no head, ref or
        joined copy made (672 -> 160 B a received page, 64-bit)."""
        ob = self.outbox
        w = getattr(ob.store, "buf", None)
        if w is None:           # a store without a record buffer (host tools): the copies
            seq = ob.accept_file(cls, suffix, ref, contract.event(
                self._cf[_UNIT], ob.last + 1, pairs) + b"\n")
        else:
            o = i = 9 + len(suffix)     # after the record's header and suffix (event())
            m = len(w) - 5              # before its CRC and the head's newline
            for c in ref:
                c = ord(c)
                if c == 10 or c > 126 or i >= m:
                    raise ValueError("file name %r not taken" % ref)
                w[i] = c
                i += 1
            w[i] = 10
            i += 1
            i += contract.event(self._cf[_UNIT], ob.last + 1, pairs, 2, w, i, m)
            w[i] = 10
            seq = ob.accept(cls | outbox.FILE, suffix, i + 1 - o)   # in place: its length
        self._wake.set()
        return seq

    def telemetry(self, pairs=()):
        """Queue a telemetry message (QoS 0, never stored; only the newest unsent is kept): the
        unit's fields `pairs`, then the outbox's and the link's counters as two groups (one
        tuple of values per group, no pairs; docs/mqtt.md "Topics"), written straight into the
        store's buffer. One too large to build is logged (on_error) and not sent (_built)."""
        self.tseq += 1
        ob = self.outbox
        s = self.session
        p = self._built("telemetry", contract.telemetry, self._cf[_UNIT], ob.last, self.tseq, pairs, (
            ("outbox", "depth,bytes,last_seq,dropped_telemetry,refused_progress,refused_result,"
             "refused_answer,lost_files",
             (ob.depth(), ob.store.used(), ob.last, ob.dropped_telemetry, ob.refused_progress,
              ob.refused_result, ob.refused_answer, ob.lost_files)),
            ("link", "state,connects,errors,denied,resent,held,redelivered,last_error",
             (self.state(), s.ups, self.errors, self.denied,
              s.stats_resent, self.held, self.redelivered, self.last_error))))
        if p is not None:
            self.outbox.set_telemetry(p)
            self._wake.set()

    def _built(self, what, fn, *a):
        """fn(*a, buf): a payload built in the store's record buffer (free between records) or,
        larger than it (long names), in a one-off buffer of jsonw.MAX_PAYLOAD bytes; None,
        `what` logged as not sent, when it does not fit even there or the heap has no room
        for that buffer (docs/mqtt.md "RAM")."""
        w = getattr(self.outbox.store, "whole", None)
        try:
            try:
                return fn(*a, w)
            except ValueError:
                if w is None or len(w) >= jsonw.MAX_PAYLOAD:
                    raise
            return fn(*a, bytearray(jsonw.MAX_PAYLOAD))
        except ValueError as e:
            self.error("%s not sent: %r" % (what, e))
        except MemoryError:     # its text made without the error's (make bench 09:40: a log
            if w is not None:   # saying MemoryError fails the run); the writer let go of a
                jsonw.begin(w)  # one-off buffer it was given (rv25: held till the next payload)
            self.error(what + " not sent: no memory")

    def state(self):
        return ("down", "connecting", "up")[self.session.state]   # session.DOWN, _CONNECTING, UP

    def has_room(self):
        """Room in the outbox for a command's answer (contract.ANSWER, commands.MAX_ANSWER)."""
        return self.outbox.has_room(contract.ANSWER, commands.MAX_ANSWER)

    async def stop(self, timeout_ms=2000):
        """Publish `offline`, disconnect politely; run() then commits the acks and returns
        (await its task to know it has)."""
        self._stopping = True
        s = self.session
        if s.state == session.UP and self._c is not None:
            try:
                now = self.clock.ms()
                s.publish(self.root, contract.OFFLINE, 1, True, now, True, b"availability")
                s.disconnect(now)
                await asyncio.wait_for(self._flush(), timeout_ms / 1000)
            except Exception:
                pass
        self._wake.set()

    # ---- the sending half: app/linksend.py's plain functions, the link's methods ----
    _pump = linksend._pump
    _flush = linksend._flush
    _write = linksend._write
    _ticker = linksend._ticker

    # ---- connection ----
    def error(self, text):
        """Count and report an error of the link (last_error, errors, the on_error callback)."""
        self.last_error = text
        self.errors += 1
        f = self._cf[_ON_ERROR]
        if f:
            try:
                f(text)
            except Exception:
                pass

    def _handle(self, now):
        evs = self.session.events()
        for ev in evs:
            if type(ev) is int:   # a PUBACK: its packet id
                ref = self.outbox.on_puback(ev, now)
                if ref is not None:
                    self.files_done += 1
                    rx.delivered(ref)
                continue
            k = ev[0]
            if k == "up":
                if self.session.state != session.UP:
                    continue  # it died again in the same read: the "down" event follows
                # a session the broker kept has our subscriptions: subscribing again would make
                # it send every retained command once more (MQTT 3.1.1, 3.8.4)
                if not ev[1] or not self._subpid:
                    self._subpid = self.session.subscribe(
                        _SUBS[:4] if self.verify else _SUBS[:1], now, self.root)
                try:
                    self.session.publish(self.root, contract.ONLINE, 1, True, now, True, b"availability")
                except OSError:
                    pass   # both spare slots hold earlier ONLINEs, resent now: the same news
                self._disc = (0, 0) if self._cf[_DISC] else -1
                if self.verify:
                    echo.reset(self, now)
            elif k == "suback":
                if ev[1] == self._subpid:
                    g = ev[2]
                    for i in range(len(g)):
                        if g[i] == 0x80 and i < (4 if self.verify else 1):
                            self.error("broker refused the subscription to %s%s (SUBACK 0x80:"
                                        " ACL?)" % (str(self.root, "utf-8"), str(_SUBS[i][0], "utf-8")))
            elif k == "refused":
                self.error("broker refused the connection: %s (CONNACK %d)" % (ev[2], ev[1]))
            elif k == "down":
                if not self._stopping and ev[1] not in ("disconnected", self.last_error, _HOLD_OFF):
                    self.error(ev[1])
            elif k == "error":
                self.error(ev[1])
        evs.clear()   # the session's list (session.events): its tuples not held on

    async def _backoff(self, ms):
        """Sleep ms before the next attempt (in slices, so that stop() ends it)."""
        end = self.clock.ms() + ms
        while not self._stopping:
            left = end - self.clock.ms()
            if left <= 0:
                return
            await transport.sleep_ms(left if left < _TICK_MS else _TICK_MS)

    async def run(self):
        """Connect, keep connected, deliver the outbox, serve commands; until stop()."""
        sess = self.session
        wake = self._wake
        while not self._stopping:
            try:
                cf = self._cf
                if cf[_ADDR] is None:
                    self._cf = cf = cf[:_ADDR] + (transport.resolve(cf[_HOST], cf[_PORT]),)
                tmo = cf[_CONNECT_MS] / 1000
                c = await asyncio.wait_for(transport.connect(cf[_ADDR], cf[_TLS], cf[_SNI], tmo,
                                                             cf[_NODELAY]), tmo)
            except Exception as e:
                cf = self._cf
                self._cf = cf[:_ADDR] + (None,)   # look the name up again next time
                # a MemoryError in words (its repr fails the bench's run; docs/mqtt.md)
                self.error("cannot connect to %s:%d: %s" % (cf[_HOST], cf[_PORT], "no memory"
                            if isinstance(e, MemoryError) else repr(e)))
                await self._backoff(sess.lost(self.clock.ms(), "connect failed"))
                continue
            self._c = c
            self._rx_err = None
            self._t_flush = -1
            self.holding = False
            self.keep = 0
            self.at = -1
            sess.start(self.clock.ms())
            rt = asyncio.create_task(self._reader(c))
            tt = asyncio.create_task(self._ticker(c))
            try:
                # the driver, here rather than a coroutine of its own (one frame less per
                # connection): until the session ends (once: the backoff counts each failure
                # once), held commands need a new connection, or stop()
                while not self._stopping and self._rx_err is None:
                    now = self.clock.ms()
                    self._handle(now)
                    if sess.state == session.DOWN:
                        break
                    if sess.state == session.UP:
                        self._pump(now)
                        if self.verify:
                            echo.check(self, now)
                    self.outbox.poll(now)
                    sess.poll(now)
                    self._handle(now)
                    if sess.state == session.DOWN:
                        break
                    if sess.pending():
                        self._t_flush = now
                        r = self._write(sess.take(), 0)
                        await (c.drain() if r is None else self._flush(r))
                        if self._t_flush >= 0:
                            self._t_flush = -1
                    if self.holding and self.has_room():
                        # held commands: the broker delivers them again on a new connection (4.4)
                        self._rx_err = _HOLD_OFF
                        break
                    if not wake.is_set():
                        await wake.wait()
                    wake.clear()
            except Exception as e:
                if not self._stopping and self._t_flush != -2:
                    self._rx_err = "link failed: no memory" if isinstance(e, MemoryError) \
                        else "link failed: %r" % (e,)
                    self.error(self._rx_err)
            if self._t_flush == -2:   # logged once, as the "down" event's reason (_handle)
                self._rx_err = "write timed out after %d ms" % self._cf[_WRITE_MS]
            rt.cancel()
            tt.cancel()
            rt = tt = None      # MicroPython keeps what dead locals held: the tasks' frames
            self._c = None
            await c.close()
            c = None            # and the closed stream, until the next connection
            self.outbox.poll(self.clock.ms())
            if self._stopping:
                break
            now = self.clock.ms()
            delay = sess.lost(now, self._rx_err or "connection lost")
            self._handle(now)
            if self._rx_err == _HOLD_OFF:
                delay = 0
                sess.attempts = 0
            await self._backoff(delay)
        self.outbox.close(self.clock.ms())


# the filters under <root>/ and their QoS, in SUBSCRIBE order: commands (contract.CMD_FILTER,
# QoS 1), then the echo check's (the link subscribes to all 4 with verify, else to the first);
# bytes, written after the root into the packet (codec.encode_subscribe): no filter joined
_SUBS = ((b"cmd/#", 1), (b"fax/+", 0), (b"cafis/+", 0), (b"availability", 0))
_HOLD_OFF = "hold-off: reconnecting for the held commands"

