"""CPython stand-in for MicroPython's built-in `deflate` module (host side only): DeflateIO
for reading, over zlib, inflating no more than each readinto() asks for.

It is never copied to a board: the real module is built into MicroPython (1.21 and later).
"""
import zlib

AUTO = 0
RAW = 1
ZLIB = 2
GZIP = 3
_WBITS = {RAW: -15, ZLIB: 15, GZIP: 31, AUTO: 47}


class DeflateIO:
    def __init__(self, stream, format=AUTO, wbits=0, close=False):
        self.stream = stream
        self.d = zlib.decompressobj(_WBITS[format])
        self.tail = b""

    def readinto(self, buf):
        n = len(buf)
        while not self.d.eof:
            data = self.tail or self.stream.read(512)
            if not data:
                return 0
            out = self.d.decompress(data, n)
            self.tail = self.d.unconsumed_tail
            if out:
                buf[:len(out)] = out
                return len(out)
        return 0

    def read(self, n=-1):
        buf = bytearray(n if n >= 0 else 4096)
        k = self.readinto(buf)
        return bytes(buf[:k])

    def close(self):
        pass
