"""File-backed outbox store: survives a power cut at any instant (unix port, board VFS, CPython).
docs/mqtt.md "Files", "RAM" and "Why a power cut at any instant loses nothing accepted" tell it
in full; in short:

A file-backed event (outbox.accept_file: a received page) is a record whose class has the FILE
bit and whose payload is the file's name; file_size() stats it when it is sent. In one folder:
  log      append-only records  FB cls len:u16 seq:u32 | suffix_len:u8 suffix payload | crc32:u32
           (big-endian, the CRC over header and body); a torn one fails its CRC, cut at open
  ack      two 12-byte slots  gen:u32 acked_seq:u32 crc32:u32 (seeded CRC over gen and seq),
           written in place in turn (slot gen % 2): the valid one with the higher gen wins at
           open; an older firmware's "FBA1" record is read when neither slot is valid
  log.tmp  a compaction in progress (deleted at open beside a log; alone, it is the log)
An event is accepted once its write and flush (the sync; os.fsync too on CPython) returned.
The ack pointer is a seq; the newest record is never compacted away (the highest seq survives
a lost ack); log.tmp is renamed over log only after the ack that dropped the rest is on flash.
RAM: one record buffer of `max_record` bytes behind `room` bytes for the outbox's PUBLISH
header (made at open(); `whole` a view of it all) and an 8-byte header buffer: appends, acks
and compaction go through it, fetch() fills it and returns it (valid until the next fetch or
append); no index: the log is the index. A record's place (fetch(), `at`) is its offset plus
the bytes compaction has cut off the front since open(), modulo 2**30 (a small int on the
ESP32), valid while the record is held. A record larger than the buffer (left by a bigger
`max_record` before a reboot) is read into a one-off buffer; new ones are refused
(ValueError) by the outbox before a seq is used.
"""
import binascii
import os
import sys

from micropython import const

from faxbridge.app.store import put32, remove, u32

_HDR = const(8)
_CRC = const(4)
_MAGIC = const(0xFB)
_MPY = sys.implementation.name == "micropython"   # its stream write takes an offset
_FMT_MAX = const(8192)   # largest body the format allows (a longer length is damage)
_PLACE = const(0x3FFFFFFF)   # places are kept modulo 2**30 (see the docstring)
_SEED = const(0x46424132)    # an ack slot's crc32 starts here ("FBA2"): zeros, "FBA1" fail
_RESIDUE = const(0x2144DF1C)  # CRC-32 of any data followed by its own CRC-32, little-endian


if sys.implementation.name == "micropython":   # every port the unit runs on has viper
    @micropython.viper  # noqa: F821 (the compiler's own decorator: no `micropython` name kept)
    def _ascii(b, n: int, v) -> int:
        """Copy str v to b[n:] byte by byte, its bytes read in place -> 0; -1 at a byte above
        126 (a character past ASCII). A loop of bytecode here was 14 us of an event's append
        (issue 15's MQTT rate)."""
        d = ptr8(b)  # noqa: F821 (viper)
        s = ptr8(v)  # noqa: F821
        k = int(len(v))
        i = 0
        while i < k:
            c = s[i]
            if c > 126:
                return -1
            d[n + i] = c
            i += 1
        return 0
else:
    def _ascii(b, n, v):
        """The same on CPython (a str has no buffer there)."""
        for ch in v:
            c = ord(ch)
            if c > 126:
                return -1
            b[n] = c
            n += 1
        return 0


def _sync(f):
    """Flush f and fsync it where the runtime has fsync (CPython)."""
    f.flush()
    fs = getattr(os, "fsync", None)
    if fs is not None:
        fs(f.fileno())


