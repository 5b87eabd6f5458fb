"""Recently answered commands, on flash: a bounded window that survives reboot (docs/mqtt.md
"Exactly one answer").

One file of `size` fixed 64-byte slots, written round-robin (the oldest answer is forgotten):
  'S' n:u32 pid:u16 crc:u32 reflen:u8 ref[reflen] 0... gen:u16 crc32:u32
  (big-endian; gen at 58, crc32 over 0..59; the bytes after the ref are zero)
n counts answers (the newest slot has the highest n), pid is the command's MQTT packet id (0 for
a retained command), crc the crc32 of its topic and payload, ref the sender's initial and ref,
gen the connection the command was answered on, or last matched on (connected() counts them; at
boot the count goes on from the latest gen on flash, counted from the newest slot's).

A packet id names a message only until its PUBACK reaches the broker, which may then give the id
to another message (a broker that restarts may even count ids from 1 again): a DUP redelivery is
the one answered before only when that answer was given on the previous connection (or this
one), the connection whose PUBACK may have been lost. An older answer with the same id and
content is another command that happens to look the same, and must run.
A slot torn by a power cut fails its crc32 and is ignored. The file is read slot by slot at open
(never whole). RAM holds 3 bytes per slot in one array (256 slots = 768 B): a 16-bit hash of
its ref (every telegram with a ref is looked up) and an 8-bit hash of its (pid, crc) (looked up
for DUP and retained commands alone), searched with bytes.find; a hit is confirmed against the
slot on flash, so a hash collision costs one read.
A command's ref key (the sender's initial and the ref) is written by set_key() into `key`, laid
out as slot bytes 11..57 are (its length, the key, zeros): has_ref() and add() read it there, so
no key string is made per telegram (issue 13); its hash is the crc32 of those 47 bytes, and a
lookup searches for the hash's high byte (an int: no pattern object kept or made).
"""
import binascii
import os

from micropython import const

from faxbridge.app.store import put32, u32

_SLOT = const(64)
_BODY = const(60)
_GEN = const(58)
_MAX_KEY = const(_GEN - 12)
_KEY = const(11)      # where a slot's key (its length byte, then the key) begins


def _h16(v):
    """The 16-bit hash of a ref key's crc32; its high byte never 0 (has_ref searches for that
    byte: an empty slot's 0 must not match)."""
    v = (v ^ (v >> 16)) & 0xFFFF
    return v if v > 0xFF else v | 0x100


def _h8(crc, pid):
    """The 8-bit hash of a command's (packet id, content crc)."""
    v = crc ^ (pid * 40503)
    v = (v ^ (v >> 16) ^ (v >> 8) ^ (v >> 24)) & 0xFF
    return v or 1


