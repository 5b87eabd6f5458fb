"""Outbox policy (seq, order, full policy, ack batching) and the file store, on both runtimes."""
import json
import os

from mqtt_helpers import MemStore, ack_all, decode_publish, packets, up, wire, rec
from support import raises, tmpdir

from faxbridge.app.outbox_store import FileStore
from faxbridge.core.mqtt import codec, contract, outbox, session

ROOT = b"faxbridge/u1/"
R = "faxbridge/u1/"


def _ev(ob, i, cls=contract.RESULT):
    return ob.accept(cls, "cafis/verdict",
                     contract.event("u1", ob.last + 1, (("i", i),)))


def _seqs(got):
    return [json.loads(p)["seq"] for _t, p in got]


def _run(ob, s, now):
    """Pump and ack until nothing moves; return what the broker got."""
    got = []
    for _ in range(1000):
        if not ob.pump(s, ROOT, now):
            break
        got += ack_all(s, ob, now)
    return got


def _stores():
    yield "mem", MemStore()
    yield "file", FileStore(tmpdir("ob"))


def test_seq_order_and_trim_after_puback():
    for _name, st in _stores():
        ob = outbox.Outbox(st)
        assert [_ev(ob, i) for i in range(20)] == list(range(1, 21))
        s = session.Session("u1", max_inflight=4)
        up(s)
        got = _run(ob, s, 0)
        assert _seqs(got) == list(range(1, 21))
        assert all(t == "faxbridge/u1/cafis/verdict" for t, _p in got)
        assert ob.depth() == 0
        ob.close()


def test_nothing_trimmed_without_puback_and_resent_with_dup_after_reconnect():
    st = MemStore()
    ob = outbox.Outbox(st)
    for i in range(5):
        _ev(ob, i)
    s = session.Session("u1", max_inflight=3, retry_ms=0)
    up(s)
    ob.pump(s, ROOT, 0)
    s.take()  # lost on the wire
    s.lost(1, "cut")
    assert ob.depth() == 5
    up(s, 2)
    got = ack_all(s, ob, 2)  # the session resends its three in flight first
    assert _seqs(got) == [1, 2, 3]
    got = _run(ob, s, 3)
    assert _seqs(got) == [4, 5] and ob.depth() == 0


def test_full_policy_per_class_by_records_no_seq_gap():
    ob = outbox.Outbox(MemStore(), capacity=100000, max_records=12, answer_records=2)
    for i in range(9):  # progress: the soft limit, 3/4 of 12 records
        _ev(ob, i, contract.PROGRESS)
    e = raises(outbox.OutboxFull, _ev, ob, 99, contract.PROGRESS)
    assert "outbox full" in str(e)
    assert ob.refused_progress == 1
    assert _ev(ob, 10) == 10  # results up to 12 - 2 reserved, seq continues
    raises(outbox.OutboxFull, _ev, ob, 11)
    assert ob.refused_result == 1 and ob.last == 10
    assert [_ev(ob, i, contract.ANSWER) for i in range(2)] == [11, 12]  # the reserve
    raises(outbox.OutboxFull, _ev, ob, 13, contract.ANSWER)
    assert ob.refused_answer == 1 and ob.last == 12 and ob.depth() == 12


def _fill(ob, cls):
    n = 0
    while True:
        room = ob.has_room(cls, 40)  # _ev's payloads are < 40 bytes: room means it goes in
        try:
            _ev(ob, n, cls)
        except outbox.OutboxFull:
            assert not room
            return n
        n += 1


def test_full_policy_per_class_by_bytes_and_has_room():
    ob = outbox.Outbox(MemStore(), capacity=2000, max_records=1000, answer_reserve=500)
    assert _fill(ob, contract.PROGRESS) > 0
    assert 1500 - 64 < ob.store.used() <= 1500  # 3/4
    assert _fill(ob, contract.RESULT) == 0        # capacity - reserve is 1500 too
    ob = outbox.Outbox(MemStore(), capacity=4000, max_records=1000, answer_reserve=500)
    _fill(ob, contract.PROGRESS)
    assert 3000 - 64 < ob.store.used() <= 3000
    assert _fill(ob, contract.RESULT) > 0
    assert 3500 - 64 < ob.store.used() <= 3500
    assert not ob.has_room(contract.RESULT, 1) and ob.has_room(contract.ANSWER, 400)
    assert _fill(ob, contract.ANSWER) > 0
    assert 4000 - 64 < ob.store.used() <= 4000
    assert not ob.has_room(contract.ANSWER, 1)
    assert ob.refused_progress == 1 and ob.refused_result == 1 and ob.refused_answer == 1
    # room comes back as events are delivered
    s = session.Session("u1", max_inflight=8)
    up(s)
    _run(ob, s, 0)
    ob.poll(0, True)
    assert ob.depth() == 0 and ob.has_room(contract.PROGRESS, 40)