class FileStore:
    def __init__(self, folder, compact_bytes=8192, max_record=1024, room=80):
        if max_record < 64 or max_record > _HDR + _FMT_MAX + _CRC:
            raise ValueError("max_record must be 64..%d bytes" % (_HDR + _FMT_MAX + _CRC))
        self.hold = False         # appends not synced until sync() (see sync)
        self.dirty = False
        self.log_path = folder + "/log"
        self.ack_path = folder + "/ack"
        self.compact_bytes = compact_bytes
        self.max_record = max_record
        # one buffer: `room` bytes, then one record (read/append) or a compaction chunk. The
        # outbox writes an event's PUBLISH header in place before its payload (room plus the
        # record's own 9 header bytes: the topic's root, up to `room`); the link streams a
        # page's file through it (outbox.packet, app/link.py). Made at open(): the link raises
        # `room` first when its root is longer
        self.room = room
        self.whole = None
        self.h = bytearray(_HDR)     # the header skip() or the open's scan read
        self.ag = 0        # the gen of the ack slot written last (0: none yet)
        self.f = None
        self.pos = -1      # the log file's position, -1: not known (no seek where it is already)
        self.acked = 0
        self.head = 0      # offset of the first undelivered record
        self.cur = 0       # offset of the next record to read (send)
        self.end = 0       # end of the valid log
        self.base = 0      # bytes compacted away since open() (mod 2**30): place = offset + base
        self.at = -1       # the place of the record the last skip() or cursor fetch() returned;
        #                    its header is in self.h until the next skip, read or scan
        self.last_off = -1  # offset of the newest record: compaction always keeps it, so the
        #                     log alone still knows the highest seq if the ack file is lost
        self.recovered_torn = 0   # bytes cut off at open (a write torn by a power cut)
        self.compactions = 0

    # ---- open / recovery ----
    def _read_ack(self):
        """The acked seq on flash: the valid slot with the higher gen, else an older firmware's
        "FBA1" record, else 0 (resend everything held: duplicates, never a loss). Sets ag."""
        w = self.whole
        self.ag = 0
        try:
            with open(self.ack_path, "rb") as f:
                n = f.readinto(w[:24])
        except OSError:
            with open(self.ack_path, "wb"):
                return 0
        a = 0
        for o in (0, 12):
            if o + 12 <= n and binascii.crc32(w[o:o + 8], _SEED) == u32(w, o + 8):
                g = u32(w, o)
                if g > self.ag:
                    self.ag = g
                    a = u32(w, o + 4)
        if not self.ag and n >= 12 and bytes(w[:4]) == b"FBA1" and u32(w, 8) == binascii.crc32(w[:8]):
            a = u32(w, 4)
        return a

    def open(self):
        if self.whole is None or len(self.whole) != self.room + self.max_record:
            self.whole = memoryview(bytearray(self.room + self.max_record))
            self.buf = self.whole[self.room:]
            self._bh = self.buf[:_HDR]
        try:
            os.mkdir(self.log_path[:-4])
        except OSError:
            pass
        t = self.log_path + ".tmp"
        try:
            os.stat(self.log_path)
            remove(t)   # a compaction cut short: the log is still complete
        except OSError:
            # no log: on FAT a rename over a file removes it first (MicroPython's VfsFat), so
            # a cut inside _compact's rename leaves the copy alone, complete (synced): the log
            try:
                os.rename(t, self.log_path)
            except OSError:
                with open(self.log_path, "wb"):
                    pass
        remove(self.ack_path + ".tmp")
        self.acked = self._read_ack()
        self.f = open(self.log_path, "r+b")
        last = 0
        off = 0
        head = -1
        size = self.f.seek(0, 2)
        hc = self.whole[:_CRC]   # where each record's CRC is read (at open only)
        while True:
            nxt = self._check(off, hc)
            if nxt < 0:
                break
            seq = u32(self.h, 4)
            if seq <= last:
                break  # out of order: treat as the end of the valid log
            last = seq
            self.last_off = off
            if head < 0 and seq > self.acked:
                head = off
            off = nxt
        self.end = off
        self.head = off if head < 0 else head
        last = last if last > self.acked else self.acked
        if self.end < size:
            self.recovered_torn = size - self.end
            self._compact()
        elif self._reclaimable() >= self.compact_bytes:
            self._compact()
        self.cur = self.head
        self.base = 0
        self.pos = self.at = -1
        return self.acked, last

    def _check(self, off, hc):
        """Check the record at off, streaming it through the buffer (any length the format
        allows): its end offset, or -1 if none or damaged. Leaves its header in self.h; the
        buffer holds the body and the CRC, byte-reversed (a longer record's CRC is read into
        whole[:4]: the room, or the body's first bytes, already summed, when room < 4)."""
        f = self.f
        h = self.h
        mv = self.buf
        self.pos = self.at = -1
        f.seek(off)
        if f.readinto(self.h) != _HDR or h[0] != _MAGIC:
            return -1
        n = (h[2] << 8) | h[3]
        if n < 1 or n > _FMT_MAX:
            return -1
        crc = binascii.crc32(self.h)
        if n + _CRC <= len(mv):
            # the usual record: body and CRC in one read, one view; the CRC's bytes turned
            # little-endian in place, CRC-32 over body and CRC gives its fixed residue: no
            # int of the stored CRC made (on a 32-bit port a CRC above 2**30 is a long int,
            # and u32's shifts made up to four)
            v = mv[:n + _CRC]
            if f.readinto(v) != n + _CRC or 1 + v[0] > n:
                return -1
            v[n], v[n + 3] = v[n + 3], v[n]
            v[n + 1], v[n + 2] = v[n + 2], v[n + 1]
            return off + _HDR + n + _CRC if binascii.crc32(v, crc) == _RESIDUE else -1
        k = n       # longer than the buffer (a larger max_record before a reboot): in chunks
        while k:
            c = k if k < len(mv) else len(mv)
            if f.readinto(mv[:c]) != c or (k == n and 1 + mv[0] > n):
                return -1  # short, or a suffix longer than the body
            crc = binascii.crc32(mv[:c], crc)
            k -= c
        if f.readinto(hc) != _CRC or u32(self.whole, 0) != crc:
            return -1
        return off + _HDR + n + _CRC

    def sync(self):
        """Sync the appends made while `hold` was set (app/inbox.py: a command's answer and its
        seen slot are both written before either is synced, the answer synced first)."""
        if self.dirty:
            self.dirty = False
            _sync(self.f)

    # ---- the store interface ----
    def record_size(self, suffix, payload):
        return _HDR + 1 + len(suffix) + (payload if type(payload) is int else len(payload)) + _CRC

    def append(self, seq, cls, suffix, payload):
        """suffix: str (ASCII) or bytes; payload: bytes-like, or the length of the payload
        app/link.py built in place in self.buf (after the header and the suffix). Nothing
        allocated but the CRC's view (MicroPython: the record written by offset)."""
        sl = len(suffix)
        n = 1 + sl + (payload if type(payload) is int else len(payload))
        t = _HDR + n + _CRC
        if t > len(self.buf) or sl > 255:
            raise ValueError("event of %d bytes is larger than an outbox record (%d)" % (t, len(self.buf)))
        b = self.buf
        b[0] = _MAGIC
        b[1] = cls
        b[2] = n >> 8
        b[3] = n & 0xFF
        put32(b, 4, seq)
        b[8] = sl
        if type(suffix) is str:   # no encoded copy (the contract's suffixes are ASCII)
            if _ascii(b, 9, suffix) < 0:
                raise ValueError("suffix not ASCII")
        else:
            b[9:9 + sl] = suffix
        if type(payload) is not int:   # another object (nothing above overlaps where it goes)
            b[9 + sl:_HDR + n] = payload
        put32(b, _HDR + n, binascii.crc32(b[:_HDR + n]))
        f = self.f
        if self.pos != self.end:
            f.seek(self.end)
        self.pos = -1
        try:
            # MicroPython's stream write takes (buf, offset, length): no view (CPython: a view)
            w = f.write(b, 0, t) if _MPY else f.write(b[:t])
            if self.hold:
                self.dirty = True       # sync() after the seen slot is written (app/inbox.py)
            else:
                _sync(f)
        except OSError:
            f.seek(self.end)  # the next append overwrites whatever part was written
            raise
        if w is not None and w != t:
            raise OSError(28, "short write to the outbox")
        self.last_off = self.end
        self.end += t
        self.pos = self.end

    def skip(self):
        """The next record after the cursor, its header alone (the outbox's pump: no body read,
        no CRC checked until it is sent, fetch(at)): (seq, cls) with its place in self.at, or
        None at the end or on a bad header."""
        off = self.cur
        if off >= self.end:
            return None
        h = self.h
        f = self.f
        if self.pos != off:
            f.seek(off)
        self.pos = self.at = -1
        if f.readinto(self.h) != _HDR or h[0] != _MAGIC:
            return None
        self.pos = off + _HDR
        n = (h[2] << 8) | h[3]
        if n < 1 or n > _FMT_MAX:
            return None
        self.cur = off + _HDR + n + _CRC
        self.at = (off + self.base) & _PLACE
        return u32(h, 4), h[1]

    def fetch(self, at=-1, lim=0):
        """The next record after the cursor (at < 0; its place then in self.at) or the record
        at place `at` (the cursor unchanged), read and checked: a view holding it whole from
        its start, `buf` itself (valid until the next read or append) or, for a record longer
        than buf (a larger max_record before a reboot), a one-off buffer; None at the end or
        on damage; False when lim > 0 and the record is longer than lim bytes (its body not
        read: the buffer from lim on left as it was; app/link.py gathers packets there).
        Two reads from flash: the header, then the body and its CRC together (two views made)."""
        off = self.cur if at < 0 else (at - self.base) & _PLACE
        if off < 0 or off >= self.end:
            return None
        f = self.f
        mv = self.buf
        if at >= 0 and at == self.at and self.pos == off + _HDR and self.h[0] == _MAGIC:
            self._bh[:] = self.h    # its header, as skip() just read it (the pump, then the send)
        else:
            if self.pos != off:
                f.seek(off)
            self.pos = -1
            if f.readinto(self._bh) != _HDR or mv[0] != _MAGIC:
                return None
        self.pos = off + _HDR
        n = (mv[2] << 8) | mv[3]
        t = _HDR + n + _CRC
        if n < 1 or n > _FMT_MAX:
            return None
        if lim and t > lim:
            return False
        if t > len(mv):  # written with a larger max_record before a reboot
            mv = memoryview(bytearray(t))
            mv[:_HDR] = self._bh
        self.pos = -1
        if f.readinto(mv[_HDR:t]) != n + _CRC:
            return None
        self.pos = off + t
        if binascii.crc32(mv[:_HDR + n]) != u32(mv, _HDR + n):
            return None
        if at < 0:
            self.cur = off + t
            self.at = (off + self.base) & _PLACE
            self.h[:] = self._bh
        return mv

    def ack(self, seq, at=-1):
        """Every record <= seq is delivered; at: the place of the first record still held (the
        new head), < 0 when every record the cursor has passed is delivered."""
        b = self.buf   # the slot is built where a record's header goes (no record is held
        g = self.ag + 1  # across an ack: a compaction would clear the buffer anyway)
        put32(b, 0, g)
        put32(b, 4, seq)
        put32(b, 8, binascii.crc32(self._bh, _SEED))
        try:
            f = open(self.ack_path, "r+b")
        except OSError:   # gone since open() (flash damage): made again, the other slot zeros
            f = open(self.ack_path, "wb")
        with f:
            f.seek(12 * (g & 1))
            f.write(b[:12])
            _sync(f)
        self.ag = g
        self.acked = seq
        self.head = self.cur if at < 0 else (at - self.base) & _PLACE
        if self._reclaimable() >= self.compact_bytes:
            self._compact()

    def used(self):
        return self.end - self.head

    def file_size(self, ref):
        """Size of a file-backed event's file (outbox.accept_file), -1 if it is gone."""
        try:
            st = os.stat(ref)
        except OSError:
            return -1
        return st[6] if st[0] & 0x8000 else -1

    def _reclaimable(self):
        """Bytes a compaction would free: the delivered records but the newest one."""
        if self.last_off >= 0 and self.last_off < self.head:
            return self.last_off
        return self.head

    def _compact(self):
        """Copy [start, end) to log.tmp through the record buffer and rename it over log;
        start is the first undelivered record, or the newest record if all are delivered.
        Whole-buffer pieces go through the buffer's one view (no view made per piece)."""
        mv = self.buf
        c = len(mv)
        src = self.f
        start = self._reclaimable()
        t = self.log_path + ".tmp"
        self.pos = -1   # the copy moves the log's position (and may fail half-way: ENOSPC)
        with open(t, "wb") as out:
            off = start
            src.seek(off)
            while off < self.end:
                k = self.end - off
                got = src.readinto(mv if k >= c else mv[:k])
                if not got:
                    break
                out.write(mv if got == c else mv[:got])
                off += got
            _sync(out)
        src.close()
        os.rename(t, self.log_path)
        self.f = open(self.log_path, "r+b")
        self.pos = -1
        self.end -= start
        self.base = (self.base + start) & _PLACE
        self.head -= start
        self.cur -= start
        if self.last_off >= 0:
            self.last_off -= start
        self.compactions += 1

    def close(self):
        self.pos = self.at = -1
        if self.f:
            self.f.close()
            self.f = None
