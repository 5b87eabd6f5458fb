"""app/spool.py: the pages of a cmd/fax on flash, written as the parser hands them over."""
import os

from support import raises, tmpdir
from faxbridge.app.spool import Spool
from faxbridge.core.mqtt import commands, faxcmd


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_pages_land_in_files_whatever_the_write_sizes():
    d = tmpdir("spool")
    s = Spool(d)
    s.begin_page(0, "text")
    for piece in (b"", b"a", b"bcdefgh", b"ijklmnopqrstuvwxyz" * 3, memoryview(b"0123456789")[2:]):
        s.write(piece)
    s.end_page()
    s.begin_page(1, "pbm")
    s.write(bytes(range(256)) * 3)
    s.end_page()
    s.begin_page(2, "pbmz")
    s.end_page()                      # an empty page is a file too
    assert s.pages == [("text", d + "/p0.text"), ("pbm", d + "/p1.pbm"), ("pbmz", d + "/p2.pbmz")]
    assert _read(d + "/p0.text") == b"abcdefgh" + b"ijklmnopqrstuvwxyz" * 3 + b"23456789"
    assert _read(d + "/p1.pbm") == bytes(range(256)) * 3
    assert _read(d + "/p2.pbmz") == b""
    assert sorted(os.listdir(d)) == ["p0.text", "p1.pbm", "p2.pbmz"]


def test_a_fresh_spool_clears_what_a_crash_left():
    d = tmpdir("spool")
    s = Spool(d)
    s.begin_page(0, "pbm")
    s.write(b"P4\n" + bytes(2000))    # "crash" mid-page: the file is partial
    for name in ("p7.text", "junk"):
        with open(d + "/" + name, "wb") as f:
            f.write(b"x")
    assert os.listdir(d)
    s2 = Spool(d + "/")
    assert os.listdir(d) == [] and s2.pages == []


def test_clear_mid_page_and_after_a_page_removes_every_page():
    d = tmpdir("spool")
    s = Spool(d)
    s.begin_page(0, "text")
    s.write(b"one")
    s.end_page()
    s.begin_page(1, "text")
    s.write(b"two")
    s.clear()                         # mid-page (the parser's abort): nothing of it stays
    assert os.listdir(d) == [] and s.pages == []
    s.begin_page(0, "text")
    s.write(b"again")
    s.end_page()
    assert s.pages == [("text", d + "/p0.text")] and _read(d + "/p0.text") == b"again"
    s.clear()
    assert os.listdir(d) == [] and s.pages == []


def test_the_folder_is_made():
    d = tmpdir("spool") + "/flash/spool"
    Spool(d)
    assert os.listdir(d) == []


def test_parser_into_spool():
    d = tmpdir("spool")
    s = Spool(d)
    p = faxcmd.Parser(s)
    p.feed(b'{"job":"J1","number":"1","pages":[{"text":"hello "}, {"text":"\\u00e9"}]}')
    assert p.end() == ("J1", "1", ["text", "text"])
    assert [_read(path) for _, path in s.pages] == [b"hello ", "\u00e9".encode()]
    s.clear()
    p = faxcmd.Parser(s)
    e = raises(commands.CommandError, p.feed,
               b'{"job":"J1","number":"1","pages":[{"text":"kept until"}, {"pbm":"aGVsbG8="}]}')
    assert e.reason == commands.BAD_FIELD and "not a PBM" in e.detail
    assert os.listdir(d) == [] and s.pages == []


def test_clearing_many_leftovers_needs_no_block_of_2_kb():
    """Issue 13 (no allocation above 2 KB after boot): a spool holding 400 files (a refused
    cmd/fax of jobs.max_pages 500, or a crash's) was cleared through os.listdir, one list of
    every name (3.2 KB of pointers on the 64-bit port): in a heap with no free run of 2 KB it
    raised MemoryError. The names go 8 at a time (store.empty)."""
    import gc
    if not hasattr(gc, "mem_alloc"):
        return  # CPython's allocator says nothing about the board's heap
    from support import fragment
    d = tmpdir("spool")
    s = Spool(d)
    for i in range(400):              # a refused command's pages (the spool walks its folder)
        s.begin_page(i, "text")
        s.write(b"x")
        s.end_page()
    keep = fragment()
    try:
        raises(MemoryError, bytearray, 2100)  # the heap really is in < 2 KB pieces
        s.clear()
    finally:
        keep = None
        gc.collect()
    assert keep is None and os.listdir(d) == [] and s.pages == []