def test_has_room_counts_the_record_overhead_and_the_record_limit():
    st = MemStore(max_record=600)
    ob = outbox.Outbox(st, capacity=10000, answer_reserve=0)
    assert ob.has_room(contract.ANSWER, 500) and not ob.has_room(contract.ANSWER, 590)
    ob = outbox.Outbox(MemStore(), capacity=300, answer_reserve=0)
    assert ob.has_room(contract.ANSWER, 300 - 13 - 16)
    assert not ob.has_room(contract.ANSWER, 300 - 13 - 15)


def test_an_event_larger_than_a_record_is_refused_at_accept():
    for name, st in (("mem", MemStore(max_record=512)),
                     ("file", FileStore(tmpdir("obr"), max_record=512))):
        ob = outbox.Outbox(st)
        big = "x" * 600
        e = raises(ValueError, ob.accept, contract.ANSWER, "cafis/verdict",
                   contract.event("u1", ob.last + 1, (("pad", big),)))
        assert "larger than an outbox record (512)" in str(e), name
        assert ob.last == 0 and st.used() == 0 and ob.refused_answer == 0
        assert _ev(ob, 1) == 1  # no seq used by the refusal
        ob.close()


def test_telemetry_keeps_only_newest_and_counts_drops():
    ob = outbox.Outbox(MemStore())
    for i in range(3):
        ob.set_telemetry(contract.telemetry("u1", ob.last, i, (("x", i),)))
    assert ob.dropped_telemetry == 2
    s = session.Session("u1")
    up(s)
    got = _run(ob, s, 0)
    got += ack_all(s, ob, 0)
    assert [t for t, _p in got] == ["faxbridge/u1/telemetry"]
    assert json.loads(got[0][1])["tseq"] == 2


def test_ack_commit_batched():
    st = MemStore()
    ob = outbox.Outbox(st, ack_batch=10, ack_ms=500)
    for i in range(5):
        _ev(ob, i)
    s = session.Session("u1")
    up(s)
    _run(ob, s, 0)
    assert ob.delivered == 5 and st.acked == 0
    ob.poll(499)
    assert st.acked == 0
    ob.poll(500)
    assert st.acked == 5


def test_file_store_survives_reopen_and_keeps_seq():
    d = tmpdir("obf")
    ob = outbox.Outbox(FileStore(d), ack_batch=1)
    for i in range(10):
        _ev(ob, i)
    s = session.Session("u1", max_inflight=4)
    up(s)
    ob.pump(s, ROOT, 0)
    got = ack_all(s, ob, 0)  # 1..4 delivered and committed
    assert _seqs(got) == [1, 2, 3, 4]
    ob.store.close()  # "power cut": no close() of the outbox
    ob2 = outbox.Outbox(FileStore(d))
    assert (ob2.acked, ob2.last) == (4, 10)
    s2 = session.Session("u1", max_inflight=4)
    up(s2)
    assert _seqs(_run(ob2, s2, 0)) == list(range(5, 11))
    ob2.close()
    ob3 = outbox.Outbox(FileStore(d))
    assert (ob3.acked, ob3.last) == (10, 10) and _ev(ob3, 0) == 11
    ob3.close()


def test_file_store_cuts_torn_tail_and_bad_crc():
    d = tmpdir("obt")
    st = FileStore(d)
    ob = outbox.Outbox(st)
    for i in range(3):
        _ev(ob, i)
    st.close()
    with open(d + "/log", "ab") as f:
        f.write(b"\xfb\x02\x00\x40\x00\x00\x00\x04partial")  # a write torn by a power cut
    st2 = FileStore(d)
    assert st2.open() == (0, 3) and st2.recovered_torn == 15
    assert [rec(st2)[0] for _ in range(3)] == [1, 2, 3] and rec(st2) is None
    st2.close()
    # flip one payload byte of record 3: it and what follows are cut off
    size = os.stat(d + "/log")[6]
    with open(d + "/log", "r+b") as f:
        f.seek(size - 6)
        b = f.read(1)
        f.seek(size - 6)
        f.write(bytes((b[0] ^ 0x55,)))
    st3 = FileStore(d)
    assert st3.open() == (0, 2)
    st3.close()


