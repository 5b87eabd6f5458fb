"""The outbox (sans-I/O policy over a pluggable store): seq, order, bounds, PUBACK trimming.

Every event gets the next seq, is appended to the store (durable when accept() returns), is
published in seq order at QoS 1 through the session, and is trimmed only after its PUBACK
(acks are committed to the store in batches: a crash may resend a few, never lose one).

Bounds (docs/mqtt.md "When the outbox is full"): `capacity` bytes and `max_records` events
held (accepted, not yet committed as delivered); one event at most `store.max_record` bytes
on flash (larger: ValueError at accept, nothing stored). Room per class
(contract.ANSWER, RESULT, PROGRESS):
  - ANSWER (a command's answer: verdict, a job's first fax/status, cmd/error) may use the
    whole capacity;
  - RESULT (final fax status, fax received, verdicts not answering a command) stops short of
    the answer reserve (`answer_reserve` bytes and `answer_records` events);
  - PROGRESS (in-progress fax status) stops at the soft limit, 3/4 (and below the reserve);
  - telemetry is never stored: only the newest unsent one is kept in RAM, older ones are
    dropped and counted (dropped_telemetry).
A refused event raises OutboxFull, is counted (refused_answer/result/progress) and gets no
seq, so seq stays gap-free; an accepted event is never dropped.

RAM: after construction the outbox allocates nothing that grows with the traffic: the events
in flight are a ring of `window` entries (packet id, seq, topic), topics are cached per suffix
(at most _TOPICS), records are read one at a time by the store.

File-backed events (accept_file; docs/mqtt.md "Received pages"): the record holds the name of
a file (a received page) and a small head built with its seq, not the file's bytes; pump()
asks the store for the file's size and hands the session a file-backed PUBLISH
(session.publish_file: head, then the file) that the adapter streams, on every resend too.
The adapter deletes the file at its PUBACK. A file gone before it was sent (retention pruned
it) is skipped in order and counted (lost_files).

Store interface (MemStore below; app/outbox_store.FileStore on flash):
  open() -> (acked_seq, last_seq)     recover; last_seq = highest seq ever accepted
  max_record                          largest record_size() it takes
  append(seq, cls, suffix, payload)   durable on return; raises OSError if it could not write
  read() -> (seq, cls, suffix, payload) | None   next record after the send cursor
                     (suffix, payload: bytes-like, valid until the next read or append)
  ack(seq)                            every record <= seq is delivered (persist, may trim)
  used() -> bytes held by undelivered records; record_size(suffix, payload) -> bytes
  file_size(ref) -> bytes of the file named ref (str), -1 if there is none
  close()
"""
from array import array

from micropython import const

from faxbridge.core.mqtt import contract

_SOFT_NUM = const(3)
_SOFT_DEN = const(4)
_TOPICS = const(8)     # distinct topic suffixes cached (the contract has 4 event topics)
_SFX = const(16)       # has_room(): room counted for the suffix (longest event suffix: 13)
FILE = const(0x80)     # a record's class bit: its payload names a file (accept_file)


class OutboxFull(Exception):
    pass


class MemStore:
    """An in-RAM store (tests; a unit without flash). Same contract, not power-safe."""

    def __init__(self, max_record=1024, file_size=None):
        self.max_record = max_record
        self.file_size = file_size or (lambda ref: -1)
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


