"""The outbox's RAM on MicroPython: a flat heap through the file store, no allocation above
2 KB after open(), store churn independent of the payload size (docs/mqtt.md "RAM").
On CPython the same flows run for their results only (its allocator says nothing about the
board's heap)."""
import gc

from mqtt_helpers import up, rec
from support import allocated, fragment, raises, tmpdir

from faxbridge.app.outbox_store import FileStore
from faxbridge.core.mqtt import contract, outbox, session

ROOT = b"faxbridge/u1/"

MP = hasattr(gc, "mem_alloc")
_PUBACK = bytearray(b"\x40\x02\x00\x00")


def _broker_acks(s, ob, now):
    """Play the link and the broker without allocating much: write every event the session
    queued from the store (ob.packet, as the link does) and PUBACK it; returns how many."""
    k = 0
    for c in s.take():
        if type(c) is not int:
            continue
        pid = c & 0xFFFF
        r = ob.packet(pid, c > 0xFFFF, ROOT)
        assert r[0] is not None and r[1] is None and len(r[0]) > 700, r   # header and record
        _PUBACK[2] = pid >> 8
        _PUBACK[3] = pid & 0xFF
        s.feed(_PUBACK, now)
        k += 1
    for ev in s.events():
        if type(ev) is int:   # a PUBACK's packet id
            ob.on_puback(ev, now)
    return k


def _flow(ob, s, first, n, pad):
    """Accept n events (answers, results, progress in turn), pumping and acking as the
    link does; returns the seq of the last one delivered."""
    cls = (contract.ANSWER, contract.RESULT, contract.PROGRESS)
    for i in range(first, first + n):
        ob.accept(cls[i % 3], "cafis/verdict", contract.event("u1", ob.last + 1, (("i", i), ("pad", pad))))
        if i % 4 == 3:
            ob.pump(s, ROOT, i)
            _broker_acks(s, ob, i)
    while ob.depth():
        ob.pump(s, ROOT, first + n)
        _broker_acks(s, ob, first + n)
    ob.poll(0, True)
    return ob.delivered


def test_flat_heap_over_1200_events_through_the_file_store():
    d = tmpdir("obm")
    st = FileStore(d, compact_bytes=4096, max_record=1024)
    ob = outbox.Outbox(st, capacity=64 * 1024, ack_batch=16)
    s = session.Session("u1", max_inflight=8)
    up(s)
    pad = "p" * 700  # records of ~770 bytes: below the record buffer, above the old chunk
    last = _flow(ob, s, 0, 200, pad)
    assert last == 200
    if MP:
        gc.collect()
        a0 = gc.mem_alloc()
    last = _flow(ob, s, 200, 1000, pad)
    assert last == 1200 and st.compactions > 10
    if MP:
        gc.collect()
        grew = gc.mem_alloc() - a0
        assert grew < 256, grew  # bounded: nothing kept per event
    ob.close()
    st2 = FileStore(d)
    assert st2.open() == (1200, 1200)
    st2.close()


def test_eight_events_in_flight_hold_no_packet():
    """MicroPython: with the window full (8 events of ~770 bytes in flight) the session and
    the outbox hold what they held before: each event is its packet id and its place in the
    store (preallocated arrays), written from flash on every send; a resend (DUP) reads the
    record again. Before, the session kept each whole packet (~6 KB here)."""
    d = tmpdir("obi")
    st = FileStore(d, compact_bytes=4096, max_record=1024)
    ob = outbox.Outbox(st, capacity=64 * 1024, ack_batch=16)
    s = session.Session("u1", max_inflight=8, retry_ms=0)
    up(s)
    pad = "w" * 700
    for i in range(16):
        ob.accept(contract.RESULT, "cafis/verdict", contract.event("u1", ob.last + 1, (("pad", pad),)))
    ob.pump(s, ROOT, 0)          # the topic cache and the first views made once
    assert _broker_acks(s, ob, 0) == 8
    if MP:
        gc.collect()
        a0 = gc.mem_alloc()
    assert ob.pump(s, ROOT, 1) == 8 and s.inflight() == 8 and ob.inflight == 8
    out = s.take()
    if MP:
        gc.collect()
        held = gc.mem_alloc() - a0
        assert held < 256, held
    assert [type(c) for c in out] == [int] * 8 and max(out) < 0x10000   # packet ids, no DUP
    out = list(out)   # take() hands out the session's one list: the next take() refills it
    s.lost(2)
    s.start(3)
    s.take()
    s.feed(b"\x20\x02\x01\x00", 3)    # session present: all eight again, DUP set
    again = s.take()
    assert again == [c | 0x10000 for c in out], again
    pkt, ref, size = ob.packet(again[0] & 0xFFFF, True, ROOT)
    assert pkt[0] == 0x3A and ref is None and b'{"unit":"u1","seq":9,' in bytes(pkt)
    for c in again:
        s.feed(bytes((0x40, 2, c >> 8 & 0xFF, c & 0xFF)), 4)
    for ev in s.events():
        if type(ev) is int:
            ob.on_puback(ev, 4)
    assert ob.delivered == 16 and s.inflight() == 0
    ob.close()


