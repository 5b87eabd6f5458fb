"""Route table: which routes each center holds, which are in use, and the protected items.

Each center gets, once at start, one flag byte and one header-sized slot per route it holds
(preallocated bytearrays of at most 2 KB each; memory = routes held x (header + 1) bytes). The slot keeps the
header of the telegram that opened the route (compared with later telegrams on that route,
表 3.3.4-3 / 表 3.3.4-5) and survives the route being freed, as the route's last telegram.
Per center there is also one slot for the last control command CAFIS sent (3.3.4 B).
"""
from micropython import const

from . import layout as _layout

MAX_BLOCK = const(2048)   # no bytearray of the route table is larger (the unit's allocation bound)

NEVER = const(0)      # never used
ORIG = const(1)       # in use: a request the center sent (originating route, 仕向経路)
DEST = const(2)       # in use: a request CAFIS sent to the center (destination route, 被仕向経路)
FREE = const(3)       # free, slot keeps the last telegram


class Routes:
    def __init__(self, reg):
        self.hlen = hlen = reg.center_layout.hlen
        self.per = per = MAX_BLOCK // hlen      # routes per slot block
        self.flags = []
        self.slots = []     # per center: a list of blocks of `per` slots
        self.busy = []      # routes in use per center
        self.cmd = []       # last control command CAFIS sent, per center
        self.cmd_set = bytearray(len(reg.centers))
        for cen in reg.centers:
            n = cen.nroutes
            self.flags.append(bytearray(n))
            self.slots.append([bytearray(min(per, n - k) * hlen) for k in range(0, n, per)])
            self.busy.append(0)
            self.cmd.append(bytearray(hlen))

    def state(self, ci, slot):
        return self.flags[ci][slot]

    def open(self, ci, slot, buf, how):
        """Mark the route in use (ORIG or DEST) and keep buf's header in its slot."""
        fl = self.flags[ci]
        if fl[slot] != ORIG and fl[slot] != DEST:
            self.busy[ci] += 1
        fl[slot] = how
        s = self.slots[ci][slot // self.per]
        base = (slot % self.per) * self.hlen
        for i in range(self.hlen):
            s[base + i] = buf[i]

    def free(self, ci, slot):
        fl = self.flags[ci]
        if fl[slot] == ORIG or fl[slot] == DEST:
            self.busy[ci] -= 1
            fl[slot] = FREE

    def same(self, ci, slot, buf, off, ln):
        """True when buf[off:off+ln] equals the same field of the route's kept header."""
        s = self.slots[ci][slot // self.per]
        base = (slot % self.per) * self.hlen
        for i in range(off, off + ln):
            if buf[i] != s[base + i]:
                return False
        return True

    def num(self, ci, slot, off, ln):
        """The digits of a field of the route's kept header as an int (-1 if not digits)."""
        return _layout.num(self.slots[ci][slot // self.per], (slot % self.per) * self.hlen + off, ln)

    def kept(self, ci, slot):
        """The kept header of a route (a memoryview into the slot; no copy)."""
        base = (slot % self.per) * self.hlen
        return memoryview(self.slots[ci][slot // self.per])[base:base + self.hlen]

    def full(self, ci):
        return self.busy[ci] >= len(self.flags[ci])

    def set_cmd(self, ci, buf):
        c = self.cmd[ci]
        for i in range(self.hlen):
            c[i] = buf[i]
        self.cmd_set[ci] = 1

    def snapshot(self):
        """All route state as bytes (tests use it to show a discard changed nothing)."""
        out = bytearray()
        for ci in range(len(self.flags)):
            out += self.flags[ci]
            for b in self.slots[ci]:
                out += b
            out += self.cmd[ci]
            out.append(self.busy[ci] & 0xFF)
        out += self.cmd_set
        return bytes(out)