def test_file_store_compacts_and_stays_bounded():
    d = tmpdir("obc")
    st = FileStore(d, compact_bytes=2048)
    ob = outbox.Outbox(st, ack_batch=1)
    s = session.Session("u1", max_inflight=8)
    up(s)
    seen = []
    for i in range(300):
        _ev(ob, i)
        if i % 7 == 0:
            seen += _seqs(_run(ob, s, i))
    seen += _seqs(_run(ob, s, 1000))
    assert seen == list(range(1, 301))
    assert st.compactions > 0
    assert os.stat(d + "/log")[6] < 2048 + 200
    ob.close()
    st2 = FileStore(d)
    assert st2.open() == (300, 300)
    st2.close()


def test_leftover_tmp_files_from_a_crash_are_ignored():
    d = tmpdir("obx")
    ob = outbox.Outbox(FileStore(d), ack_batch=1)
    _ev(ob, 0)
    ob.store.close()
    with open(d + "/log.tmp", "wb") as f:
        f.write(b"half a compaction")
    with open(d + "/ack.tmp", "wb") as f:
        f.write(b"FBA1")
    st = FileStore(d)
    assert st.open() == (0, 1)
    assert rec(st)[0] == 1
    st.close()


def test_seq_survives_loss_of_the_ack_file_after_full_compaction():
    d = tmpdir("oba")
    st = FileStore(d, compact_bytes=256)
    ob = outbox.Outbox(st, ack_batch=1)
    s = session.Session("u1", max_inflight=8)
    up(s)
    for i in range(40):
        _ev(ob, i)
        _run(ob, s, i)
    assert ob.depth() == 0 and st.compactions > 0
    ob.close()
    assert os.stat(d + "/log")[6] < 256 + 200
    os.remove(d + "/ack")  # flash damage: the pointer is gone
    st2 = FileStore(d)
    acked, last = st2.open()
    assert last == 40  # the newest record kept it: seq is never reused
    seqs = []
    while True:
        r = rec(st2)
        if r is None:
            break
        seqs.append(r[0])
    # what is left in the log is sent again (duplicates), ending at the newest record
    assert acked == 0 and seqs and seqs == list(range(seqs[0], 41))
    st2.close()


def _file(path, data=None):
    """The bytes of a file, or write them (a power cut's leftover, made by hand)."""
    if data is None:
        with open(path, "rb") as f:
            return f.read()
    with open(path, "wb") as f:
        f.write(data)


def _ack_cut(d, st, seq):
    """st.ack(seq) done, then undone: the ack file as a power cut after each byte of that write
    leaves it (the write is 12 bytes at a 12-aligned slot: before and after differ there)."""
    b0 = _file(d + "/ack")
    st.ack(seq)
    b1 = _file(d + "/ack")
    i = 0
    while i < len(b0) and b0[i] == b1[i]:
        i += 1
    o = i // 12 * 12
    assert len(b1) == 24 and b1[o + 12:] == b0[o + 12:], (b0, b1)
    return [b1[:o + k] + b0[o + k:] for k in range(13)]


def _acked_then_sent(d):
    """Reopen the store in d: (acked, the seqs still to send)."""
    st = FileStore(d)
    acked, _last = st.open()
    seqs = []
    while True:
        r = rec(st)
        if r is None:
            break
        seqs.append(r[0])
    st.close()
    return acked, seqs


