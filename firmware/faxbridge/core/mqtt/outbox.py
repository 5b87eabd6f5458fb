"""The outbox (sans-I/O policy over a pluggable store): seq, order, bounds, PUBACK trimming.

Every event gets the next seq, is appended to the store (durable when accept() returns), is
published in seq order at QoS 1 through the session, and is trimmed only after its PUBACK
(acks are committed to the store in batches: a crash may resend a few, never lose one).

When full (docs/mqtt.md "When the outbox is full"):
  - telemetry is never stored: only the newest unsent one is kept in RAM, older ones are
    dropped and counted (dropped_telemetry);
  - PROGRESS events (in-progress fax status, cmd/error) are refused once the stored bytes
    or records pass the soft limit (3/4), counted in refused_progress;
  - RESULT events (final fax status, fax received, CAFIS verdicts) use the whole capacity; only
    a completely full outbox refuses them (refused_result) and then the caller must hold its
    work (stop taking telegrams/jobs) until there is room: they are never dropped.
A refused event gets no seq, so seq stays gap-free.

Store interface (MemStore below; app/outbox_store.FileStore on flash):
  open() -> (acked_seq, last_seq)     recover; last_seq = highest seq ever accepted
  append(seq, cls, suffix, payload)   durable on return; raises OSError if it could not write
  read() -> (seq, cls, suffix, payload) | None   next record after the send cursor
                                      (payload: bytes or a memoryview, valid until the next read)
  ack(seq)                            every record <= seq is delivered (persist, may trim)
  used() -> bytes held by undelivered records; record_size(suffix, payload) -> bytes
  close()
"""
from micropython import const

from faxbridge.core.mqtt import contract

RESULT = contract.RESULT
PROGRESS = contract.PROGRESS


class OutboxFull(Exception):
    pass


class MemStore:
    """An in-RAM store (tests; a unit without flash). Same contract, not power-safe."""

    def __init__(self):
        self.recs = []   # (seq, cls, suffix, payload), all undelivered
        self.bytes = 0
        self.cur = 0
        self.acked = 0
        self.last = 0

    def open(self):
        self.cur = 0
        return self.acked, self.last

    def record_size(self, suffix, payload):
        return 13 + len(suffix) + len(payload)

    def append(self, seq, cls, suffix, payload):
        self.recs.append((seq, cls, bytes(suffix), bytes(payload)))
        self.bytes += self.record_size(suffix, payload)
        self.last = seq

    def read(self):
        if self.cur < len(self.recs):
            r = self.recs[self.cur]
            self.cur += 1
            return r
        return None

    def ack(self, seq):
        n = 0
        while n < len(self.recs) and self.recs[n][0] <= seq:
            self.bytes -= self.record_size(self.recs[n][2], self.recs[n][3])
            n += 1
        del self.recs[:n]
        self.cur -= n if n <= self.cur else self.cur
        self.acked = seq

    def used(self):
        return self.bytes

    def close(self):
        pass


_SOFT_NUM = const(3)
_SOFT_DEN = const(4)


class Outbox:
    def __init__(self, store, capacity=32768, max_records=512, ack_batch=32, ack_ms=1000):
        self.store = store
        self.capacity = capacity
        self.max_records = max_records
        self.ack_batch = ack_batch
        self.ack_ms = ack_ms
        self.acked, self.last = store.open()
        self.delivered = self.acked   # highest contiguous PUBACKed seq (maybe not committed)
        self._flight = []             # [pid, seq, acked?, suffix] in send order
        self._t_ack = -1
        self.telemetry = None         # newest unsent telemetry payload (bytes) or None
        self.dropped_telemetry = 0
        self.refused_progress = 0
        self.refused_result = 0
        self.sent = 0

    def depth(self):
        """Events accepted but not yet PUBACKed."""
        return self.last - self.delivered

    def accept(self, cls, suffix, build):
        """Store one event. build(seq) -> payload bytes. Returns the seq, or raises OutboxFull
        (no seq consumed) per the full policy above."""
        seq = self.last + 1
        payload = build(seq)
        sfx = suffix.encode() if isinstance(suffix, str) else suffix
        size = self.store.record_size(sfx, payload)
        used = self.store.used() + size
        n = self.last - self.acked + 1
        if cls >= RESULT:
            ok = used <= self.capacity and n <= self.max_records
        else:
            ok = (used * _SOFT_DEN <= self.capacity * _SOFT_NUM
                  and n * _SOFT_DEN <= self.max_records * _SOFT_NUM)
        if not ok:
            if cls >= RESULT:
                self.refused_result += 1
            else:
                self.refused_progress += 1
            raise OutboxFull("outbox full: %d bytes, %d events held" % (used - size, n - 1))
        self.store.append(seq, cls, sfx, payload)
        self.last = seq
        return seq

    def set_telemetry(self, payload):
        if self.telemetry is not None:
            self.dropped_telemetry += 1
        self.telemetry = payload

    def pump(self, session, root, now):
        """Hand the session what it can take now: telemetry (QoS 0) first, then stored events
        in seq order while the QoS 1 window has room. root: b'faxbridge/<unit>/'."""
        if self.telemetry is not None and session.state == 2:
            session.publish(root + b"telemetry", self.telemetry, 0, now=now)
            self.telemetry = None
        n = 0
        while session.can_publish():
            r = self.store.read()
            if r is None:
                break
            seq, _cls, sfx, payload = r
            pid = session.publish(root + sfx, payload, 1, now=now)
            self._flight.append([pid, seq, False, sfx])
            self.sent += 1
            n += 1
        return n

    def on_puback(self, pid, now):
        f = self._flight
        for ent in f:
            if ent[0] == pid and not ent[2]:
                ent[2] = True
                break
        else:
            return
        while f and f[0][2]:
            self.delivered = f.pop(0)[1]
        if self._t_ack < 0 and self.delivered > self.acked:
            self._t_ack = now
        self.poll(now)

    def poll(self, now, force=False):
        """Commit delivered acks to the store in batches (ack_batch events or ack_ms)."""
        d = self.delivered
        if d <= self.acked:
            return
        if force or d - self.acked >= self.ack_batch or now - self._t_ack >= self.ack_ms:
            self.store.ack(d)
            self.acked = d
            self._t_ack = -1

    def stats(self):
        return (("depth", self.depth()), ("bytes", self.store.used()),
                ("last_seq", self.last), ("dropped_telemetry", self.dropped_telemetry),
                ("refused_progress", self.refused_progress), ("refused_result", self.refused_result))

    def close(self, now=0):
        self.poll(now, True)
        self.store.close()
