"""Received faxes on flash: a page sink for the Class 2 driver (docs/fax.md), the pages' way to
the broker, and retention.

Pages are stored as <folder>/<fax id>/p<n>.g3 in MSB-first bit order (the netpbm and efax
convention: `g3topbm` reads them as-is); each page's lines are counted by the T.4 decoder so
the driver can answer +FPTS from the bad-line count. Fax ids are rx<boot>-<n>, n counting the
receptions of that boot (the boot count is saved at every boot: no save per reception). When
a reception ends, publish() queues each page and then fax/received naming them (docs/mqtt.md
"Received pages"). Each page is published on fax/page/<fax id>/<n> streamed from its file
(send(), called by app/link.py) and deleted once the broker has it (delivered()); prune()
keeps flash use bounded for the pages not yet delivered (docs/unit.md "Received faxes").
"""
import os
import sys

from faxbridge.app import store
from faxbridge.core.fax import t4, t4dec
from faxbridge.core.mqtt import contract
from faxbridge.core.mqtt.outbox import OutboxFull

_MP = sys.implementation.name == "micropython"


class RxSink(t4dec.Decoder):
    """A reception's page sink: it is the T.4 decoder that counts the lines (one object, reset
    for each page: `width` is the page's); per page only the file is made. LSB-first data is
    reversed through `bufsize` bytes, made at its first piece. Its fields, the decoder's with
    them, fill an attribute table of 17 slots (18 would take 23, 96 B more on 64 bits): the
    pages kept are len(widths), and the page being stored is the one after them (a page
    received again is dropped from the lists when it begins)."""

    def __init__(self, folder, fax_id, bufsize=256):
        self.dir = folder + fax_id
        self.fax_id = fax_id
        store.makedirs(self.dir)
        self.f = None
        t4dec.Decoder.__init__(self, 1728, True)
        self.widths = []     # pixels per line of each page stored (one small int per page)
        self.sizes = []      # and its bytes (publish() names them: no stat per page)
        self._mv = bufsize   # LSB-first pages: the reversing buffer's size, then its view

    def page_path(self, index):
        return "%s/p%d.g3" % (self.dir, index + 1)

    def begin_page(self, index, info):
        """Open page `index` (info: the driver's page parameters); the file is opened last, so a
        page refused (a bad width: ValueError) leaves none open. A page received again (the
        same index) drops what was kept of it and after it."""
        self.abort()
        width = info.get("width") if isinstance(info, dict) else None
        if not isinstance(width, int):
            width = 1728
        self.msb = bool(info.get("msb_first", True)) if isinstance(info, dict) else True
        self.reset(width, True)
        if len(self.widths) > index:       # (no slice made for a new page)
            del self.widths[index:]
            del self.sizes[index:]
        self.f = open(self.page_path(index), "wb")

    def write(self, mv):
        n = len(mv)
        if self.msb:
            self.f.write(mv)
            self.feed(mv)
            return
        i = 0
        full = self._mv
        if isinstance(full, int):
            full = self._mv = memoryview(bytearray(full))
        size = len(full)
        while i < n:                          # LSB-first data: reversed into MSB-first
            k = min(n - i, size)
            full[:k] = mv[i:i + k]
            t4.reverse(full, 0, k)
            v = full if k == size else full[:k]   # one view a piece, none when it is whole
            self.f.write(v)
            self.feed(v)
            i += k

    def end_page(self):
        f = self.f
        self.f = None
        n = f.tell()
        f.close()
        self.widths.append(self.width)
        self.sizes.append(n)
        return self.end()

    def abort(self):
        """Close and delete the page being stored, if any (a call that ended mid-page)."""
        f = self.f
        if f is not None:
            self.f = None
            f.close()
            try:
                os.remove(self.page_path(len(self.widths)))
            except OSError:
                pass


def _number(name):
    """The order of a fax folder rx<boot>-<n>, boot * 65536 + n (the boot first, then the
    reception of that boot; a small int below 16384 boots), or None for any other name
    (never touched). Read a character at a time: no slice of the name is made."""
    if not name.startswith("rx"):
        return None
    b = 0
    n = -1                                  # -1: in <boot>; then n, once the dash is passed
    for j in range(2, len(name)):
        c = name[j]
        if "0" <= c <= "9":
            if n >= 0:
                n = n * 10 + ord(c) - 48
            else:
                b = b * 10 + ord(c) - 48
        elif c == "-" and n < 0 and j > 2:
            n = 0
        else:
            return None
    return b * 65536 + n if n >= 0 and name[-1] != "-" else None


def _size(d):
    """Bytes of the pages in the fax folder d: the listing's sizes where the port gives them
    (ilistdir's 4th field, the board), else one stat a page (no stat of the folder)."""
    if not hasattr(os, "ilistdir"):
        return store.size(d)
    t = 0
    try:
        for e in os.ilistdir(d):
            t += e[3] if len(e) > 3 and e[3] >= 0 else os.stat("%s/%s" % (d, e[0]))[6]
    except OSError:     # a file of a fax's name (no folder): its own size, pruned as a fax
        return store.size(d)
    return t


