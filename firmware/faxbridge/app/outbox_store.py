"""File-backed outbox store: survives a power cut at any instant (unix port, board VFS, CPython).

Files in one folder:
  log      append-only records, each  FB cls len:u16 seq:u32 | body | crc32:u32  (big-endian)
           body = suffix_len:u8 suffix payload; crc32 over header and body
  ack      "FBA1" acked_seq:u32 crc32:u32, replaced whole via ack.tmp + rename
  log.tmp  a compaction in progress (deleted at open: the old log is still complete)
The newest record is never compacted away, so the highest seq survives even the loss of the
ack file (then everything still in the log is sent again: duplicates, never a reused seq).
Why it is safe: a record counts as accepted only after its write and flush returned; a torn
record at the end (power cut mid-write) fails its CRC and is cut off at the next open. The ack
pointer is a seq, not an offset, and is renamed into place atomically, so any crash leaves
either the old or the new pointer: events between them are sent again (QoS 1 duplicates,
never a loss). Compaction copies the undelivered records to log.tmp and renames it over log
only after the ack that made the others redundant is on flash.
On CPython os.fsync is called after each append and before each rename; MicroPython's
flush() is the sync (littlefs commits on sync; VfsPosix writes straight to the kernel).
"""
import binascii
import os

from micropython import const

_HDR = const(8)
_CRC = const(4)
_MAGIC = const(0xFB)
MAX_RECORD = const(8192)


def _u32(b, i):
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def _put32(b, i, v):
    b[i] = (v >> 24) & 0xFF
    b[i + 1] = (v >> 16) & 0xFF
    b[i + 2] = (v >> 8) & 0xFF
    b[i + 3] = v & 0xFF


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _remove(p):
    try:
        os.remove(p)
    except OSError:
        pass


def _sync(f):
    f.flush()
    fs = getattr(os, "fsync", None)
    if fs is not None:
        fs(f.fileno())


