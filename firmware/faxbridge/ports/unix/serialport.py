"""A serial device (pseudo-terminal or tty) opened raw and non-blocking for asyncio.

After termios.setraw, VMIN=1 makes one read() block the whole event loop until a byte
arrives; VMIN=0 and VTIME=0 make read() return at once with what is there (maybe nothing).
asyncio's StreamReader polls the descriptor and only reads when it is readable.
"""
import asyncio
import termios
import time


def open_raw(path, baud=None):
    """Open `path` read/write, raw, VMIN=0 VTIME=0; returns the file object."""
    f = open(path, "r+b")
    fd = f.fileno()
    termios.setraw(fd)
    attr = termios.tcgetattr(fd)
    cc = attr[6]
    cc[6] = 0                      # VMIN (its index in the cc list on Linux)
    cc[5] = 0                      # VTIME
    speed = getattr(termios, "B%d" % baud, None) if baud else None   # termios.B9600 ... B115200
    if speed is not None:
        attr[4] = speed
        attr[5] = speed
    termios.tcsetattr(fd, termios.TCSANOW, attr)
    return f


class PacedWriter:
    """A StreamWriter paced at the serial line's byte rate (8N1: baud / 10 bytes a second).

    A UART cannot send faster than its baud rate, so a real modem's XOFF reaches the DTE after
    a few bytes at most; a pseudo-terminal takes kilobytes at once, and without pacing the
    page data runs far ahead of the modem's flow control. drain() waits until the bytes
    written so far would have left the UART.
    """

    def __init__(self, writer, baud):
        self.w = writer
        self.us_per_byte = 10000000 // baud
        self.t = time.ticks_us()

    def write(self, data):
        self.w.write(data)
        now = time.ticks_us()
        if time.ticks_diff(now, self.t) > 0:
            self.t = now
        self.t = time.ticks_add(self.t, len(data) * self.us_per_byte)

    async def drain(self):
        await self.w.drain()
        d = time.ticks_diff(self.t, time.ticks_us())
        if d > 1000:
            await asyncio.sleep_ms(d // 1000)

    def close(self):
        self.w.close()