def prune(folder, keep, max_bytes):
    """Before a reception: delete the oldest received faxes until fewer than `keep` remain and
    they hold at most `max_bytes`, so flash holds at most keep faxes, max_bytes plus the one
    being received. Delivered pages are deleted at their PUBACK, so what this drops are pages
    not delivered yet (the broker unreachable that long): the oldest (boot, then n) go first, and their outbox
    records are skipped when their turn comes (outbox.lost_files). One walk counts the faxes
    and their bytes; each deletion then walks the names alone for the oldest (its bytes read
    as it goes); returns how many were deleted. A missing folder is made (the reception about
    to be stored goes there)."""
    gone = count = total = 0
    if not folder.endswith("/"):
        folder += "/"
    try:
        for name in store.names(folder):
            if _number(name) is not None:
                count += 1
                total += _size(folder + name)
    except OSError:             # no folder yet (the first reception): nothing to prune; it is
        store.makedirs(folder)  # made here, so the sink's makedirs finds its parent (no
        return gone             # failed mkdir and stat, each an exception)
    while count and (count >= keep or total > max_bytes):
        oldest = None
        low = 0
        for name in store.names(folder):
            n = _number(name)
            if n is not None and (oldest is None or n < low):
                low = n
                oldest = name
        if oldest is None:
            break
        p = folder + oldest
        total -= _size(p)
        count -= 1
        store.rmtree(p)
        gone += 1
    return gone


async def send(c, hdr, ref, length, buf):
    """Write a file-backed PUBLISH (Outbox.packet gave its header and size) to connection c: its header, then its
    payload read from the file `ref` through buf, draining after each piece. False, nothing
    written: the file is gone or no longer `length` bytes. A file that ends early after the
    header raises OSError (the caller drops the connection: the broker discards the partial
    PUBLISH)."""
    try:
        f = open(ref, "rb")
    except OSError:
        return False
    try:
        if f.seek(0, 2) != length:
            return False
        f.seek(0)
        c.write(hdr)
        mv = memoryview(buf)
        n = len(mv)
        left = length
        while left:   # whole-buffer pieces reuse one view: no allocation per piece
            k = f.readinto(mv if left >= n else mv[:left])
            if not k:
                raise OSError("file %s ended %d bytes early" % (ref, left))
            if not _MP:   # CPython's transport may keep a view of what it is given
                c.write(bytes(mv[:k]))
            else:
                c.write(mv if k == n else mv[:k])
            await c.drain()
            left -= k
        return True
    finally:
        f.close()


def delivered(ref):
    """A page the broker has (PUBACK): delete its file, and its folder once empty."""
    try:
        os.remove(ref)
    except OSError:
        pass
    i = ref.rfind("/")
    if i > 0:
        try:
            os.rmdir(ref[:i])   # fails while other pages remain: fine
        except OSError:
            pass


def publish(link, sink, info, log):
    """Each page `sink` (app/rx.RxSink, or None: nothing was stored) kept goes to the outbox as
    a file-backed event (fax/page/<id>/<n>, streamed from flash, deleted at its PUBACK), then
    fax/received naming them; `info` is the driver's `end` event. A page or event the outbox
    refuses is logged, never raised: the modem task must go on (the page stays on flash until
    pruned)."""
    hs = info.get("hangup") or (None, None, None)
    pp = info.get("params")
    if not isinstance(pp, dict):
        pp = ()     # the dict as it is: written with its keys sorted (jsonw._val)
    fid = sink.fax_id if sink else None
    sizes = sink.sizes if sink else ()
    of = len(sink.widths) if sink else 0
    for i in range(of):
        try:
            link.event_file(contract.page_topic(fid, i + 1), sink.page_path(i),
                            contract.fax_page(fid, i + 1, of, sink.widths[i], sizes[i]))
        except (OSError, OutboxFull, ValueError) as e:   # kept on flash, pruned in turn
            log("modem: page %d of %s not queued (%s)" % (i + 1, fid, e))
            sizes[i] = None
    if sink is not None and not of:
        try:
            store.rmtree(sink.dir)    # nothing stored: no folder left behind
        except OSError:
            pass
    fields = contract.fax_received(fid, info.get("pages", 0), info.get("remote_id"), pp,
                                   hs[0], hs[1], hs[2], sizes, sink.widths if sink else (),
                                   info.get("code"), info.get("reason"), sink.dir if sink else None)
    try:
        link.event(contract.FAX_RECEIVED, fields)
    except (OutboxFull, ValueError) as e:
        log("modem: fax/received %s not sent (%s)" % (fid, e))
