"""The MQTT link's sending half (its methods, app/link.Link binds them): the outbox pumped into
the session (and Home Assistant's configs, one at a time), what the session has to send written
to the connection, the write timeout.

Every event is written to the socket from the outbox's store, on every resend too: its header
written in place before its payload in the store's record buffer; nothing of it is kept while
it is in flight (docs/mqtt.md "RAM"). A file-backed event (a received page) is streamed from
its file through that buffer, and the file is deleted at its PUBACK (docs/mqtt.md "Received
pages"). Plain functions taking the link (self), not a class: no class object, one dict entry
each in this module and in Link's.
"""
from micropython import const

from faxbridge.app import echo, rx, transport

# the settings' indices in Link._cf (app/link.py)
_WRITE_MS = const(6)
_CHUNK = const(7)
_DISC = const(8)
_UNIT = const(9)
_TICK_MS = const(200)  # app/link.py's: the driver's timer resolution


def _pump(self, now):
    r = self._disc
    if r != -1:   # Home Assistant discovery, one config at a time (docs/ha.md)
        from faxbridge.core.mqtt import discovery
        d = self._cf[_DISC]
        i, pid = r
        r = self._built("Home Assistant config", discovery.announce, self.session,
                        i, pid, self._cf[_UNIT], d[2], d, now)
        if r is None:   # skipped (logged): the next one
            r = i + 1, pid
        self._disc = r if 0 <= r[0] < discovery.count() else -1
    ob = self.outbox
    n0 = ob.inflight
    ob.pump(self.session, self.root, now)
    if self.verify:
        for i in range(n0, ob.inflight):
            seq, sfx = ob.flight(i)
            echo.expect(self, sfx, seq, now)


async def _flush(self, r=None):
    """Write what the session has to send (session.take(), through _write), stream each
    page's file after its head (rx.send), then drain. r: go on from the page _write stopped
    at (run() calls _write itself: no coroutine made for a flush without a page)."""
    c = self._c
    if r is None:
        r = self.session.take()
        if not r or c is None:
            return
        r = self._write(r, 0)
    while r is not None:
        # a received page: after its head, the file through the store's buffer (free once
        # written: rx.send writes each piece before it awaits; the size packet() found
        # holds, nothing was awaited since); a file that ends early raises (the connection
        # is dropped: the broker discards the partial PUBLISH). A view of file_chunk bytes,
        # or a buffer of its own for a store without one
        b = getattr(self.outbox.store, "buf", None)
        k = self._cf[_CHUNK]
        b = b[:k] if b is not None and len(b) > k else b or bytearray(k)
        if not await rx.send(c, b"", r[2], r[3], b):
            raise OSError("file %s changed while it was sent" % r[2])
        r = self._write(r[0], r[1])
    await c.drain()


def _write(self, chunks, i):
    """Write chunks[i:] (what session.take() gave) to the connection, without awaiting:
    None when all are written, else (chunks, j, ref, size) when chunks[j - 1] is a page
    whose head is written: its file goes next (_flush), then chunks[j:]."""
    s = self.session
    c = self._c
    ob = self.outbox
    # what take() gives is gathered into one write where it fits (one TCP segment for a
    # burst of events: the broker answers it with one burst of PUBACKs): in the upper half
    # of the store's buffer, from h to g, while each record is read and its packet made in
    # the lower half (outbox.packet's lim). A store without the buffer: one write each
    w = getattr(ob.store, "whole", None)
    e = len(w) if w is not None else 0
    h = g = e // 2
    while i < len(chunks):
        pkt = ch = chunks[i]
        i += 1
        ref = None
        big = False
        if type(ch) is int:
            # an event in flight (session.publish_ext): written from the store, its header
            # in place before its payload in the store's buffer. MicroPython's Stream sends
            # or copies it before it returns (CPython's Conn.write copies: its transport
            # keeps views)
            pid = ch & 0xFFFF
            r = ob.packet(pid, ch > 0xFFFF, self.root, h - ob.store.room if h else 0)
            big = r is False
            if big:   # longer than the lower half: what was gathered goes first, then it
                if g > h:
                    c.write(w[h:g])
                    g = h
                r = ob.packet(pid, ch > 0xFFFF, self.root)
            if r is None:
                continue   # acknowledged meanwhile
            pkt, ref, size = r
            if pkt is None:
                # its record unreadable, or its page gone or resized (header not written):
                # skipped in order as if delivered. What was gathered goes first: the
                # skip may commit an ack and compact the log through the whole buffer
                if g > h:
                    c.write(w[h:g])
                    g = h
                s.forget(pid)
                ob.on_puback(pid, self.clock.ms())
                if ref is not None:
                    ob.lost_files += 1
                self.error("event %s gone or changed before it was sent: skipped" % (ref or pid))
                continue
        k = len(pkt)
        if ref is None and not big and g + k <= e:
            w[g:g + k] = pkt
            g += k
            continue
        if g > h:
            c.write(w[h:g])
        g = h
        c.write(pkt)
        if ref is not None:
            # the page's file is awaited before chunks[i:]: a PUBACK among them is the
            # session's one buffer, valid until the next feed (session.take): a copy
            for j in range(i, len(chunks)):
                if type(chunks[j]) is bytearray:
                    chunks[j] = bytes(chunks[j])
            return chunks, i, ref, size
    if g > h:
        c.write(w[h:g])
    chunks.clear()   # the session's list (session.take): what was written not held on
    return None


async def _ticker(self, c):
    """Wakes the driver every _TICK_MS for the session's timers (all of them are seconds
    long) and enforces the write timeout: a drain stuck that long closes the socket."""
    while True:
        await transport.sleep_ms(_TICK_MS)
        t = self._t_flush
        if t >= 0 and self.clock.ms() - t > self._cf[_WRITE_MS]:
            # the driver stops ("": not None) and gives this reason (-2), not what the
            # closed socket then makes the reader or the flush say
            self._rx_err = ""
            self._t_flush = -2
            await c.close()
        self._wake.set()
