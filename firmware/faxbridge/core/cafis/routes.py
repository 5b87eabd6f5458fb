"""Route table: which routes each center holds, which are in use, and the protected items.

Made once at start: one slot per center (the last control command CAFIS sent it, 3.3.4 B) and
one per route held, each the header and one state byte, in blocks of at most 2 KB, and per
center 4 bytes (its first route's slot, routes in use): memory = (centers + routes held) x
(header + 1) + 4 x centers bytes, in 2 + blocks objects. A route's slot keeps the header of the
telegram that opened the route (compared with later telegrams on that route, 表 3.3.4-3 /
表 3.3.4-5) and survives the route being freed, as the route's last telegram; its state byte
says how it is used (_NEVER .. _FREE). A command slot's state byte is 1 while its command waits
for the center's report. Slots are named (center index, route slot); _CMD names the command slot.
A center's routes in use are cs[4 * ci + 2:4 * ci + 4] (2 bytes, big-endian), read in place.
"""
from micropython import const

from . import layout as _layout

_MAX_BLOCK = const(2048)   # no bytearray of the route table is larger (the unit's allocation bound)

# slot states, private (no module name each: checks.py, checkkinds.py and outbound.py name the
# ones they use with their own constants; test_cafis_checks compares)
_NEVER = const(0)      # never used
_ORIG = const(1)       # in use: a request the center sent (originating route, 仕向経路)
_DEST = const(2)       # in use: a request CAFIS sent to the center (destination route, 被仕向経路)
_FREE = const(3)       # free, slot keeps the last telegram
_CMD = const(-1)       # the slot of a center's last control command


class Routes:
    def __init__(self, reg):
        self.w = w = reg.center_layout.hlen + 1         # a slot: the header, then its state byte
        self.per = per = _MAX_BLOCK // w                # slots per block
        nc = len(reg.centers)
        self.cs = cs = bytearray(4 * nc)    # per center: its first route's slot, routes in use (2 bytes each)
        g = nc                              # the command slots come first, one per center
        for ci in range(nc):
            cs[4 * ci] = g >> 8
            cs[4 * ci + 1] = g & 0xFF
            g += reg.centers[ci].nroutes
        self.blocks = tuple([bytearray(min(per, g - k) * w) for k in range(0, g, per)])

    def state(self, ci, slot):
        """_NEVER, _ORIG, _DEST or _FREE (a command slot: 1 while its command waits, else 0)."""
        cs = self.cs          # the slot's index among all slots: block g // per, at (g % per) * w
        g = ci if slot == _CMD else (cs[4 * ci] << 8 | cs[4 * ci + 1]) + slot
        w = self.w
        return self.blocks[g // self.per][(g % self.per) * w + w - 1]

    def open(self, ci, slot, buf, how):
        """Set the slot's state to `how` and keep buf's header in it: a route _ORIG or _DEST (in
        use), _FREE (buf None: the header stays, as the route's last telegram; a route not in use
        stays as it is); slot _CMD: the control command CAFIS sent, how 1 while it waits for the
        center's report, 0 once answered (buf None). The one way to change a slot (no free():
        a method fewer on the board)."""
        cs = self.cs          # the slot's index among all slots: block g // per, at (g % per) * w
        g = ci if slot == _CMD else (cs[4 * ci] << 8 | cs[4 * ci + 1]) + slot
        w = self.w
        b = self.blocks[g // self.per]
        o = (g % self.per) * w
        if slot != _CMD:
            used = b[o + w - 1] == _ORIG or b[o + w - 1] == _DEST
            if used == (how == _FREE):            # a route taken or given back: count it
                n = (cs[4 * ci + 2] << 8 | cs[4 * ci + 3]) + (-1 if used else 1)
                cs[4 * ci + 2] = n >> 8
                cs[4 * ci + 3] = n & 0xFF
            elif how == _FREE:                    # freeing a route not in use changes nothing
                return
        if buf is not None:
            for i in range(w - 1):
                b[o + i] = buf[i]
        b[o + w - 1] = how

    def same(self, ci, slot, buf, off, ln):
        """True when buf[off:off+ln] equals the same field of the slot's kept header."""
        cs = self.cs          # the slot's index among all slots: block g // per, at (g % per) * w
        g = ci if slot == _CMD else (cs[4 * ci] << 8 | cs[4 * ci + 1]) + slot
        per = self.per
        b = self.blocks[g // per]
        o = (g % per) * self.w
        for i in range(off, off + ln):
            if buf[i] != b[o + i]:
                return False
        return True

    def num(self, ci, slot, off, ln):
        """The digits of a field of the slot's kept header as an int (-1 if not digits)."""
        cs = self.cs          # the slot's index among all slots: block g // per, at (g % per) * w
        g = ci if slot == _CMD else (cs[4 * ci] << 8 | cs[4 * ci + 1]) + slot
        return _layout.num(self.blocks[g // self.per], (g % self.per) * self.w + off, ln)
