"""Received faxes on flash (app/rx.py): the page sink and the retention rule."""
import os

from support import allocated, tmpdir
from faxbridge.app.rx import RxSink, prune


def _fax(folder, fax_id, nbytes, pages=2):
    os.mkdir(folder + fax_id)
    for p in range(pages):
        with open("%s%s/p%d.g3" % (folder, fax_id, p + 1), "wb") as f:
            f.write(b"\x00" * (nbytes // pages))


def test_keep_at_most_rx_keep_faxes_oldest_first():
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    for n in range(1, 31):                     # boots 1..3, reception counter 1..30
        _fax(d, "rx%d-%d" % (1 + n // 12, n), 100)
    os.mkdir(d + "notes")                      # not a fax folder: never touched
    assert prune(d, 10, 1 << 20) == 21
    left = sorted(os.listdir(d))
    assert sorted(n for n in left if n != "notes") == sorted("rx%d-%d" % (1 + n // 12, n) for n in range(22, 31))
    assert "notes" in left
    assert prune(d, 10, 1 << 20) == 0          # 9 kept: room for the next one


def test_bytes_bound_and_counter_order_not_name_order():
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    for n in (9, 10, 11, 100):                 # "rx1-100" sorts before "rx1-9" as a name
        _fax(d, "rx1-%d" % n, 1000)
    assert prune(d, 20, 2500) == 2
    assert sorted(os.listdir(d)) == ["rx1-100", "rx1-11"]
    assert prune(d, 0, 1 << 20) == 2 and os.listdir(d) == []
    assert prune(d + "missing/", 1, 1) == 0


def test_sink_writes_msb_first_pages():
    d = tmpdir("rx") + "/rx/"
    s = RxSink(d, "rx1-1")
    s.begin_page(0, {"width": 1728, "msb_first": False})
    s.write(memoryview(b"\x01\x80"))
    s.end_page()
    with open(d + "rx1-1/p1.g3", "rb") as f:
        assert f.read() == b"\x80\x01"
    s.begin_page(1, {})
    s.abort()
    assert os.listdir(d + "rx1-1") == ["p1.g3"] and len(s.widths) == 1


def test_sink_reverses_lsb_pages_longer_than_its_buffer():
    # whole buffers and a last partial piece: each byte's bit order reversed, none lost
    d = tmpdir("rx") + "/rx/"
    s = RxSink(d, "rx1-2", bufsize=16)
    data = bytes(range(256)) + b"\x01\x02\x03"
    s.begin_page(0, {"width": 1728, "msb_first": False})
    s.write(memoryview(data)[:40])
    s.write(memoryview(data)[40:])
    s.end_page()
    with open(d + "rx1-2/p1.g3", "rb") as f:
        got = f.read()
    assert got == bytes(sum(((b >> i) & 1) << (7 - i) for i in range(8)) for b in data), got[:8]


def test_names_not_rx_boot_dash_n_are_never_touched():
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    odd = ("rx-5", "rx1-", "rx1", "rxa-2", "rx1-2x", "rx1-2-3", "x1-2", "rx12", "RX1-2")
    for name in odd:
        _fax(d, name, 10, 1)
    _fax(d, "rx12-7", 10, 1)
    assert prune(d, 0, 1 << 20) == 1           # only rx12-7 is a received fax
    assert sorted(os.listdir(d)) == sorted(odd)


def test_a_new_folder_under_existing_and_missing_parents():
    from faxbridge.app import store
    d = tmpdir("rx")
    store.makedirs(d + "/a/b/c/")              # parents missing, trailing slash
    store.makedirs(d + "/a/b/c")               # already there: fine
    store.makedirs(d + "/a/b/d")               # the parent exists: one mkdir
    assert sorted(os.listdir(d + "/a/b")) == ["c", "d"]
    s = RxSink(d + "/rx/", "rx1-1")            # its folder made, parents included
    assert os.listdir(d + "/rx") == ["rx1-1"] and not s.widths


def test_prune_of_an_empty_or_missing_folder_allocates_little():
    # issue 13: before each reception; the folder's existence was checked with a stat (a
    # 10-tuple) before it was listed: 416 B for an empty folder, now 256 (x64 .mpy). A missing
    # folder (before the first reception ever) costs its OSError and is made (640 B; the sink
    # then makes its folder without failing: test below). Bound on MicroPython only.
    import gc
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    assert prune(d, 1, 1) == 0 and prune(d + "missing/", 1, 1) == 0
    assert os.listdir(d + "missing") == []      # made for the reception about to be stored
    if not hasattr(gc, "mem_alloc"):
        return
    for folder, most in ((d, 320), (d + "gone/", 768)):
        n, _ = allocated(lambda: prune(folder, 1, 1))
        assert n <= most, (folder, n)


def test_the_first_reception_ever_allocates_little():
    # issue 13: FaxLine.rx_sink's prune + RxSink when no rx folder exists yet: the sink's
    # makedirs failed a mkdir and a stat (two exceptions) before making the parent; prune now
    # makes the missing folder. 1536 -> 1472 B here (from source, this round's decoder either
    # way); with main's decoder as .mpy 1856 -> 1568 B. Bound on MicroPython only.
    import gc
    d = tmpdir("rx") + "/rx/"
    if not hasattr(gc, "mem_alloc"):
        prune(d, 10, 1 << 20)
        assert RxSink(d, "rx1-1").dir == d + "rx1-1" and os.listdir(d) == ["rx1-1"]
        return
    def first():
        prune(d, 10, 1 << 20)
        return RxSink(d, "rx1-1")
    n, s = allocated(first)
    assert os.listdir(d) == ["rx1-1"] and s.dir == d + "rx1-1"
    assert n <= 1400, n         # 1 376 B: the sink's fields fill 17 slots, not 23 (1 472 B)


def test_a_sink_is_one_attribute_table_of_17_slots():
    """The sink and its decoder keep 17 fields at most through a reception (an 18th would grow
    the instance's table to 23 slots, 96 B on 64 bits): pages kept are len(widths), the page
    being stored the next one, the reversing buffer one field (its size, then its view), the
    decoder's sink the class's None. On MicroPython the sink is at most 850 B (832 measured;
    928 before)."""
    import gc
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    n, s = allocated(lambda: RxSink(d, "rx1-1", bufsize=16))
    s.begin_page(0, {"width": 1728, "msb_first": False})
    s.write(memoryview(b"\x01\x80" * 20))
    s.end_page()
    s.begin_page(1, {"width": 1728})
    s.abort()
    assert len(s.__dict__) <= 17, sorted(s.__dict__)
    if hasattr(gc, "mem_alloc"):
        assert n <= 850, n


def test_a_page_received_again_replaces_the_one_kept_and_an_aborted_one_is_not_listed():
    """A page begun again with the index of one kept (the sender repeating it) drops it from
    the pages kept; abort deletes that page's file, and the page is not named as kept."""
    d = tmpdir("rx") + "/rx/"
    s = RxSink(d, "rx1-3")
    for i, data in enumerate((b"\x00\x01", b"\x00\x02\x03")):
        s.begin_page(i, {"width": 1728})
        s.write(memoryview(data))
        s.end_page()
    assert s.sizes == [2, 3] and s.widths == [1728, 1728]
    s.begin_page(1, {"width": 2048})          # page 2 again
    s.write(memoryview(b"\x00" * 5))
    s.end_page()
    assert s.sizes == [2, 5] and s.widths == [1728, 2048]
    s.begin_page(1, {"width": 1728})          # and again, cut off: its file deleted, not kept
    s.write(memoryview(b"\x00"))
    s.abort()
    assert s.sizes == [2] and s.widths == [1728] and sorted(os.listdir(d + "rx1-3")) == ["p1.g3"]


def test_prune_walks_the_faxes_once_and_the_names_alone_per_deletion():
    """rv11 / issue 13: prune walked and sized every fax again for each one it deleted (a stat
    of each folder, a path and a stat a page: 20 faxes kept of 2 pages, 32.3 KB allocated in the
    call; 20 pruned to 9, 303 KB, MicroPython's 64-bit unix port). One walk sizes them (a page's
    size from the listing where the port gives it, the board; here a stat), each deletion walks
    the names alone for the oldest: 25.9 and 83 KB. Bound on MicroPython only."""
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    for n in range(1, 21):
        _fax(d, "rx1-%d" % n, 100)
    prune(d, 30, 1 << 20)
    n, gone = allocated(lambda: prune(d, 21, 1 << 20))
    assert gone == 0 and len(os.listdir(d)) == 20
    assert n is None or n < 20 * 1400, n
    n, gone = allocated(lambda: prune(d, 10, 1 << 20))
    assert gone == 11 and sorted(os.listdir(d)) == sorted("rx1-%d" % i for i in range(12, 21))
    assert n is None or n < 120000, n
    assert prune(d, 20, 450) == 5 and len(os.listdir(d)) == 4     # 100 B a fax: 4 hold 400


def test_a_file_of_a_fax_name_does_not_stop_prune():
    """rv14: a file (not a folder) named as a fax in rx/ (foreign, or a flash fault) made the
    one walk's sizing raise on MicroPython (ilistdir of a file), taken as "no rx/ yet": prune
    deleted nothing at any reception after, and flash filled. It is sized (stat) and pruned
    as the oldest, as before the one walk."""
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    with open(d + "rx1-1", "wb") as f:
        f.write(b"x" * 10)
    for n in range(2, 5):
        _fax(d, "rx1-%d" % n, 100)
    assert prune(d, 2, 1 << 20) == 3 and os.listdir(d) == ["rx1-4"]


def test_the_oldest_is_the_earliest_boot_then_the_earliest_reception_of_it():
    """Issue 13: n counts the receptions of one boot (no state save per reception), so a later
    boot's rx5-1 is newer than rx4-57; an older firmware's ids (n counting every reception)
    keep their order the same way."""
    d = tmpdir("rx") + "/rx/"
    os.mkdir(d)
    for name in ("rx5-1", "rx4-57", "rx5-2", "rx4-9", "rx12-1"):
        _fax(d, name, 10, 1)
    assert prune(d, 3, 1 << 20) == 3
    assert sorted(os.listdir(d)) == ["rx12-1", "rx5-2"], os.listdir(d)
