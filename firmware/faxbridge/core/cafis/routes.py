"""Route table: which routes each center holds, which are in use, and the protected items.

Made once at start: one flag byte per route held and one header-sized slot per route held and
per center (the center's slot keeps the last control command CAFIS sent it, 3.3.4 B), in
blocks of at most 2 KB (memory = routes held x (header + 1) + centers x header bytes). A
route's slot keeps the header of the telegram that opened the route (compared with later
telegrams on that route, 表 3.3.4-3 / 表 3.3.4-5) and survives the route being freed, as the
route's last telegram. Slots are named (center index, route slot); CMD names the command slot.
"""
from micropython import const

from . import layout as _layout

_MAX_BLOCK = const(2048)   # no bytearray of the route table is larger (the unit's allocation bound)
_MAX_ROUTES = const(2048)  # routes held by all centers together (one flag byte each, one block)

NEVER = const(0)      # never used
ORIG = const(1)       # in use: a request the center sent (originating route, 仕向経路)
DEST = const(2)       # in use: a request CAFIS sent to the center (destination route, 被仕向経路)
FREE = const(3)       # free, slot keeps the last telegram
CMD = const(-1)       # the slot of a center's last control command


class Routes:
    def __init__(self, reg):
        self.hlen = hlen = reg.center_layout.hlen
        self.per = per = _MAX_BLOCK // hlen      # slots per block
        first = [0]
        for cen in reg.centers:
            first.append(first[-1] + cen.nroutes)
        self.first = first      # per center: its first route's index in flags; then the total
        n = first[-1]
        if n > _MAX_ROUTES:
            raise ValueError("registry: %d routes in all; at most %d (their state is kept in RAM)" % (n, _MAX_ROUTES))
        self.flags = bytearray(n)
        self.busy = [0] * len(reg.centers)      # routes in use per center
        self.cmd_set = bytearray(len(reg.centers))
        m = n + len(reg.centers)                # the command slots come after the route slots
        self.blocks = [bytearray(min(per, m - k) * hlen) for k in range(0, m, per)]

    def _slot(self, ci, slot):
        """Index of a slot among all slots (route slots, then one command slot per center)."""
        return len(self.flags) + ci if slot == CMD else self.first[ci] + slot

    def state(self, ci, slot):
        return self.flags[self.first[ci] + slot]

    def open(self, ci, slot, buf, how):
        """Mark the route in use (ORIG or DEST) and keep buf's header in its slot."""
        g = self.first[ci] + slot
        fl = self.flags
        if fl[g] != ORIG and fl[g] != DEST:
            self.busy[ci] += 1
        fl[g] = how
        self._keep(g, buf)

    def _keep(self, g, buf):
        s = self.blocks[g // self.per]
        base = (g % self.per) * self.hlen
        for i in range(self.hlen):
            s[base + i] = buf[i]

    def free(self, ci, slot):
        g = self.first[ci] + slot
        fl = self.flags
        if fl[g] == ORIG or fl[g] == DEST:
            self.busy[ci] -= 1
            fl[g] = FREE

    def same(self, ci, slot, buf, off, ln):
        """True when buf[off:off+ln] equals the same field of the slot's kept header."""
        g = self._slot(ci, slot)
        s = self.blocks[g // self.per]
        base = (g % self.per) * self.hlen
        for i in range(off, off + ln):
            if buf[i] != s[base + i]:
                return False
        return True

    def num(self, ci, slot, off, ln):
        """The digits of a field of the slot's kept header as an int (-1 if not digits)."""
        g = self._slot(ci, slot)
        return _layout.num(self.blocks[g // self.per], (g % self.per) * self.hlen + off, ln)

    def kept(self, ci, slot):
        """The kept header of a slot (a memoryview into its block; no copy)."""
        g = self._slot(ci, slot)
        base = (g % self.per) * self.hlen
        return memoryview(self.blocks[g // self.per])[base:base + self.hlen]

    def full(self, ci):
        return self.busy[ci] >= self.first[ci + 1] - self.first[ci]

    def set_cmd(self, ci, buf):
        self._keep(len(self.flags) + ci, buf)
        self.cmd_set[ci] = 1

    def snapshot(self):
        """All route state as bytes (tests use it to show a discard changed nothing)."""
        out = bytearray(self.flags)
        for b in self.blocks:
            out += b
        for n in self.busy:
            out.append(n & 0xFF)
        out += self.cmd_set
        return bytes(out)