def test_an_ack_cut_at_any_byte_leaves_the_old_or_the_new_pointer():
    """issue 13: the ack is written in place, in turn to one of two slots (no tmp file, no
    rename): a power cut at any byte of the write, or a torn slot, leaves the pointer before
    it (those events sent again) or the new one, never another, never a loss; the next ack
    after such a boot goes to the other slot again (the valid one is kept)."""
    d = tmpdir("obcut")
    st = FileStore(d)
    st.open()
    for i in range(1, 7):
        st.append(i, contract.RESULT, b"fax/status", b'{"seq":%d}' % i)
    st.ack(1)
    st.ack(2)
    for seq in (3, 4):          # the second slot, then the first
        cuts = _ack_cut(d, st, seq)
        st.close()
        whole = cuts[-1]
        for k, data in enumerate(cuts):
            _file(d + "/ack", data)
            old = k < 12
            a = seq - 1 if old else seq
            assert _acked_then_sent(d) == (a, list(range(a + 1, 7))), (seq, k)
            st2 = FileStore(d)  # booted on the torn write: the next ack keeps the valid slot
            st2.open()
            again = _ack_cut(d, st2, seq)
            st2.close()
            for cut in again[:12]:
                _file(d + "/ack", cut)
                assert _acked_then_sent(d)[0] == a, (seq, k)
        _file(d + "/ack", whole)
        st = FileStore(d)
        st.open()
    st.close()
    torn = bytearray(_file(d + "/ack"))   # the newest slot (gen 4: the first) damaged
    torn[5] ^= 0x10
    _file(d + "/ack", torn)
    assert _acked_then_sent(d) == (3, [4, 5, 6])
    _file(d + "/ack", b"")      # an empty ack file (a cut in the first write ever): resend all
    assert _acked_then_sent(d) == (0, [1, 2, 3, 4, 5, 6])
    st = FileStore(d)           # the ack file lost while the store is open: made again
    st.open()
    os.remove(d + "/ack")
    st.ack(2)
    st.close()
    assert _acked_then_sent(d) == (2, [3, 4, 5, 6])


def test_an_older_firmwares_ack_file_is_read_and_kept_until_a_slot_holds_a_newer_pointer():
    """issue 13: the firmware before wrote `ack` whole (FBA1 seq crc32, 12 bytes, via a rename):
    it is read at boot; the first ack after the upgrade goes to the second slot, so a cut in it
    leaves the old record; the second overwrites it."""
    import binascii
    d = tmpdir("obold")
    st = FileStore(d)
    st.open()
    for i in range(1, 6):
        st.append(i, contract.RESULT, b"fax/status", b'{"seq":%d}' % i)
    st.close()
    rec = b"FBA1" + bytes((0, 0, 0, 2))
    c = binascii.crc32(rec)
    _file(d + "/ack", rec + bytes((c >> 24, (c >> 16) & 255, (c >> 8) & 255, c & 255)))
    assert _acked_then_sent(d) == (2, [3, 4, 5])
    for seq in (3, 4):
        st = FileStore(d)
        st.open()
        cuts = _ack_cut(d, st, seq)
        st.close()
        for k, data in enumerate(cuts):
            _file(d + "/ack", data)
            assert _acked_then_sent(d)[0] == (seq if k == 12 else seq - 1), (seq, k)
    assert _acked_then_sent(d) == (4, [5])
    assert _file(d + "/ack")[:4] != b"FBA1"   # the second ack overwrote the old record


def test_inflight_is_public_in_send_order_and_bounded_by_the_window():
    for _name, st in _stores():
        ob = outbox.Outbox(st, window=3)
        for i in range(4):
            _ev(ob, i)
        ob.accept(contract.ANSWER, "cmd/error", contract.event("u1", ob.last + 1, ()))
        s = session.Session("u1", max_inflight=8)
        up(s)
        assert ob.pump(s, ROOT, 0) == 3 and ob.inflight == 3  # the window, not the session's 8
        assert [ob.flight(i) for i in range(3)] == [(1, "cafis/verdict"), (2, "cafis/verdict"),
                                                    (3, "cafis/verdict")]
        assert ob.pump(s, ROOT, 0) == 0
        got = ack_all(s, ob, 0)
        assert _seqs(got) == [1, 2, 3] and ob.inflight == 0 and ob.delivered == 3
        assert ob.pump(s, ROOT, 0) == 2
        assert [ob.flight(i) for i in range(2)] == [(4, "cafis/verdict"), (5, "cmd/error")]
        assert [t for t, _p in ack_all(s, ob, 0)] == ["faxbridge/u1/cafis/verdict", "faxbridge/u1/cmd/error"]
        assert ob.depth() == 0 and ob.inflight == 0
        # a suffix that is no contract event topic is sent all the same, under no echo name
        ob.accept(contract.RESULT, "fax/statuses", contract.event("u1", ob.last + 1, ()))
        ob.accept(contract.RESULT, b"fax/status", contract.event("u1", ob.last + 1, ()))
        ob.accept(contract.RESULT, "fax/received", contract.event("u1", ob.last + 1, ()))
        assert ob.pump(s, ROOT, 0) == 3
        assert [ob.flight(i) for i in range(3)] == [(6, None), (7, "fax/status"), (8, "fax/received")]
        assert [t for t, _p in ack_all(s, ob, 0)][0] == "faxbridge/u1/fax/statuses"
        ob.close()


