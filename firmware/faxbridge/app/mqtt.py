"""The MQTT link: asyncio adapter driving core.mqtt (session + outbox) on MicroPython and CPython.

    link = Link("u1", "192.0.2.10", store=FileStore("/outbox"))
    link.on_command = handler            # handler(cmd): cmd is commands.Fax/Cancel/Telegram
    asyncio.create_task(link.run())
    seq = link.event(contract.FAX_STATUS, contract.fax_status(...))   # OutboxFull if full
    link.telemetry((("uptime", 12), ("heap", 51234)))

Sockets are non-blocking and every wait has a timeout, so the link never stalls another task
(the only blocking call is the DNS lookup of a host name; give an IP address on the board, the
result is cached). TCP_NODELAY is set on the raw socket. See docs/mqtt.md for the full API.
"""
import os
import sys

import asyncio

from faxbridge.core.mqtt import commands, contract, outbox, session

MICROPYTHON = sys.implementation.name == "micropython"
TICK_MS = 200  # the driver's timer resolution (keepalive, CONNACK, retry, write timeouts)

if MICROPYTHON:
    import socket as _socket
    import time

    # the esp32 port exports both (1.2x); the unix port does not: Linux and lwIP use 6 and 1
    _IPPROTO_TCP = getattr(_socket, "IPPROTO_TCP", 6)
    _TCP_NODELAY = getattr(_socket, "TCP_NODELAY", 1)
else:
    import socket as _socket
    import time

    _IPPROTO_TCP = _socket.IPPROTO_TCP
    _TCP_NODELAY = _socket.TCP_NODELAY


def _urandom_float():
    return os.urandom(2)[0] / 256 + os.urandom(1)[0] / 65536


class Clock:
    """Monotonic milliseconds as an unbounded int (ticks_ms wraps on MicroPython)."""

    def __init__(self):
        if MICROPYTHON:
            self._t = time.ticks_ms()
            self._ms = 0
        else:
            self._t0 = time.monotonic()

    def __call__(self):
        if MICROPYTHON:
            t = time.ticks_ms()
            self._ms += time.ticks_diff(t, self._t)
            self._t = t
            return self._ms
        return int((time.monotonic() - self._t0) * 1000)


def pem_to_der(data):
    """The first certificate of a PEM text as DER bytes (DER input is returned unchanged)."""
    if isinstance(data, str):
        data = data.encode()
    i = data.find(b"-----BEGIN CERTIFICATE-----")
    if i < 0:
        return bytes(data)
    j = data.find(b"-----END CERTIFICATE-----", i)
    if j < 0:
        raise ValueError("PEM certificate without its END line")
    import binascii
    body = data[i + 27:j].replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"")
    return binascii.a2b_base64(body)


