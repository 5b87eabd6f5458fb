"""The pages of the cmd/fax being received, on flash (the sink of core/mqtt/faxcmd.Parser).

    spool = Spool(flash + "spool")   # clears what a crash left there
    parser = faxcmd.Parser(spool)    # begin_page / write / end_page / abort
    ...
    spool.pages()                    # [(kind, path), ...] of the pages complete, in order
    spool.clear()                    # remove every file (a refused command, or after the move)

One file per page, `<folder>/p<i>.<kind>`. The parser hands its decoded bytes over 256 at a
time (faxcmd._OUT) and they go straight to the file (the file system's own cache gathers them):
no buffer here, so a page of any size costs no RAM beyond the parser's. A crash mid-write leaves a partial file
that the next Spool removes; the command was not acknowledged, so the broker delivers it again
(docs/mqtt.md "Commands"). Whoever takes the pages (jobs.submit) moves the files away.
"""
from faxbridge.app import store


class Spool:
    def __init__(self, folder):
        self.folder = folder.rstrip("/")
        store.makedirs(self.folder)
        self.f = None
        self._pages = []
        # the page begun last, (kind, path); None once a clear emptied the folder (nothing to
        # walk then); () at boot: a crash's files may be there
        self._cur = ()
        self.clear()

    def begin_page(self, index, kind):
        self._close()
        path = "%s/p%d.%s" % (self.folder, index, kind)
        self._cur = (kind, path)
        self.f = open(path, "wb")

    def write(self, data):
        """Write data (any bytes-like, used only during the call) to the page's file."""
        self.f.write(data)

    def end_page(self):
        self._close()
        self._pages.append(self._cur)

    def pages(self):
        """The pages complete, [(kind, path)]: the spool's own list, which clear() lets go
        (a new one): no copy."""
        return self._pages

    def clear(self):
        """Remove every file in the folder (leftovers of a crash included), 8 names at a time
        (store.empty: a folder of many files is never listed whole). Nothing begun since the
        last clear that emptied it: nothing to do (no listing: the start of every cmd/fax)."""
        self._close()
        if self._cur is not None:
            self._pages = []
            store.empty(self.folder)
            self._cur = None

    abort = clear  # the parser's abort: the same function object, no second one

    def _close(self):
        if self.f is not None:
            f = self.f
            self.f = None
            f.close()