def test_clear_walks_the_folder_only_after_a_page_was_begun():
    # the start of every cmd/fax clears the spool: when nothing was begun since a clear that
    # emptied it, no listing is made (a file put there by another hand stays)
    from faxbridge.app import store
    d = tmpdir("spool")
    s = Spool(d)
    with open(d + "/other", "wb") as f:
        f.write(b"x")
    s.clear()
    assert os.listdir(d) == ["other"]
    s.begin_page(0, "text")
    s.write(b"x")
    real = store.remove
    store.remove = lambda path: False      # the flash refused
    try:
        s.clear()
    finally:
        store.remove = real
    assert sorted(os.listdir(d)) == ["other", "p0.text"]      # left to be walked
    s.clear()                         # walked: every file goes
    assert os.listdir(d) == [] and s.pages == []
    s.clear()
    assert os.listdir(d) == []


def test_pages_a_job_took_leave_nothing_to_walk():
    """The job's store moves the pages and takes each out of `pages` (JobStore.adopt): clear()
    removes what is left by name and lists nothing (the walk of the empty folder was 384 B
    after every cmd/fax, 64-bit); a refused command's pages go by name too."""
    import gc
    from faxbridge.app import store
    from faxbridge.app.jobs import JobStore
    d = tmpdir("spool")
    s = Spool(d + "/spool")
    js = JobStore(d + "/jobs")
    walks = []
    real = store.empty
    store.empty = lambda path, rm=store.remove: walks.append(path)
    try:
        for i in range(2):
            s.begin_page(0, "text")
            s.write(b"one")
            s.end_page()
            s.begin_page(1, "pbm")
            s.end_page()
            if i == 0:
                js.adopt("J1", s.pages)
                assert s.pages == [] and sorted(os.listdir(d + "/jobs")) == ["J1.p0", "J1.p1"]
            if hasattr(gc, "mem_alloc"):
                gc.collect()
                gc.disable()
                a = gc.mem_alloc()
                s.clear()
                n = gc.mem_alloc() - a
                gc.enable()
                assert n <= (0 if i == 0 else 256), (i, n)
            else:
                s.clear()
            assert os.listdir(d + "/spool") == [] and s.pages == []
    finally:
        store.empty = real
    assert walks == []


def _full_flash(s, mid_page):
    """A cmd/fax into spool s on a full flash: the page's close fails (and its write, mid_page);
    the parser answers busy and clears the spool, then the inbox clears it (_fax_failed)."""
    from faxbridge.app import spool as spool_mod

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, b):
            if mid_page:
                raise OSError(28)   # ENOSPC
            return self.f.write(b)

        def close(self):
            self.f.close()
            raise OSError(28)

    def full_open(path, mode):
        return Full(open(path, mode))
    spool_mod.open = full_open
    try:
        p = faxcmd.Parser(s)
        e = raises(commands.CommandError, p.feed, b'{"job":"J1","number":"1","pages":[{"text":"x"}]}')
    finally:
        del spool_mod.open
    assert e.reason == commands.BUSY and "cannot store the pages" in e.detail, e.detail
    try:
        s.clear()                   # the inbox's _fax_failed
    except OSError:
        pass


def test_a_page_whose_file_the_flash_cannot_close_is_removed_with_the_command():
    """A full flash often shows only when a page's file is closed (the file system's cache
    wrote the rest): that cmd/fax is answered busy and its files go with it, that page's too
    (the clear removes by name what `pages` holds: it was not there and stayed on flash until
    the next boot); so do they when the write fails mid-page and the close too."""
    d = tmpdir("spool")
    s = Spool(d)
    for mid_page in (False, True):
        _full_flash(s, mid_page)
        assert os.listdir(d) == [] and s.pages == [], (mid_page, os.listdir(d))
    s.begin_page(0, "text")             # the spool goes on as usual
    s.end_page()
    s.clear()
    assert os.listdir(d) == []