def make_tls(cafile=None, cadata=None, certfile=None, keyfile=None, verify=True):
    """A client TLS context on either runtime. verify=True requires the server's certificate to
    chain to cafile/cadata and to match the host name (MicroPython's default is NOT to verify)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile or cadata:
            if MICROPYTHON:
                # MicroPython's mbedTLS binding takes one DER certificate
                if cafile:
                    with open(cafile, "rb") as f:
                        cadata = f.read()
                ctx.load_verify_locations(cadata=pem_to_der(cadata))
            else:
                ctx.load_verify_locations(cafile=cafile, cadata=cadata)
        elif not MICROPYTHON:
            ctx.load_default_certs()
    else:
        if not MICROPYTHON:
            ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


async def _open(addr, tls, server_hostname, timeout_s, nodelay=True):
    """Non-blocking TCP (+TLS) connect with TCP_NODELAY. Returns (reader, writer)."""
    if MICROPYTHON:
        import socket
        from errno import EINPROGRESS
        import asyncio.stream as stream

        s = socket.socket(addr[0], socket.SOCK_STREAM, addr[2])
        try:
            s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1 if nodelay else 0)
        except OSError:
            pass  # a stack without the option: still works, small publishes are slower
        s.setblocking(False)
        try:
            s.connect(addr[-1])
        except OSError as e:
            if e.errno != EINPROGRESS:
                s.close()
                raise
        if tls is not None:
            s = tls.wrap_socket(s, server_hostname=server_hostname, do_handshake_on_connect=False)
            s.setblocking(False)
        st = stream.Stream(s)
        return st, st
    loop = asyncio.get_event_loop()
    s = _socket.socket(addr[0], _socket.SOCK_STREAM, addr[2])
    s.setblocking(False)
    s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1 if nodelay else 0)
    try:
        await asyncio.wait_for(loop.sock_connect(s, addr[-1]), timeout_s)
        if tls is not None:
            rw = await asyncio.wait_for(asyncio.open_connection(
                sock=s, ssl=tls, server_hostname=server_hostname), timeout_s)
        else:
            rw = await asyncio.open_connection(sock=s)
        # CPython's asyncio turns TCP_NODELAY on for every TCP transport; keep the choice
        s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1 if nodelay else 0)
        return rw
    except BaseException:
        s.close()
        raise


class Link:
    """One unit's MQTT link. Keyword options are documented in docs/mqtt.md (API)."""

    def __init__(self, unit, host, port=1883, store=None, prefix=contract.PREFIX,
                 username=None, password=None, tls=None, server_hostname=None,
                 keepalive=60, clean=False, client_id=None, verify=True, verify_ms=5000,
                 rx_size=16384, max_inflight=8, capacity=32768, max_records=512,
                 connect_timeout_ms=10000, write_timeout_ms=30000, backoff_min_ms=500,
                 backoff_max_ms=60000, rand=None, default_sender="center", on_error=None,
                 nodelay=True):
        self.unit = contract.check_unit(unit)
        self.host = host
        self.port = port
        self.tls = tls
        self.server_hostname = server_hostname or host
        self.root_s = contract.root(unit, prefix)
        self.root = (self.root_s + "/").encode()
        self.verify = verify
        self.verify_ms = verify_ms
        self.connect_timeout_ms = connect_timeout_ms
        self.nodelay = nodelay
        self.write_timeout_ms = write_timeout_ms
        self.default_sender = default_sender
        self.on_command = None
        self.on_error = on_error
        self.clock = Clock()
        will = (self.root_s + "/" + contract.AVAILABILITY, contract.OFFLINE, 1, True)
        self.session = session.Session(
            client_id or ("fb-" + unit), keepalive, clean, will, username, password, rx_size,
            max_inflight, 20000, connect_timeout_ms, None, backoff_min_ms, backoff_max_ms,
            rand or _urandom_float)
        self.session.on_message = self._on_message
        self.outbox = outbox.Outbox(store if store is not None else outbox.MemStore(),
                                    capacity, max_records)
        self.last_error = None
        self.errors = 0
        self.denied = 0
        self.connects = 0
        self.tseq = 0
        self._addr = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._w = None
        self._rx_err = None
        self._t_flush = -1
        self._pending = {}  # topic suffix -> [seq, deadline] awaiting its echo (verify)
        self._subpid = 0
        self._subs = ()

    # ---- the application's side ----
    def event(self, suffix, pairs, cls=None):
        """Accept one event for <root>/<suffix> (contract.EVENT_TOPICS). Persisted before it
        returns; returns its seq. Raises outbox.OutboxFull per the full policy."""
        if suffix not in contract.EVENT_TOPICS:
            raise ValueError("not an event topic: %s" % suffix)
        if cls is None:
            cls = contract.RESULT
            if suffix == contract.CMD_ERROR:
                cls = contract.PROGRESS
            elif suffix == contract.FAX_STATUS:
                for k, v in pairs:
                    if k == "final":
                        cls = contract.RESULT if v else contract.PROGRESS
        unit = self.unit
        seq = self.outbox.accept(cls, suffix, lambda s: contract.event(unit, s, pairs))
        self._wake.set()
        return seq

    def telemetry(self, pairs=()):
        """Queue a telemetry message (QoS 0, never stored; only the newest unsent is kept).
        The link's own counters are appended to the fields given."""
        self.tseq += 1
        ob = self.outbox
        allp = tuple(pairs) + (("outbox", ob.stats()), ("link", self.stats()))
        self.outbox.set_telemetry(contract.telemetry(self.unit, ob.last, self.tseq, allp))
        self._wake.set()

    def state(self):
        return session.STATE_NAMES[self.session.state]

    def stats(self):
        s = self.session
        return (("state", self.state()), ("connects", self.connects), ("errors", self.errors),
                ("denied", self.denied), ("resent", s.stats_resent), ("last_error", self.last_error))

    async def stop(self, timeout_ms=2000):
        """Publish `offline`, disconnect politely; run() then commits the acks and returns
        (await its task to know it has)."""
        self._stopping = True
        s = self.session
        if s.state == session.UP and self._w is not None:
            try:
                s.publish(self.root + b"availability", contract.OFFLINE, 1, True, self.clock(), True)
                s.disconnect(self.clock())
                await asyncio.wait_for(self._flush(), timeout_ms / 1000)
            except Exception:
                pass
        self._wake.set()

    # ---- internals ----
    def _error(self, text):
        self.last_error = text
        self.errors += 1
        if self.on_error:
            try:
                self.on_error(text)
            except Exception:
                pass

    def _resolve(self):
        if self._addr is None:
            import socket
            ai = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)
            if not ai:
                raise OSError("cannot resolve %s" % self.host)
            self._addr = ai[0]
        return self._addr

    async def _flush(self):
        chunks = self.session.take()
        if not chunks or self._w is None:
            return
        w = self._w
        w.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        await w.drain()

    async def _reader(self, r):
        sess = self.session
        try:
            if MICROPYTHON:
                buf = bytearray(1024)
                mv = memoryview(buf)
                while True:
                    n = await r.readinto(buf)
                    if n is None:
                        continue  # readable but no application data yet (a TLS record)
                    if not n:
                        break
                    sess.feed(mv[:n], self.clock())
                    self._wake.set()
            else:
                while True:
                    data = await r.read(4096)
                    if not data:
                        break
                    sess.feed(data, self.clock())
                    self._wake.set()
            self._rx_err = "connection closed by the broker"
        except Exception as e:
            self._rx_err = "read failed: %r" % (e,)
        self._wake.set()

    def _subscribe(self, now):
        r = self.root_s + "/"
        subs = [(r + contract.CMD_FAX, 1), (r + contract.CMD_CANCEL, 1),
                (r + contract.CMD_TELEGRAM, 1), (r + contract.CMD_TELEGRAM + "/+", 1)]
        if self.verify:
            subs += [(r + "fax/+", 0), (r + "cafis/+", 0), (r + contract.AVAILABILITY, 0),
                     (r + contract.CMD_ERROR, 0)]
        self._subs = subs
        self._subpid = self.session.subscribe(subs, now)

    def _handle(self, now):
        for ev in self.session.events():
            k = ev[0]
            if k == "puback":
                self.outbox.on_puback(ev[1], now)
            elif k == "up":
                self.connects += 1
                self._pending = {}
                self._subscribe(now)
                self.session.publish(self.root + b"availability", contract.ONLINE, 1, True, now, True)
                if self.verify:
                    self._pending[contract.AVAILABILITY] = [0, now + self.verify_ms]
            elif k == "suback":
                if ev[1] == self._subpid:
                    g = ev[2]
                    for i in range(len(g)):
                        if g[i] == 0x80 and i < len(self._subs):
                            self._error("broker refused the subscription to %s (SUBACK 0x80: ACL?)"
                                        % self._subs[i][0])
            elif k == "refused":
                self._error("broker refused the connection: %s (CONNACK %d)" % (ev[2], ev[1]))
            elif k == "down":
                if not self._stopping and ev[1] != "disconnected" and ev[1] != self.last_error:
                    self._error(ev[1])
            elif k == "error":
                self._error(ev[1])

    def _check_echoes(self, now):
        """verify: every topic we publish must come back to our own subscription within
        verify_ms; MQTT 3.1.1 PUBACKs a publish the broker's ACL dropped, this is how we know."""
        for sfx in list(self._pending):
            seq, dl = self._pending[sfx]
            if now >= dl:
                del self._pending[sfx]
                self.denied += 1
                self._error("broker never delivered %s/%s (seq %d) back within %d ms: publish (or"
                            " read-back) denied by its ACL?" % (self.root_s, sfx, seq, self.verify_ms))

    def _pump(self, now):
        ob = self.outbox
        n0 = ob.inflight()
        ob.pump(self.session, self.root, now)
        if self.verify:
            for i in range(n0, ob.inflight()):
                seq, sfx = ob.flight(i)
                if sfx is not None and sfx not in self._pending:  # the oldest unconfirmed seq per topic
                    self._pending[sfx] = [seq, now + self.verify_ms]

    def _on_message(self, topic, payload, total, retain):
        r = self.root_s
        if not topic.startswith(r) or topic[len(r):len(r) + 1] != "/":
            return
        sfx = topic[len(r) + 1:]
        if sfx.startswith("cmd/") and sfx != contract.CMD_ERROR:
            self._command(sfx, payload, total, retain)
        elif self.verify:
            p = self._pending.get(sfx)
            if p is not None:
                if sfx == contract.AVAILABILITY:
                    if bytes(payload) == contract.ONLINE:
                        del self._pending[sfx]
                    return
                seq = _seq_of(payload)
                if seq is not None and seq >= p[0]:
                    del self._pending[sfx]

    def _command(self, sfx, payload, total, retain=False):
        name = sfx[4:]
        if name.startswith("telegram"):
            name = "telegram"
        ref = None
        try:
            if retain and total:
                # a retained command would run again after every reconnect
                raise commands.CommandError(commands.REJECTED, "retained %s refused: commands must not be"
                                            " retained (clear it: publish an empty retained message)" % sfx)
            if total > len(payload):
                raise commands.CommandError(commands.TOO_LARGE, "%s payload is %d bytes, more than the"
                                            " unit's receive buffer takes" % (sfx, total))
            cmd = commands.parse(sfx, payload, total, self.default_sender)
            ref = getattr(cmd, "job", None)
            h = self.on_command
            if h is None:
                raise commands.CommandError(commands.BUSY, "the unit takes no commands yet", ref)
            h(cmd)
            return
        except commands.CommandError as e:
            reason, detail, ref = e.reason, e.detail, e.ref or ref
        except outbox.OutboxFull as e:
            reason, detail = commands.BUSY, str(e)
        except Exception as e:  # the application's handler failed: report, never crash
            reason, detail = commands.REJECTED, "%s: %s" % (type(e).__name__, e)
        try:
            self.event(contract.CMD_ERROR, contract.cmd_error(name, reason, detail, ref))
        except outbox.OutboxFull:
            self._error("cmd/error not sent (outbox full): %s %s" % (reason, detail))

    async def _connect(self):
        addr = self._resolve()
        tmo = self.connect_timeout_ms / 1000
        try:
            return await asyncio.wait_for(_open(addr, self.tls, self.server_hostname, tmo, self.nodelay), tmo)
        except OSError:
            self._addr = None  # look the name up again next time
            raise

    async def _sleep_ms(self, ms):
        if MICROPYTHON:
            await asyncio.sleep_ms(ms)
        else:
            await asyncio.sleep(ms / 1000)

    async def _backoff(self, ms):
        """Sleep ms before the next attempt (in slices, so that stop() ends it)."""
        end = self.clock() + ms
        while not self._stopping:
            left = end - self.clock()
            if left <= 0:
                return
            await self._sleep_ms(left if left < TICK_MS else TICK_MS)

    async def _ticker(self, w):
        """Wakes the driver every TICK_MS for the session's timers (all of them are seconds
        long) and enforces the write timeout: a drain stuck that long closes the socket."""
        while True:
            await self._sleep_ms(TICK_MS)
            t = self._t_flush
            if t >= 0 and self.clock() - t > self.write_timeout_ms:
                self._rx_err = "write timed out after %d ms" % self.write_timeout_ms
                self._t_flush = -1
                try:
                    w.close()
                except Exception:
                    pass
            self._wake.set()

    async def run(self):
        """Connect, keep connected, deliver the outbox, serve commands; until stop()."""
        sess = self.session
        while not self._stopping:
            try:
                r, w = await self._connect()
            except Exception as e:
                self._error("cannot connect to %s:%d: %r" % (self.host, self.port, e))
                await self._backoff(sess.lost(self.clock(), "connect failed"))
                continue
            self._w = w
            self._rx_err = None
            self._t_flush = -1
            sess.start(self.clock())
            rt = asyncio.create_task(self._reader(r))
            tt = asyncio.create_task(self._ticker(w))
            try:
                await self._drive()
            except Exception as e:
                if not self._stopping:
                    self._rx_err = "link failed: %r" % (e,)
                    self._error(self._rx_err)
            rt.cancel()
            tt.cancel()
            self._w = None
            try:
                w.close()
                if not MICROPYTHON:
                    await asyncio.wait_for(w.wait_closed(), 1)
            except Exception:
                pass
            self.outbox.poll(self.clock())
            if self._stopping:
                break
            delay = sess.lost(self.clock(), self._rx_err or "connection lost")
            self._handle(self.clock())
            await self._backoff(delay)
        self.outbox.close(self.clock())

    async def _drive(self):
        sess = self.session
        wake = self._wake
        while not self._stopping:
            now = self.clock()
            if self._rx_err is not None:
                return  # run() ends the session (once: the backoff counts each failure once)
            self._handle(now)
            if sess.state == session.DOWN:
                return
            if sess.state == session.UP:
                self._pump(now)
                if self.verify and self._pending:
                    self._check_echoes(now)
            self.outbox.poll(now)
            sess.poll(now)
            self._handle(now)
            if sess.state == session.DOWN:
                return
            if sess._out:
                self._t_flush = now
                await self._flush()
                self._t_flush = -1
            if not wake.is_set():
                await wake.wait()
            wake.clear()


def _seq_of(payload):
    """The seq of one of our own event payloads ({"unit":"..","seq":N,...}) or None."""
    b = bytes(payload[:160])
    i = b.find(b'"seq":')
    if i < 0:
        return None
    i += 6
    n = 0
    j = i
    while j < len(b) and 48 <= b[j] <= 57:
        n = n * 10 + b[j] - 48
        j += 1
    return n if j > i else None