def test_puback_out_of_order_delivers_only_the_contiguous_prefix():
    ob = outbox.Outbox(MemStore())
    for i in range(3):
        _ev(ob, i)
    s = session.Session("u1", max_inflight=8)
    up(s)
    ob.pump(s, ROOT, 0)
    pids = [ob._pid[i] for i in range(3)]
    ob.on_puback(pids[1], 0)
    assert ob.delivered == 0 and ob.inflight == 3
    ob.on_puback(pids[1], 0)  # a second PUBACK for the same id changes nothing
    ob.on_puback(pids[0], 0)
    assert ob.delivered == 2 and ob.inflight == 1 and ob.flight(0)[0] == 3
    ob.on_puback(pids[2], 0)
    assert ob.delivered == 3 and ob.inflight == 0


def test_file_store_reads_a_record_larger_than_its_buffer_left_by_an_earlier_config():
    d = tmpdir("obl")
    ob = outbox.Outbox(FileStore(d, max_record=2048))
    big = "y" * 1900      # under jsonw.MAX_PAYLOAD, over the later 1024-byte buffer
    ob.accept(contract.RESULT, "fax/received", contract.event("u1", ob.last + 1, (("pad", big),)))
    _ev(ob, 2)
    ob.store.close()
    st = FileStore(d, max_record=1024)  # the record is checked in buffer-sized chunks at open
    ob2 = outbox.Outbox(st)
    assert (ob2.acked, ob2.last) == (0, 2)
    s = session.Session("u1", max_inflight=8)
    up(s)
    got = _run(ob2, s, 0)
    assert _seqs(got) == [1, 2] and json.loads(got[0][1])["pad"] == big
    raises(ValueError, ob2.accept, contract.RESULT, "fax/received",
           contract.event("u1", ob.last + 1, (("pad", big),)))
    ob2.close()


def test_a_reserve_as_large_as_the_outbox_is_refused():
    raises(ValueError, outbox.Outbox, MemStore(), capacity=4096)
    raises(ValueError, outbox.Outbox, MemStore(), max_records=8)
    ob = outbox.Outbox(MemStore(), capacity=4097, max_records=9)
    assert ob.has_room(contract.ANSWER, 100) and not ob.has_room(contract.RESULT, 1)


def test_events_in_flight_are_written_from_their_place_across_a_compaction():
    """An event in flight is its packet id and its record's place in the store: acks that
    compact the log under it (the front cut off) leave the place valid, so a resend after a
    reconnect writes the same event with DUP, read again from the store."""
    for name, st in (("mem", MemStore()), ("file", FileStore(tmpdir("obp"), compact_bytes=64))):
        ob = outbox.Outbox(st, ack_batch=1)
        s = session.Session("u1", max_inflight=4, retry_ms=0)
        up(s)
        for i in range(12):
            _ev(ob, i)
        assert ob.pump(s, ROOT, 0) == 4
        first = wire(s, ob)
        for t, f, body in packets(first[:2]):                   # the broker acks two of four
            s.feed(bytes((0x40, 2)) + body[2 + 13 + 13:2 + 13 + 13 + 2], 1)
        for ev in s.events():
            ob.on_puback(ev, 1)
        assert ob.acked == 2 and s.inflight() == 2, (name, ob.acked, s.inflight())
        if name == "file":
            assert st.compactions == 1 and st.base > 0          # the front was cut off
        s.lost(2)
        s.start(3)
        s.take()
        s.feed(b"\x20\x02\x01\x00", 3)                          # session present: resend
        again = [decode_publish(f, memoryview(b)) for _t, f, b in packets(wire(s, ob))]
        assert [(json.loads(bytes(p))["seq"], d) for _tp, p, _q, _r, d, _pid in again] == \
            [(3, True), (4, True)], (name, again)
        assert ob.pump(s, ROOT, 4) == 2                         # the cursor moved on: 5, 6
        got = [json.loads(bytes(decode_publish(f, memoryview(b))[1]))["seq"]
               for _t, f, b in packets(wire(s, ob))]
        assert got == [5, 6], (name, got)