class Seen:
    def __init__(self, path, size=256):
        self.hold = False         # slots not synced until sync() (app/inbox.py)
        self.dirty = False
        self.buf = bytearray(_SLOT)
        self.mv = memoryview(self.buf)
        # per slot: the 16-bit hash of its ref key (0: none) at 2 * slot, then the 8-bit hash
        # of its (pid, crc) at 2 * size + slot (DUP and retained commands only: rare, so a
        # collision's extra read is cheap there, while every telegram's ref is looked up)
        self.hx = bytearray(3 * size)
        self.key = bytearray(_GEN - _KEY)   # set_key(): as a slot's bytes 11..57
        self.n = 0        # answers recorded (the newest slot's n)
        self.next = 0     # the slot written next
        self.gen = 0      # the connection answers are given on now (connected())
        try:
            ok = os.stat(path)[6] == size * _SLOT
        except OSError:
            ok = False
        if not ok:
            with open(path, "wb") as f:
                for _ in range(size):
                    f.write(self.buf)
        self.f = open(path, "r+b")
        best = -1
        b = self.buf
        for i in range(size):
            if self._read(i):
                n = u32(b, 1)
                self.hx[2 * size + i] = _h8(u32(b, 7), (b[5] << 8) | b[6])
                if b[_KEY]:
                    h = _h16(binascii.crc32(self.mv[_KEY:_GEN]))
                    self.hx[2 * i] = h >> 8
                    self.hx[2 * i + 1] = h & 0xFF
                if n > self.n:
                    self.n = n
                    best = i
                    self.gen = (b[_GEN] << 8) | b[_GEN + 1]
        self.next = (best + 1) % size
        # a slot has() re-tagged after the newest was written bears a later connection: the
        # count goes on from the latest (a second pass over the valid slots, at open only)
        g = self.gen
        top = 0
        for i in range(size):
            if self.hx[2 * size + i] and self._read(i):
                d = (((b[_GEN] << 8) | b[_GEN + 1]) - g) & 0xFFFF
                if top < d < 0x8000:
                    top = d
        self.gen = (g + top) & 0xFFFF

    def connected(self):
        """A new connection to the broker (CONNACK): DUP redeliveries on it may repeat answers
        given on the connection before, never older ones."""
        self.gen = (self.gen + 1) & 0xFFFF

    def _read(self, i):
        """Read slot i into buf; True when it holds a valid record."""
        self.f.seek(i * _SLOT)
        if self.f.readinto(self.buf) != _SLOT or self.buf[0] != 0x53:
            return False
        return binascii.crc32(self.mv[:_BODY]) == u32(self.buf, _BODY)

    def set_key(self, first, t, i=0, j=-1):
        """The ref key has_ref() and add() read: the byte `first` (the sender's initial) and
        t[i:j] (bytes-like; j -1: to its end), copied in place. False (no key) when longer than
        a slot holds."""
        k = self.key
        if j < 0:
            j = len(t)
        n = j - i + 1
        e = k[0] + 1     # the key set before ends here (all after it is zero): zeroed past the new one
        if n > _MAX_KEY:
            n = 0        # no key: all zero
        else:
            k[1] = first
            for x in range(i, j):
                k[x - i + 2] = t[x]
        k[0] = n
        for x in range(n + 1, e):
            k[x] = 0
        return n > 0

    def has_ref(self):
        """True if an answer to the key set (set_key) is in the window."""
        h = _h16(binascii.crc32(self.key))
        hx = self.hx
        e = len(hx) // 3 * 2
        j = -1
        while True:         # the slots whose ref hash is h (its high byte at an even offset)
            j = hx.find(h >> 8, j + 1, e)
            if j < 0:
                return False
            if not j & 1 and hx[j + 1] == h & 0xFF and self._read(j >> 1) \
                    and self.mv[_KEY:_GEN] == self.key:
                return True

    def has(self, pid, crc):
        """True if the command with this packet id and content crc was answered: a retained
        command (pid 0) ever; a DUP redelivery only on this connection or the one before (see
        the module's docstring). A match counts as answered on this connection again (its
        PUBACK may be lost once more)."""
        if not crc:
            return False
        b = self.buf
        g = self.gen
        h = _h8(crc, pid)
        e = len(self.hx) // 3 * 2
        j = e - 1
        while True:         # the slots whose (pid, crc) hash is h
            j = self.hx.find(h, j + 1)
            if j < 0:
                return False
            i = j - e
            if self._read(i) and (b[5] << 8) | b[6] == pid and u32(b, 7) == crc:
                sg = (b[_GEN] << 8) | b[_GEN + 1]
                if pid == 0 or sg == g:
                    return True
                if sg == (g - 1) & 0xFFFF:
                    b[_GEN] = g >> 8
                    b[_GEN + 1] = g & 0xFF
                    put32(b, _BODY, binascii.crc32(self.mv[:_BODY]))
                    self._write(i)
                    return True

    def add(self, pid, crc, keyed=False):
        """Record an answered command (synced before it returns, unless `hold`); keyed: with
        the ref key set (set_key)."""
        b = self.buf
        for i in range(_SLOT):
            b[i] = 0
        self.n += 1
        b[0] = 0x53
        put32(b, 1, self.n)
        b[5] = pid >> 8
        b[6] = pid & 0xFF
        put32(b, 7, crc)
        k = self.key[0] if keyed else 0
        if k:
            b[_KEY:_GEN] = self.key
        b[_GEN] = self.gen >> 8
        b[_GEN + 1] = self.gen & 0xFF
        put32(b, _BODY, binascii.crc32(self.mv[:_BODY]))
        i = self.next
        self._write(i)
        size = len(self.hx) // 3
        self.hx[2 * size + i] = _h8(crc, pid)
        h = _h16(binascii.crc32(self.key)) if k else 0
        self.hx[2 * i] = h >> 8
        self.hx[2 * i + 1] = h & 0xFF
        self.next = (i + 1) % size

    def _write(self, i):
        """buf into slot i, synced before it returns (unless `hold`: then at sync())."""
        self.f.seek(i * _SLOT)
        self.f.write(self.buf)
        if self.hold:
            self.dirty = True
        else:
            self.sync(True)

    def sync(self, force=False):
        """Sync a slot written while `hold` was set."""
        if force or self.dirty:
            self.dirty = False
            self.f.flush()
            fs = getattr(os, "fsync", None)
            if fs is not None:
                fs(self.f.fileno())

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None
