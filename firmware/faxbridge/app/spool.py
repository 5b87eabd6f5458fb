"""The pages of the cmd/fax being received, on flash (the sink of core/mqtt/faxcmd.Parser).

    spool = Spool(flash + "spool")   # clears what a crash left there
    parser = faxcmd.Parser(spool)    # begin_page / write / end_page / abort
    ...
    spool.pages()                    # [(kind, path), ...] of the pages complete, in order
    spool.clear()                    # remove every file (a refused command, or after the move)

One file per page, `<folder>/p<i>.<kind>`, written through one preallocated buffer (bufsize
bytes), so a page of any size costs the same RAM. A crash mid-write leaves a partial file
that the next Spool removes; the command was not acknowledged, so the broker delivers it again
(docs/mqtt.md "Commands"). Whoever takes the pages (jobs.submit) moves the files away.
"""
import os

from faxbridge.app.store import makedirs


class Spool:
    def __init__(self, folder, bufsize=512):
        self.folder = folder.rstrip("/")
        makedirs(self.folder)
        self.buf = bytearray(bufsize)
        self.mv = memoryview(self.buf)
        self.n = 0
        self.f = None
        self._pages = []
        self.clear()

    def begin_page(self, index, kind):
        self._close()
        path = "%s/p%d.%s" % (self.folder, index, kind)
        self.f = open(path, "wb")
        self._cur = (kind, path)

    def write(self, data):
        """Copy data (any bytes-like) in; full buffers go to the file."""
        buf = self.buf
        size = len(buf)
        n = self.n
        got = len(data)
        if n + got < size:  # it fits: copied without a view of it
            buf[n:n + got] = data
            self.n = n + got
            return
        mv = memoryview(data)
        i = 0
        while i < got:
            k = min(size - n, got - i)
            buf[n:n + k] = mv[i:i + k]
            n += k
            i += k
            if n == size:
                self.f.write(buf)
                n = 0
        self.n = n

    def end_page(self):
        if self.n:
            self.f.write(self.mv[:self.n])
        self._close()
        self._pages.append(self._cur)

    def pages(self):
        return list(self._pages)

    def clear(self):
        """Remove every file in the folder (leftovers of a crash included)."""
        self._close()
        self._pages = []
        for name in os.listdir(self.folder):
            try:
                os.remove(self.folder + "/" + name)
            except OSError:
                pass

    abort = clear  # the parser's abort: the same function object, no second one

    def _close(self):
        self.n = 0
        if self.f is not None:
            f = self.f
            self.f = None
            f.close()