def test_no_allocation_above_2kb_after_open():
    """MicroPython: 1200 events through accept/pump/PUBACK/ack/compaction while no free run
    of the heap is 2 KB long (see support.fragment): one allocation above ~2 KB is a MemoryError."""
    if not MP:
        return  # CPython's allocator says nothing about the board's heap
    d = tmpdir("obz")
    st = FileStore(d, compact_bytes=4096, max_record=1024)
    ob = outbox.Outbox(st, capacity=64 * 1024, ack_batch=16)
    s = session.Session("u1", max_inflight=8)
    up(s)
    pad = "q" * 700
    _flow(ob, s, 0, 20, pad)
    keep = fragment()
    try:
        raises(MemoryError, bytearray, 2100)  # the heap really is in < 2 KB pieces
        assert _flow(ob, s, 20, 1200, pad) == 1220 and st.compactions > 10
        ob.close()
        st2 = FileStore(d)  # recovery at open() too
        assert st2.open() == (1220, 1220)
        st2.close()
    finally:
        keep = None
        gc.collect()
    assert keep is None


def test_file_store_churn_per_event_does_not_grow_with_the_payload():
    """MicroPython: bytes allocated per append + read + ack by the store alone, gc off:
    the record is built and read in the preallocated buffer, so 100 or 900 payload bytes
    cost the same few views and a tuple."""
    if not MP:
        return
    per = []
    for size in (100, 900):
        st = FileStore(tmpdir("obch"), compact_bytes=1 << 20)
        st.open()
        payload = b"z" * size
        sfx = b"cafis/verdict"
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        for seq in range(1, 51):
            st.append(seq, 2, sfx, payload)
            r = rec(st)
            assert r[0] == seq and len(r[3]) == size
        st.ack(50)
        per.append((gc.mem_alloc() - a0) // 50)
        gc.enable()
        st.close()
    assert per[1] - per[0] < 16 and per[1] < 400, per


def test_an_event_is_written_from_the_store_with_no_view_per_field():
    """MicroPython, issue 13 (the churn per event): packet() reads the record whole into the
    store's buffer (FileStore.fetch: the body's view and the CRC's) and makes the packet's view
    (of `whole`, a view already) and its tuple: 5 heap blocks a send, whatever the payload
    (read()'s views of the suffix and payload and its tuple, and a view of `whole`, made it 10)."""
    if not MP:
        return
    b = bytearray(64)
    blk, v = allocated(lambda: memoryview(b))   # one heap block (a view's size)
    v = None
    for size in (100, 900):
        ob = outbox.Outbox(FileStore(tmpdir("obpk")), window=8)
        s = session.Session("u1", max_inflight=8)
        up(s)
        for i in range(8):
            ob.accept(contract.RESULT, "cafis/verdict", contract.event("u1", ob.last + 1, (("pad", "p" * size),)))
        ob.pump(s, ROOT, 0)
        pids = [c for c in s.take() if type(c) is int]
        assert len(pids) == 8
        def send_all():
            for c in pids:
                ob.packet(c & 0xFFFF, False, ROOT)
        per = allocated(send_all)[0] // 8
        assert per <= 5 * blk, (size, per, blk)
        ob.close()
    assert v is None


def test_file_store_appends_a_str_suffix_and_a_payload_in_place_with_one_view():
    """issue 13 (a telegram's path): append takes the suffix as str (written by character, no
    encoded copy), the payload as the length of one already in place in the record buffer
    (app/link.py builds it there: no view of it), and writes the record by offset on
    MicroPython: the CRC's view alone is allocated (128 B before: the suffix's copy, the
    payload's view, the CRC's and the write's views; 64-bit unix port). The records are the
    same bytes as from a bytes suffix and payload; a suffix past ASCII is refused."""
    f1, f2 = tmpdir("obstr1"), tmpdir("obstr2")
    d1, d2 = FileStore(f1), FileStore(f2)
    d1.open()
    d2.open()
    p = b'{"unit":"u1","seq":1,"ref":"r1"}'
    o = 9 + len("cafis/verdict")
    assert d2.record_size("cafis/verdict", len(p)) == d1.record_size(b"cafis/verdict", p)
    used = []
    for seq in (1, 2):
        d1.append(seq, 2, b"cafis/verdict", p)
        d2.buf[o:o + len(p)] = p
        used.append(allocated(lambda: d2.append(seq, 2, "cafis/verdict", len(p)))[0])
    raises(ValueError, d2.append, 3, 2, "cafis/v\u00e9rdict", p)
    d1.close()
    d2.close()
    with open(f1 + "/log", "rb") as a, open(f2 + "/log", "rb") as b:
        assert a.read() == b.read()
    if MP:
        assert used[1] <= 32, used
