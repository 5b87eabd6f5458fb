"""The pages of the cmd/fax being received, on flash (the sink of core/mqtt/faxcmd.Parser).

    spool = Spool(flash + "spool")   # clears what a crash left there
    parser = faxcmd.Parser(spool)    # begin_page / write / end_page / clear
    ...
    spool.pages                      # [(kind, path), ...] of the pages complete, in order
    spool.clear()                    # remove every file (a refused command, or after the move)

One file per page, `<folder>/p<i>.<kind>`. The parser hands its decoded bytes over 256 at a
time (faxcmd._OUT) and they go straight to the file (the file system's own cache gathers them):
no buffer here, so a page of any size costs no RAM beyond the parser's. A crash mid-write leaves a partial file
that the next Spool removes; the command was not acknowledged, so the broker delivers it again
(docs/mqtt.md "Commands"). Whoever takes the pages (jobs.submit: JobStore.adopt) moves the
files away and takes each out of `pages` as it goes; clear() removes what is left there by
name (no listing of the folder: a 0.4 KB walk of an empty folder after every cmd/fax), and
walks the folder only at boot or after a removal the flash refused.
"""
from faxbridge.app import store


class Spool:
    """Its `pages`, [(kind, path)]: the pages complete, in order; the spool's own list, which
    clear() lets go (a new one): whoever takes them gets no copy."""

    def __init__(self, folder):
        self.folder = folder.rstrip("/")
        store.makedirs(self.folder)
        self.f = None
        self.pages = []
        # the page begun last, (kind, path); None once a clear emptied the folder (nothing to
        # walk then); () at boot: a crash's files may be there
        self._cur = ()
        self.clear()

    def begin_page(self, index, kind):
        f = self.f
        if f is not None:       # (a page begun and not ended: the parser never does this)
            self.f = None
            f.close()
            store.remove(self._cur[1])
        path = "%s/p%d.%s" % (self.folder, index, kind)
        self._cur = (kind, path)
        self.f = open(path, "wb")

    def write(self, data):
        """Write data (any bytes-like, used only during the call) to the page's file."""
        self.f.write(data)

    def end_page(self):
        f = self.f
        self.f = None
        self.pages.append(self._cur)    # before close(): a close the flash refuses (full)
        f.close()                       # leaves the file in `pages`, for clear() to remove

    def clear(self):
        """Remove the pages left in `pages` and a page begun and not ended, by name (what a
        taker moved away is no longer there); at boot, or after a removal the flash refused,
        every file in the folder instead, 8 names at a time (store.empty: never listed
        whole). Nothing begun since the last clear: nothing to do (the start of every
        cmd/fax). Also the parser's abort (core/mqtt/faxcmd.py: the sink's clear())."""
        f = self.f
        if f is not None:
            self.f = None
            self.pages.append(self._cur)    # first: removed next time if close() fails
            f.close()
        cur = self._cur
        if cur is None:
            return
        ps = self.pages
        if ps:
            self.pages = []
        if cur == ():
            store.empty(self.folder)
        else:
            for kp in ps:
                if not store.remove(kp[1]):     # refused (or gone): walked next time
                    self._cur = ()
                    return
        self._cur = None
