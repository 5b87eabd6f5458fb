"""Fixed-width records sorted by a key, in blocks of at most 2 KB (the unit's largest
allocation), looked up by binary search with the key compared in place: the registry's
companies and terminal connection companies (registry.py) are each one Table."""


class Table:
    """Fixed-width records sorted by their first `key` bytes, in blocks of at most 2 KB, looked
    up by binary search with the key compared in place (no allocation). Made once at load from
    a list of records (bytes); records keep their order after that (index = position)."""

    def __init__(self, width, key, records):
        self.w = width
        self.key = key
        self.per = per = max(1, 2048 // width)    # blocks of at most 2 KB
        records.sort()
        self.n = n = len(records)
        blocks = []
        for k in range(0, n, per):
            b = bytearray(width * min(per, n - k))
            for i in range(k, min(n, k + per)):
                b[(i - k) * width:(i - k + 1) * width] = records[i]
            blocks.append(b)
        self.blocks = tuple(blocks)     # a tuple: smaller than the list, never grown

    def find(self, buf, off):
        """Index of the record whose key equals the key-wide bytes at buf[off:], or -1."""
        lo = 0
        hi = self.n
        w = self.w
        while lo < hi:
            mid = (lo + hi) >> 1
            b = self.blocks[mid // self.per]
            o = (mid % self.per) * w
            d = 0
            for j in range(self.key):
                d = buf[off + j] - b[o + j]
                if d:
                    break
            if d > 0:
                lo = mid + 1
            elif d < 0:
                hi = mid
            else:
                return mid
        return -1

    def same(self, i, col, ln, buf, off):
        """True when buf[off:off+ln] equals bytes col..col+ln of record i, compared in place."""
        b = self.blocks[i // self.per]
        o = (i % self.per) * self.w + col
        for j in range(ln):
            if buf[off + j] != b[o + j]:
                return False
        return True

    def byte(self, i, col):
        return self.blocks[i // self.per][(i % self.per) * self.w + col]
