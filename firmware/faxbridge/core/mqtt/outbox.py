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
in flight are a ring of `window` entries (packet id, seq, the record's place in the store,
topic: its index in contract.EVENT_TOPICS, the echo check's names), records are read
one at a time by the store. A record's class byte carries its topic's index too (bits 4-6:
index + 1, 0 for any other topic), so the pump reads records' headers alone. No packet is
kept: pump() hands the session an adapter-written PUBLISH (session.publish_ext, the packet id
alone) and the adapter writes it with packet(): the header into its own small buffer, the
payload a view of the store's record buffer, read from flash again on every resend (DUP).

File-backed events (accept_file; docs/mqtt.md "Received pages"): the record holds the name of
a file (a received page) and a small head built with its seq, not the file's bytes; packet()
gives the header, the head and the file's name and size, and the adapter streams the file, on
every resend too. on_puback() returns the file's name: the adapter deletes it. A file gone
before it was sent (retention pruned it) is skipped in order and counted (lost_files).

Store interface (host_tests/core/mqtt_helpers.MemStore in RAM for tests;
app/outbox_store.FileStore on flash):
  open() -> (acked_seq, last_seq)     recover; last_seq = highest seq ever accepted
  max_record                          largest record_size() it takes
  append(seq, cls, suffix, payload)   durable on return; raises OSError if it could not write.
                     suffix: str (ASCII) or bytes; payload: bytes-like, or an int: the
                     length of a payload already in place in the store's record buffer
                     (`buf`, after the header and the suffix: app/link.py builds it there)
  skip() -> (seq, cls) | None          the next record after the send cursor, its header
                     alone (its place is then in `at`)
  fetch(at=-1, lim=0) -> view | None | False   at < 0: the next record after the send cursor
                     (its place is then in `at`); else the record at that place, the cursor
                     unchanged: the record whole in the log's layout (app/outbox_store.py: seq
                     at 4-7, cls at 1, body length at 2-3, suffix length at 8, the suffix from
                     9, then the payload), valid until the next fetch or append; no view per
                     field. False: longer than lim > 0 (not read). A place is an int that stays
                     valid while the record is held.
  ack(seq, at=-1)                     every record <= seq is delivered (persist, may trim); at:
                     the place of the first record still held, < 0: none the cursor passed
  used() -> bytes held by undelivered records; record_size(suffix, payload) -> bytes (the
                     same suffix and payload as append's)
  file_size(ref) -> bytes of the file named ref (str), -1 if there is none
  close()
"""
from array import array

from micropython import const

from faxbridge.core.mqtt import codec, contract

_SOFT_NUM = const(3)
_SOFT_DEN = const(4)
_SFX = const(16)       # has_room(): room counted for the suffix (longest event suffix: 13)
FILE = const(0x80)     # a record's class bit: its payload names a file (accept_file)
_PAGE = const(254)     # the topic index of a file-backed event in flight (never cached)


class OutboxFull(Exception):
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
        self._off = array("I", bytes(4 * window))   # the record's place in the store
        self._top = bytearray(window)   # index in contract.EVENT_TOPICS, 255: other, _PAGE: a file
        self._h = 0
        self.inflight = 0      # events handed to the session, not yet delivered in order
        self._t_ack = -1
        self.telemetry = None         # newest unsent telemetry payload (bytes) or None
        self.dropped_telemetry = 0
        self.refused_progress = 0
        self.refused_result = 0
        self.refused_answer = 0
        self.lost_files = 0

    def depth(self):
        """Events accepted but not yet PUBACKed."""
        return self.last - self.delivered

    def _fits(self, cls, size):
        """May an event of this class and record size be stored now? (the full policy)"""
        cls &= 3
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

    def accept(self, cls, suffix, payload):
        """Store one event: payload (bytes-like, or the int length of one in place in the
        store's buffer) is its JSON, built with seq self.last + 1; suffix str or bytes.
        Returns the seq, or raises OutboxFull (no seq consumed) per the full policy above,
        ValueError if it is larger than a record. (A payload, not a function building it: no
        closure made per event; app/link.py builds it in place in the store's buffer.)"""
        seq = self.last + 1
        size = self.store.record_size(suffix, payload)
        if size > self.store.max_record:
            raise ValueError("%s event of %d bytes is larger than an outbox record (%d)"
                             % (suffix, size, self.store.max_record))
        if not self._fits(cls, size):
            c = cls & 3
            if c >= contract.ANSWER:
                self.refused_answer += 1
            elif c == contract.RESULT:
                self.refused_result += 1
            else:
                self.refused_progress += 1
            raise OutboxFull("outbox full: %d bytes, %d events held"
                             % (self.store.used(), self.last - self.acked))
        self.store.append(seq, cls if cls & FILE else cls | _topic(suffix) << 4, suffix, payload)
        self.last = seq
        return seq

    def accept_file(self, cls, suffix, ref, head=b""):
        """Store one file-backed event: its payload will be head (a small JSON head line built
        with seq self.last + 1, bytes) followed by the file named ref (str, no newline) as it
        is on flash when sent. Same policy and errors as accept(); returns the seq."""
        b = ref.encode()
        if b"\n" in b:
            raise ValueError("a file name with a newline")
        return self.accept(cls | FILE, suffix, b + b"\n" + head)

    def set_telemetry(self, payload):
        if self.telemetry is not None:
            self.dropped_telemetry += 1
        self.telemetry = payload

    def pump(self, session, root, now):
        """Hand the session what it can take now: telemetry (QoS 0) first, then stored events
        in seq order while the QoS 1 window has room (session.publish_ext: the adapter writes
        each with packet()). root: b'faxbridge/<unit>/'."""
        if self.telemetry is not None and session.state == 2:
            session.publish(root, self.telemetry, 0, now=now, tail=b"telemetry")
            self.telemetry = None
        n = 0
        w = len(self._top)
        st = self.store
        while self.inflight < w and session.can_publish():
            r = st.skip()
            if r is None:
                break
            seq, cls = r
            at = st.at
            i = (self._h + self.inflight) % w
            pid = 1
            if cls & FILE:
                k = _PAGE   # page topics are one-off: never cached
                r = st.fetch(at)
                if not r or st.file_size(_ref(r)) < 0:
                    self.lost_files += 1
                    pid = 0   # gone (pruned): skipped in order, as if delivered
            else:
                k = ((cls >> 4) & 7) - 1 & 255   # 255: not an event topic (or an older record)
            if pid:
                pid = session.publish_ext(now)
            self._pid[i] = pid
            self._seq[i] = seq
            self._off[i] = at
            self._top[i] = k
            self.inflight += 1
            if pid:
                n += 1
            else:
                self._advance(now)
        return n

    def flight(self, i):
        """(seq, topic suffix str or None) of the i-th event in flight, in send order."""
        j = (self._h + i) % len(self._top)
        k = self._top[j]
        t = contract.EVENT_TOPICS
        return self._seq[j], t[k] if k < len(t) else None

    def _find(self, pid):
        """The ring index of the event in flight as pid, -1 if none."""
        w = len(self._top)
        h = self._h
        for i in range(self.inflight):
            j = (h + i) % w
            if self._pid[j] == pid:
                return j
        return -1

    def packet(self, pid, dup, root, lim=0):
        """The PUBLISH of the event in flight as pid, read from the store (DUP set if dup):
        (pkt, ref, size): write pkt (its header and payload: a view valid until the store's
        next read or append), then, when ref is not None, `size` bytes of the file ref. The
        header is written in place before the payload in the store's buffer (FileStore:
        `whole`, `room`); a store without that room gets a packet made for it. None: pid is
        not in flight (acknowledged meanwhile: write nothing). pkt None: it cannot be written
        (its record unreadable, its file gone or resized): write nothing, the caller forgets
        it (session.forget, on_puback). lim > 0 (a store with `whole`): False, nothing read, when
        the record is longer than lim bytes (whole[room + lim:] is left as it was)."""
        j = self._find(pid)
        if j < 0:
            return None
        st = self.store
        b = st.fetch(self._off[j], lim)   # the record whole, in the log's layout
        if not b:
            return b if b is False else (None, None, 0)
        sl = b[8]
        at = 9 + sl                  # where its payload lies in the record
        k = ((b[2] << 8) | b[3]) - 1 - sl   # its payload's length
        ref = None
        size = 0
        if b[1] & FILE:
            p = bytes(b[at:at + k])   # the file name, a newline, the head (small)
            i = p.find(b"\n") + 1
            ref = str(p[:i - 1], "utf-8")
            at += i
            k -= i
            size = st.file_size(ref)
            if size < 0:
                return None, ref, 0
        w = getattr(st, "whole", None)
        if w is not None and b is st.buf and st.room >= len(root):
            e = st.room + at
            a = st.room + 9
        else:   # a packet made for it: room for the header, the suffix, the payload (rare)
            e = 9 + len(root) + sl
            a = e - sl
            w = memoryview(bytearray(e + k))
            w[a:e] = b[9:9 + sl]
            w[e:] = b[at:at + k]
        s = codec.publish_head_before(w, e, root, a, sl, k + size, dup, pid)
        return w[s:e + k], ref, size

    def on_puback(self, pid, now):
        """The event sent as pid is acknowledged (or forgotten). Returns the name of its file
        for a file-backed event (the adapter deletes it), else None."""
        j = self._find(pid)
        if j < 0:
            return None
        ref = None
        if self._top[j] == _PAGE:
            r = self.store.fetch(self._off[j])
            if r:
                ref = _ref(r)
        self._pid[j] = 0
        self._advance(now)
        return ref

    def _advance(self, now):
        """Deliver, in seq order, the events at the head of the ring that are done (pid 0)."""
        w = len(self._top)
        while self.inflight and self._pid[self._h] == 0:
            self.delivered = self._seq[self._h]
            self._h = (self._h + 1) % w
            self.inflight -= 1
        if self._t_ack < 0 and self.delivered > self.acked:
            self._t_ack = now
        self.poll(now)

    def poll(self, now, force=False):
        """Commit delivered acks to the store in batches (ack_batch events or ack_ms)."""
        d = self.delivered
        if d <= self.acked:
            return
        if force or d - self.acked >= self.ack_batch or now - self._t_ack >= self.ack_ms:
            # the new head: the first event still in flight (all before it are delivered),
            # or, with none, the store's cursor
            self.store.ack(d, self._off[self._h] if self.inflight else -1)
            self.acked = d
            self._t_ack = -1

    def close(self, now=0):
        self.poll(now, True)
        self.store.close()


def _topic(sfx):
    """1 + the index of the suffix sfx (str, or bytes) in contract.EVENT_TOPICS, 0 if it is none
    of them."""
    if type(sfx) is not str:
        try:
            sfx = str(sfx, "utf-8")
        except UnicodeError:
            return 0
    t = contract.EVENT_TOPICS
    for i in range(len(t)):
        if t[i] == sfx:
            return i + 1
    return 0


def _ref(b):
    """The file name a file-backed record (b: as fetch() gives it) starts its payload with (up
    to its newline)."""
    p = bytes(b[9 + b[8]:8 + ((b[2] << 8) | b[3])])
    return str(p[:p.find(b"\n")], "utf-8")