def test_places_stay_valid_after_gigabytes_compacted():
    """A place counts the bytes compacted away since open(): after a few GB of traffic in one
    boot it must still fit the outbox's 32-bit ring (and be a small int on the ESP32), and a
    resend after one more compaction must still find its record."""
    st = FileStore(tmpdir("obbig"), compact_bytes=64)
    ob = outbox.Outbox(st, ack_batch=1)
    st.base = (1 << 32) - 100          # as if ~4 GB had been compacted away since open()
    s = session.Session("u1", max_inflight=4, retry_ms=0)
    up(s)
    for i in range(12):
        _ev(ob, i)
    assert ob.pump(s, ROOT, 0) == 4
    first = wire(s, ob)
    for t, f, body in packets(first[:2]):
        s.feed(bytes((0x40, 2)) + body[2 + 13 + 13:2 + 13 + 13 + 2], 1)
    for ev in s.events():
        ob.on_puback(ev, 1)
    assert ob.acked == 2 and st.compactions == 1
    s.lost(2)
    s.start(3)
    s.take()
    s.feed(b"\x20\x02\x01\x00", 3)
    again = [decode_publish(f, memoryview(b)) for _t, f, b in packets(wire(s, ob))]
    assert [(json.loads(bytes(p))["seq"], d) for _tp, p, _q, _r, d, _pid in again] == \
        [(3, True), (4, True)], again
    assert 0 <= st.at < (1 << 30) and 0 <= st.base < (1 << 30)
    ob.close()


def test_a_header_written_in_place_gives_the_packet_a_header_buffer_gives():
    """packet() writes the PUBLISH header in place before the payload in the FileStore's
    buffer (its own 9 header bytes and `room`): the bytes codec.publish_header_into gives in a
    buffer of its own, for an event, a page's head (its suffix moves up over the file name) and
    a resend (DUP); a root longer than the room, or a RAM store, gets a packet made for it."""
    d = tmpdir("obip")
    page = d + "/p1.g3"
    with open(page, "wb") as f:
        f.write(b"\x00\x01" * 50)
    long_root = b"faxbridge/" + b"u" * 64 + b"/"
    for root, store in ((ROOT, FileStore(tmpdir("obip"))), (long_root, FileStore(tmpdir("obip"))),
                        (ROOT, FileStore(tmpdir("obip"), room=4)), (ROOT, MemStore(file_size=lambda r: 100))):
        ob = outbox.Outbox(store)
        s = session.Session("u1", max_inflight=8)
        up(s)
        _ev(ob, 1)
        ob.accept(contract.RESULT, "cmd/error", b"x" * 300)
        ob.accept_file(contract.RESULT, contract.page_topic("rx1-1", 1), page, b'{"seq":%d}' % (ob.last + 1))
        assert ob.pump(s, root, 0) == 3
        heads = (contract.event("u1", 1, (("i", 1),)), b"x" * 300, b'{"seq":3}')
        sfxs = (b"cafis/verdict", b"cmd/error", b"fax/page/rx1-1/1")
        for dup in (False, True):
            for pid in (1, 2, 3):
                pkt, ref, size = ob.packet(pid, dup, root)
                assert (ref, size) == ((page, 100) if pid == 3 else (None, 0))
                hb = bytearray(200)
                n = codec.publish_header_into(hb, root, len(heads[pid - 1]) + size, 1, False, dup, pid,
                                              sfxs[pid - 1])
                assert bytes(pkt) == bytes(hb[:n]) + heads[pid - 1], (root, pid, bytes(pkt))
        ob.close()


def test_records_left_by_the_firmware_before_are_sent_after_the_upgrade():
    """A log written before the class byte carried the topic's index (bits 4-6 zero) is read
    after a reboot into this firmware: each record goes to the topic its suffix names, in seq
    order, before the new ones; only the echo check does not know its topic (flight: None)."""
    d = tmpdir("obold")
    st = FileStore(d)
    st.open()
    for seq, sfx in ((1, b"fax/status"), (2, b"cafis/verdict")):
        st.append(seq, contract.RESULT, sfx, contract.event("u1", seq, (("i", seq),)))
    st.close()
    ob = outbox.Outbox(FileStore(d))
    assert (ob.acked, ob.last) == (0, 2)
    _ev(ob, 3)
    s = session.Session("u1")
    up(s)
    assert ob.pump(s, ROOT, 0) == 3
    assert [ob.flight(i) for i in range(3)] == [(1, None), (2, None), (3, "cafis/verdict")]
    got = ack_all(s, ob, 0)
    assert [t for t, _p in got] == [R + "fax/status", R + "cafis/verdict", R + "cafis/verdict"]
    assert _seqs(got) == [1, 2, 3]
    ob.close()


