"""AT transcript log: every byte both ways, timestamped, like the reference transcripts.

    [   1.588] DTE->DCE "ATD5551234<CR>"
    [   2.341] DTE->DCE DATA[32] 00 28 9b ...
    [   1.588] ----     dialing "5551234"
"""
import threading
import time

NAMES = {0x0d: "<CR>", 0x0a: "<LF>", 0x11: "<XON>", 0x13: "<XOFF>", 0x12: "<DC2>", 0x10: "<DLE>",
         0x03: "<ETX>", 0x18: "<CAN>", 0x08: "<BS>", 0x1b: "<ESC>"}


def printable(data):
    out = []
    for b in data:
        if b in NAMES:
            out.append(NAMES[b])
        elif 32 <= b < 127:
            out.append(chr(b))
        else:
            out.append("<%02x>" % b)
    return "".join(out)


class Transcript:
    """Lines in memory (capped) and, when a path is given, in a file as they happen."""

    MAX_LINES = 200000

    def __init__(self, t0, path=None, name=""):
        self.t0 = t0
        self.path = path
        self.name = name
        self.lines = []
        self._lock = threading.Lock()
        self._f = open(path, "a", buffering=1) if path else None

    def _emit(self, text):
        line = "[%8.3f] %s" % (time.monotonic() - self.t0, text)
        with self._lock:
            if len(self.lines) < self.MAX_LINES:
                self.lines.append(line)
            if self._f:
                self._f.write(line + "\n")

    def dte(self, data, data_mode=False):
        self._bytes("DTE->DCE", data, data_mode)

    def dce(self, data, data_mode=False):
        self._bytes("DCE->DTE", data, data_mode)

    def _bytes(self, who, data, data_mode):
        if not data_mode:
            self._emit('%s "%s"' % (who, printable(data)))
            return
        for k in range(0, len(data), 32):
            chunk = data[k:k + 32]
            self._emit("%s DATA[%d] %s" % (who, len(chunk), " ".join("%02x" % b for b in chunk)))

    def note(self, text):
        self._emit("----     " + text)

    def text(self):
        with self._lock:
            return "\n".join(self.lines)

    def close(self):
        if self._f:
            self._f.close()
            self._f = None