class Outbox:
    def __init__(self, store, capacity=32768, max_records=512, ack_batch=32, ack_ms=1000,
                 answer_reserve=4096, answer_records=8, window=16):
        if answer_reserve >= capacity or answer_records >= max_records:
            raise ValueError("the answer reserve must be less than the outbox")
        self.store = store
        self.capacity = capacity
        self.max_records = max_records
        self.answer_reserve = answer_reserve
        self.answer_records = answer_records
        self.ack_batch = ack_batch
        self.ack_ms = ack_ms
        self.acked, self.last = store.open()
        self.delivered = self.acked   # highest contiguous PUBACKed seq (maybe not committed)
        # events in flight, in send order: a ring of `window` (pid 0 = PUBACKed)
        self._pid = array("H", bytes(2 * window))
        self._seq = array("I", bytes(4 * window))
        self._top = bytearray(window)   # index into _topics, 255: not cached
        self._h = 0
        self._n = 0
        self._topics = []   # [suffix bytes, root + suffix, suffix str]
        self._root = None
        self._t_ack = -1
        self.telemetry = None         # newest unsent telemetry payload (bytes) or None
        self.dropped_telemetry = 0
        self.refused_progress = 0
        self.refused_result = 0
        self.refused_answer = 0
        self.lost_files = 0
        self.sent = 0

    def depth(self):
        """Events accepted but not yet PUBACKed."""
        return self.last - self.delivered

    def _fits(self, cls, size):
        """May an event of this class and record size be stored now? (the full policy)"""
        cls &= 0x7F
        cap = self.capacity
        rec = self.max_records
        if cls < contract.ANSWER:
            cap -= self.answer_reserve
            rec -= self.answer_records
            if cls < contract.RESULT:
                cap = min(cap, self.capacity * _SOFT_NUM // _SOFT_DEN)
                rec = min(rec, self.max_records * _SOFT_NUM // _SOFT_DEN)
        return (self.store.used() + size <= cap and self.last - self.acked + 1 <= rec
                and size <= self.store.max_record)

    def has_room(self, cls, nbytes):
        """True when an event of class cls with a payload of nbytes would be accepted now."""
        return self._fits(cls, self.store.record_size(b"", b"") + _SFX + nbytes)

    def accept(self, cls, suffix, build):
        """Store one event. build(seq) -> payload bytes. Returns the seq, or raises OutboxFull
        (no seq consumed) per the full policy above, ValueError if it is larger than a record."""
        seq = self.last + 1
        payload = build(seq)
        sfx = suffix.encode() if isinstance(suffix, str) else suffix
        size = self.store.record_size(sfx, payload)
        if size > self.store.max_record:
            raise ValueError("%s event of %d bytes is larger than an outbox record (%d)"
                             % (suffix, size, self.store.max_record))
        if not self._fits(cls, size):
            c = cls & 0x7F
            if c >= contract.ANSWER:
                self.refused_answer += 1
            elif c == contract.RESULT:
                self.refused_result += 1
            else:
                self.refused_progress += 1
            raise OutboxFull("outbox full: %d bytes, %d events held"
                             % (self.store.used(), self.last - self.acked))
        self.store.append(seq, cls, sfx, payload)
        self.last = seq
        return seq

    def accept_file(self, cls, suffix, ref, build=None):
        """Store one file-backed event: its payload will be build(seq) (a small head, bytes)
        followed by the file named ref (str, no newline) as it is on flash when sent. Same
        policy and errors as accept(); returns the seq."""
        b = ref.encode()
        if b"\n" in b:
            raise ValueError("a file name with a newline")
        return self.accept(cls | FILE, suffix, lambda s: b + b"\n" + (build(s) if build else b""))

    def set_telemetry(self, payload):
        if self.telemetry is not None:
            self.dropped_telemetry += 1
        self.telemetry = payload

    def _topic(self, root, sfx):
        """Index of sfx in the topic cache (added if there is room), 255 if not cached."""
        if root != self._root:
            self._root = root
            self._topics = []
        t = self._topics
        for i in range(len(t)):
            if t[i][0] == sfx:
                return i
        if len(t) >= _TOPICS:
            return 255
        b = bytes(sfx)
        t.append((b, root + b, str(b, "utf-8")))
        return len(t) - 1

    def pump(self, session, root, now):
        """Hand the session what it can take now: telemetry (QoS 0) first, then stored events
        in seq order while the QoS 1 window has room. root: b'faxbridge/<unit>/'."""
        if self.telemetry is not None and session.state == 2:
            k = self._topic(root, b"telemetry")
            session.publish(self._topics[k][1] if k < 255 else root + b"telemetry", self.telemetry,
                            0, now=now)
            self.telemetry = None
        n = 0
        w = len(self._top)
        while self._n < w and session.can_publish():
            r = self.store.read()
            if r is None:
                break
            seq, cls, sfx, payload = r
            i = (self._h + self._n) % w
            if cls & FILE:
                k = 255   # page topics are one-off: never cached
                b = bytes(payload)          # the file name, a newline, the head (small)
                j = b.find(b"\n")
                ref = str(b[:j], "utf-8")
                size = self.store.file_size(ref)
                if size < 0:
                    self.lost_files += 1
                    pid = 0   # gone (pruned): skipped in order, as if delivered
                else:
                    pid = session.publish_file(root + bytes(sfx), ref, size, now, b[j + 1:])
            else:
                k = self._topic(root, sfx)
                pid = session.publish(self._topics[k][1] if k < 255 else root + bytes(sfx),
                                      payload, 1, now=now)
            self._pid[i] = pid
            self._seq[i] = seq
            self._top[i] = k
            self._n += 1
            if pid:
                self.sent += 1
                n += 1
            else:
                self._advance(now)
        return n

    def inflight(self):
        """Events handed to the session and not yet delivered in order (pump() adds to the end)."""
        return self._n

    def flight(self, i):
        """(seq, topic suffix str or None) of the i-th event in flight, in send order."""
        j = (self._h + i) % len(self._top)
        k = self._top[j]
        return self._seq[j], self._topics[k][2] if k < len(self._topics) else None

    def on_puback(self, pid, now):
        w = len(self._top)
        h = self._h
        for i in range(self._n):
            j = (h + i) % w
            if self._pid[j] == pid:
                self._pid[j] = 0
                break
        else:
            return
        self._advance(now)

    def _advance(self, now):
        """Deliver, in seq order, the events at the head of the ring that are done (pid 0)."""
        w = len(self._top)
        while self._n and self._pid[self._h] == 0:
            self.delivered = self._seq[self._h]
            self._h = (self._h + 1) % w
            self._n -= 1
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
                ("refused_progress", self.refused_progress), ("refused_result", self.refused_result),
                ("refused_answer", self.refused_answer), ("lost_files", self.lost_files))

    def close(self, now=0):
        self.poll(now, True)
        self.store.close()