class _Counted:
    """The log file, its seeks and reads counted."""

    def __init__(self, f):
        self.f = f
        self.seeks = 0
        self.reads = 0

    def seek(self, *a):
        self.seeks += 1
        return self.f.seek(*a)

    def readinto(self, b):
        self.reads += 1
        return self.f.readinto(b)

    def __getattr__(self, k):
        return getattr(self.f, k)


def test_the_store_seeks_only_where_the_file_is_not_and_reads_a_header_once():
    """issue 15 (the MQTT rate, the telegram latency): the FileStore knows where its log file is
    (no seek there) and the send reads the header the pump just read from RAM: an event appended,
    pumped and sent is 1 seek and 2 reads (it was 3 seeks and 3 reads); consecutive sends and
    appends seek nowhere. Every record still reads back whole, after a reopen too."""
    d = tmpdir("obseek")
    ob = outbox.Outbox(FileStore(d))
    s = session.Session("c1", keepalive=0)
    up(s)
    st = ob.store
    root = b"faxbridge/u1/"
    f = st.f = _Counted(st.f)
    ob.accept(contract.RESULT, "fax/status", b'{"seq":1}')   # (a seek: where the file is is
    f.seeks = f.reads = 0                                      # not known after open)
    ob.pump(s, root, 0)
    pid = s.take()[-1]
    pkt = bytes(ob.packet(pid, False, root)[0])
    assert (f.seeks, f.reads) == (1, 2), (f.seeks, f.reads)
    assert decode_publish(pkt[0] & 15, memoryview(pkt)[2:])[1] == b'{"seq":1}'
    ob.accept(contract.RESULT, "fax/status", b'{"seq":2}')   # the file is at the end: no seek
    ob.accept(contract.RESULT, "fax/status", b'{"seq":3}')
    assert f.seeks == 1
    ob.pump(s, root, 0)
    pids = [c for c in s.take() if type(c) is int]
    f.seeks = f.reads = 0
    got = [bytes(ob.packet(p, False, root)[0]) for p in pids]
    assert f.seeks == 1 and f.reads == 4, (f.seeks, f.reads)   # the second record follows the first
    assert [decode_publish(g[0] & 15, memoryview(g)[2:])[1] for g in got] == [b'{"seq":2}', b'{"seq":3}']
    # an ack between the pump and the send writes another file and leaves the header skip()
    # read: the send reads the body alone (issue 13: it read the header from flash again)
    ob.accept(contract.RESULT, "fax/status", b'{"seq":4}')
    ob.pump(s, root, 0)
    pid = s.take()[-1]
    st.ack(3)
    f.seeks = f.reads = 0
    pkt = bytes(ob.packet(pid, False, root)[0])
    assert (f.seeks, f.reads) == (0, 1), (f.seeks, f.reads)
    assert decode_publish(pkt[0] & 15, memoryview(pkt)[2:])[1] == b'{"seq":4}'
    st.f = f.f
    ob.close()
    st2 = FileStore(d)
    assert st2.open() == (3, 4) and bytes(rec(st2)[3]) == b'{"seq":4}' and rec(st2) is None
    st2.close()


class _FullTmp:
    """log.tmp on a full flash: every write fails (ENOSPC)."""

    def __init__(self, f):
        self.f = f

    def write(self, b):
        raise OSError(28, "no space left")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()

    def __getattr__(self, k):
        return getattr(self.f, k)


def test_a_compaction_that_fails_half_way_leaves_no_stale_position_for_the_next_append():
    """A compaction reads the log to copy it (the file moves) and may fail writing log.tmp (a
    full flash): the store must not trust the position it knew before, or the next append
    lands in the middle of the log over an undelivered record (lost, and the reopen cuts the
    log there)."""
    from faxbridge.app import outbox_store
    real = open

    def _open(path, mode="r"):
        f = real(path, mode)
        return _FullTmp(f) if path.endswith("log.tmp") else f

    d = tmpdir("obcf")
    st = FileStore(d, compact_bytes=64, max_record=128)
    st.open()
    pl = [(b'{"seq":%d,"pad":"' % i) + b"x" * 26 + b'"}' for i in range(1, 8)]
    for i in range(4):
        st.append(i + 1, contract.RESULT, b"fax/status", pl[i])
    assert rec(st)[0] == 1 and rec(st)[0] == 2   # the cursor past 1 and 2
    st.append(5, contract.RESULT, b"fax/status", pl[4])   # the store knows it is at the end
    outbox_store.open = _open
    try:
        # 3..5 (189 bytes) do not fit the 128-byte buffer: the copy stops after one piece
        raises(OSError, st.ack, 2)
    finally:
        del outbox_store.open
    st.append(6, contract.RESULT, b"fax/status", pl[5])
    got = []
    for _ in range(5):
        r = rec(st)
        if r is None:
            break
        got.append((r[0], bytes(r[3])))
    assert got == [(i, pl[i - 1]) for i in (3, 4, 5, 6)], got
    st.close()
    st2 = FileStore(d)
    assert st2.open() == (2, 6)
    st2.close()