class FileStore:
    def __init__(self, folder, compact_bytes=8192):
        self.dir = folder
        self.log_path = folder + "/log"
        self.ack_path = folder + "/ack"
        self.compact_bytes = compact_bytes
        self.f = None
        self.acked = 0
        self.last = 0
        self.head = 0      # offset of the first undelivered record
        self.cur = 0       # offset of the next record to read (send)
        self.end = 0       # end of the valid log
        self.last_off = -1  # offset of the newest record: compaction always keeps it, so the
        #                     log alone still knows the highest seq if the ack file is lost
        self._sent = []    # (seq, end offset) of records read but not acked yet
        self.recovered_torn = 0   # bytes cut off at open (a write torn by a power cut)
        self.compactions = 0

    # ---- open / recovery ----
    def _read_ack(self):
        try:
            with open(self.ack_path, "rb") as f:
                b = f.read(12)
        except OSError:
            return 0
        if len(b) == 12 and b[:4] == b"FBA1" and _u32(b, 8) == binascii.crc32(b[:8]) & 0xFFFFFFFF:
            return _u32(b, 4)
        return 0  # unreadable: resend everything held (duplicates, never a loss)

    def open(self):
        try:
            os.mkdir(self.dir)
        except OSError:
            pass
        _remove(self.log_path + ".tmp")
        _remove(self.ack_path + ".tmp")
        self.acked = self._read_ack()
        if not _exists(self.log_path):
            with open(self.log_path, "wb"):
                pass
        self.f = open(self.log_path, "r+b")
        last = 0
        off = 0
        head = -1
        size = self.f.seek(0, 2)
        self.f.seek(0)
        while True:
            r = self._read_at(off)
            if r is None:
                break
            seq, _c, _s, _p, nxt = r
            if seq <= last:
                break  # out of order: treat as the end of the valid log
            last = seq
            self.last_off = off
            if head < 0 and seq > self.acked:
                head = off
            off = nxt
        self.end = off
        self.head = off if head < 0 else head
        self.last = last if last > self.acked else self.acked
        if self.end < size:
            self.recovered_torn = size - self.end
            self._compact()
        elif self._reclaimable() >= self.compact_bytes:
            self._compact()
        self.cur = self.head
        self._sent = []
        return self.acked, self.last

    def _read_at(self, off):
        """Record at off -> (seq, cls, suffix, payload, next offset), None if none/invalid."""
        f = self.f
        f.seek(off)
        h = f.read(_HDR)
        if not h or len(h) < _HDR or h[0] != _MAGIC:
            return None
        n = (h[2] << 8) | h[3]
        if n < 1 or n > MAX_RECORD:
            return None
        rest = f.read(n + _CRC)
        if len(rest) < n + _CRC:
            return None
        mv = memoryview(rest)  # no copies: the payload is a view into the one read
        crc = binascii.crc32(mv[:n], binascii.crc32(h)) & 0xFFFFFFFF
        if crc != _u32(rest, n):
            return None
        sl = rest[0]
        if 1 + sl > n:
            return None
        return _u32(h, 4), h[1], bytes(mv[1:1 + sl]), mv[1 + sl:n], off + _HDR + n + _CRC

    # ---- the store interface ----
    def record_size(self, suffix, payload):
        return _HDR + 1 + len(suffix) + len(payload) + _CRC

    def append(self, seq, cls, suffix, payload):
        n = 1 + len(suffix) + len(payload)
        if n > MAX_RECORD or len(suffix) > 255:
            raise ValueError("event too large for the outbox")
        rec = bytearray(_HDR + n + _CRC)
        rec[0] = _MAGIC
        rec[1] = cls
        rec[2] = n >> 8
        rec[3] = n & 0xFF
        _put32(rec, 4, seq)
        rec[8] = len(suffix)
        rec[9:9 + len(suffix)] = suffix
        rec[9 + len(suffix):_HDR + n] = payload
        _put32(rec, _HDR + n, binascii.crc32(memoryview(rec)[:_HDR + n]) & 0xFFFFFFFF)
        f = self.f
        f.seek(self.end)
        try:
            w = f.write(rec)
            _sync(f)
        except OSError:
            f.seek(self.end)  # the next append overwrites whatever part was written
            raise
        if w is not None and w != len(rec):
            raise OSError(28, "short write to the outbox")
        self.last_off = self.end
        self.end += len(rec)
        self.last = seq

    def read(self):
        if self.cur >= self.end:
            return None
        r = self._read_at(self.cur)
        if r is None:
            return None
        seq, cls, sfx, payload, nxt = r
        self._sent.append((seq, nxt))
        self.cur = nxt
        return seq, cls, sfx, payload

    def ack(self, seq):
        b = bytearray(12)
        b[:4] = b"FBA1"
        _put32(b, 4, seq)
        _put32(b, 8, binascii.crc32(memoryview(b)[:8]) & 0xFFFFFFFF)
        tmp = self.ack_path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b)
            _sync(f)
        os.rename(tmp, self.ack_path)
        self.acked = seq
        s = self._sent
        while s and s[0][0] <= seq:
            self.head = s.pop(0)[1]
        if self._reclaimable() >= self.compact_bytes:
            self._compact()

    def used(self):
        return self.end - self.head

    def _reclaimable(self):
        """Bytes a compaction would free: the delivered records but the newest one."""
        if self.last_off >= 0 and self.last_off < self.head:
            return self.last_off
        return self.head

    def _compact(self):
        """Copy [start, end) to log.tmp in small chunks and rename it over log; start is the
        first undelivered record, or the newest record if all are delivered (it keeps seq)."""
        tmp = self.log_path + ".tmp"
        buf = bytearray(512)
        mv = memoryview(buf)
        src = self.f
        start = self._reclaimable()
        with open(tmp, "wb") as out:
            off = start
            while off < self.end:
                src.seek(off)
                k = self.end - off
                if k > len(buf):
                    k = len(buf)
                got = src.readinto(mv[:k])
                if not got:
                    break
                out.write(mv[:got])
                off += got
            _sync(out)
        src.close()
        os.rename(tmp, self.log_path)
        shift = start
        self.f = open(self.log_path, "r+b")
        self.end -= shift
        self.head -= shift
        self.cur -= shift
        if self.last_off >= 0:
            self.last_off -= shift
        self._sent = [(s, e - shift) for s, e in self._sent]
        self.compactions += 1

    def close(self):
        if self.f:
            self.f.close()
            self.f = None
