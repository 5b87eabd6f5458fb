"""Recently answered commands, on flash: a bounded window that survives reboot (docs/mqtt.md
"Exactly one answer").

One file of `size` fixed 64-byte slots, written round-robin (the oldest answer is forgotten):
  'S' n:u32 pid:u16 crc:u32 reflen:u8 ref[reflen] ... crc32:u32   (big-endian, crc32 over 0..59)
n counts answers (the newest slot has the highest n), pid is the command's MQTT packet id (0 for
a retained command), crc the crc32 of its topic and payload, ref the sender's "<sender>/<ref>".
A slot torn by a power cut fails its crc32 and is ignored. The file is read slot by slot at open
(never whole); RAM keeps three small arrays (pid, content crc, ref hash) per slot for lookups,
and a ref hit is confirmed against the slot on flash.
"""
import binascii
import os
from array import array

from micropython import const

SLOT = const(64)
_BODY = const(60)
MAX_KEY = const(_BODY - 12)


def _u32(b, i):
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def _put32(b, i, v):
    b[i] = (v >> 24) & 0xFF
    b[i + 1] = (v >> 16) & 0xFF
    b[i + 2] = (v >> 8) & 0xFF
    b[i + 3] = v & 0xFF


def _hash(key):
    return binascii.crc32(key) | 1  # 0 marks "no ref"


class Seen:
    def __init__(self, path, size=128):
        self.path = path
        self.size = size
        self.buf = bytearray(SLOT)
        self.mv = memoryview(self.buf)
        self.pid = array("H", bytes(2 * size))
        self.crc = array("I", bytes(4 * size))
        self.ref = array("I", bytes(4 * size))
        self.n = 0        # answers recorded (the next slot's n - 1)
        self.next = 0     # the slot written next
        try:
            ok = os.stat(path)[6] == size * SLOT
        except OSError:
            ok = False
        if not ok:
            with open(path, "wb") as f:
                for _ in range(size):
                    f.write(self.buf)
        self.f = open(path, "r+b")
        best = -1
        for i in range(size):
            if self._read(i):
                n = _u32(self.buf, 1)
                self.pid[i] = (self.buf[5] << 8) | self.buf[6]
                self.crc[i] = _u32(self.buf, 7)
                k = self.buf[11]
                self.ref[i] = _hash(self.mv[12:12 + k]) if k else 0
                if n > self.n:
                    self.n = n
                    best = i
        self.next = (best + 1) % size

    def _read(self, i):
        """Read slot i into buf; True when it holds a valid record."""
        self.f.seek(i * SLOT)
        if self.f.readinto(self.buf) != SLOT or self.buf[0] != 0x53:
            return False
        return binascii.crc32(self.mv[:_BODY]) == _u32(self.buf, _BODY)

    def has_ref(self, key):
        """key: bytes "<sender>/<ref>". True if an answer to that ref is in the window."""
        h = _hash(key)
        for i in range(self.size):
            if self.ref[i] == h and self._read(i) and self.mv[12:12 + self.buf[11]] == key:
                return True
        return False

    def has(self, pid, crc):
        """True if the command with this packet id and content crc was answered."""
        for i in range(self.size):
            if self.crc[i] == crc and self.pid[i] == pid and crc:
                return True
        return False

    def add(self, pid, crc, key=None):
        """Record an answered command (synced before it returns)."""
        b = self.buf
        for i in range(SLOT):
            b[i] = 0
        self.n += 1
        b[0] = 0x53
        _put32(b, 1, self.n)
        b[5] = pid >> 8
        b[6] = pid & 0xFF
        _put32(b, 7, crc)
        k = len(key) if key else 0
        if k > MAX_KEY:
            k = 0
        b[11] = k
        if k:
            b[12:12 + k] = key
        _put32(b, _BODY, binascii.crc32(self.mv[:_BODY]))
        i = self.next
        self.f.seek(i * SLOT)
        self.f.write(b)
        self.f.flush()
        fs = getattr(os, "fsync", None)
        if fs is not None:
            fs(self.f.fileno())
        self.pid[i] = pid
        self.crc[i] = crc
        self.ref[i] = _hash(key) if k else 0
        self.next = (i + 1) % self.size

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None