class _Cut(Exception):
    pass


class _FatOs:
    """os as compaction meets it on FAT (MicroPython's VfsFat): a rename over a file removes
    that file first, then renames; the power is cut between the two (_Cut)."""

    def __getattr__(self, name):
        return getattr(os, name)

    def rename(self, a, b):
        os.remove(b)
        raise _Cut()


def test_a_cut_inside_a_compactions_rename_on_fat_loses_no_event_and_reuses_no_seq():
    """On FAT the rename of log.tmp over log is two steps (the old log removed, then the copy
    renamed): a power cut between them leaves log.tmp alone, complete (synced before the
    rename). The reopen takes it as the log: the undelivered events are still sent, the next
    seq follows the last (it deleted it as a compaction's leftover: all lost, seqs reused)."""
    from faxbridge.app import outbox_store
    d = tmpdir("obfat")
    st = FileStore(d, compact_bytes=64)
    st.open()
    for i in range(1, 9):
        st.append(i, contract.RESULT, b"fax/status", b'{"seq":%d}' % i)
    for _ in range(4):
        rec(st)                  # the cursor past 1-4 (sent)
    outbox_store.os = _FatOs()
    try:
        raises(_Cut, st.ack, 4)  # 4 delivered: the compaction's rename is cut half-way
    finally:
        outbox_store.os = os
    assert sorted(os.listdir(d)) == ["ack", "log.tmp"]
    assert _acked_then_sent(d) == (4, [5, 6, 7, 8])
    st = FileStore(d)
    assert st.open() == (4, 8) and sorted(os.listdir(d)) == ["ack", "log"]
    st.close()


def test_file_store_open_checks_each_crc_byte():
    """open() checks a record's CRC against its fixed residue (the CRC's bytes turned in the
    buffer): a flip in any of the four CRC bytes of the newest record cuts it off, and a record
    longer than the buffer (written with a larger max_record) is still checked in chunks."""
    d = tmpdir("obr")
    st = FileStore(d, max_record=2048)
    ob = outbox.Outbox(st)
    _ev(ob, 1)
    ob.accept(contract.RESULT, "cafis/verdict", contract.event("u1", ob.last + 1, (("pad", "x" * 1500),)))
    _ev(ob, 3)
    st.close()
    with open(d + "/log", "rb") as f:
        good = f.read()
    for small in (False, True):
        st2 = FileStore(d, max_record=256 if small else 2048)
        assert st2.open() == (0, 3)             # record 2 (1.5 KB) read in chunks when small
        st2.close()
    for i in range(1, 5):
        bad = bytearray(good)
        bad[-i] ^= 0x01
        with open(d + "/log", "wb") as f:
            f.write(bad)
        st3 = FileStore(d)
        assert st3.open() == (0, 2), i
        st3.close()
    bad = bytearray(good)                       # the long record's CRC, checked in chunks
    at = 8 + ((bad[2] << 8) | bad[3]) + 4       # past record 1: record 2's header
    n2 = (bad[at + 2] << 8) | bad[at + 3]
    assert n2 > 1500
    bad[at + 8 + n2] ^= 0x80                    # its CRC's first byte
    with open(d + "/log", "wb") as f:
        f.write(bad)
    st4 = FileStore(d, max_record=256)
    assert st4.open() == (0, 1)
    st4.close()


def test_file_store_open_allocates_little_per_record():
    """Boot's scan of the log (open at the link's creation) makes one view a record and no int
    of the stored CRC: 64-bit unix port, collector off, 60 records: 6 368 B before (two views a
    record, the CRC read apart), 4 448 B now (the record buffer among them)."""
    import sys
    d = tmpdir("oba")
    st = FileStore(d)
    ob = outbox.Outbox(st)
    for i in range(60):
        _ev(ob, i)
    st.close()
    if sys.implementation.name != "micropython":
        return
    from support import allocated
    st2 = FileStore(d)
    used, got = allocated(st2.open)
    st2.close()
    assert got == (0, 60)
    assert used <= 5200, used
