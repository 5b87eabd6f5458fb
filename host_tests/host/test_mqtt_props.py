"""Property tests (hypothesis): codec round trips under any chunking, garbage never crashes the
session or the command parser, a damaged outbox file always reopens to a valid prefix."""
import os
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxbridge.app.outbox_store import FileStore
from faxbridge.core.mqtt import codec, commands, contract, session

from mqtt_helpers import PUBACK, PUBLISH, REASONS, Collect, MemStore, decode_publish, encode_publish, rec  # noqa: E402
from mqtt_helpers import packets as _packets  # noqa: E402


class _Rx:
    def on_publish_start(self, topic, total, retain, dup, pid):
        pass

    def on_publish_chunk(self, mv):
        pass

    def on_publish_end(self):
        return True

topics = st.text(st.characters(blacklist_characters="+#\x00", blacklist_categories=("Cs",)),
                 min_size=1, max_size=40)
publishes = st.tuples(topics, st.binary(max_size=300), st.sampled_from([0, 1]), st.booleans(),
                      st.booleans(), st.integers(1, 65535))


@settings(max_examples=200, deadline=None)
@given(st.lists(publishes, min_size=1, max_size=8), st.lists(st.integers(1, 50), min_size=1, max_size=20))
def test_publish_round_trip_any_chunking(pubs, cuts):
    stream = b"".join(encode_publish(t, p, q, r, d, pid) for t, p, q, r, d, pid in pubs)
    got = []
    parser = codec.Parser(160)
    sink = Collect()
    i = k = 0
    while i < len(stream):
        n = cuts[k % len(cuts)]
        parser.parse(stream[i:i + n], sink)
        i += n
        k += 1
    for t, f, body in sink.out:
        assert t == PUBLISH
        tp, pl, q, r, d, pid = decode_publish(f, memoryview(body))
        got.append((tp, bytes(pl), q, r, d, pid if q else 0))
    assert got == [(t, p, q, r, d, pid if q else 0) for t, p, q, r, d, pid in pubs]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_from_the_broker_never_raises(data):
    s = session.Session("u1", header_size=128)
    s.rx = _Rx()
    s.start(0)
    s.take()
    s.feed(b"\x20\x02\x00\x00", 1)
    s.feed(data, 2)
    s.poll(3)
    assert s.state in (session.UP, session.DOWN)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.binary(max_size=300))
def test_any_command_topic_and_payload_routes_or_gets_a_reason(sfx, payload):
    try:
        kind = ("fax", "cancel", "telegram")[commands.route(("cmd/" + sfx).encode()) & 3]
        commands.check_size(kind, len(payload))
        if kind == "cancel":
            commands.parse_cancel(payload)
    except commands.CommandError as e:
        assert e.reason in REASONS and e.detail


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 30), st.integers(0, 4000), st.binary(min_size=1, max_size=8), st.booleans())
def test_damaged_log_reopens_to_a_valid_prefix(n, pos, junk, truncate):
    d = tempfile.mkdtemp(prefix="obprop")
    s = FileStore(d)
    s.open()
    for i in range(1, n + 1):
        s.append(i, 2, b"fax/status", b'{"seq":%d}' % i)
    s.close()
    size = os.path.getsize(d + "/log")
    pos = pos % size
    with open(d + "/log", "r+b") as f:
        if truncate:
            f.truncate(pos)
        else:
            f.seek(pos)
            f.write(junk)
    s2 = FileStore(d)
    acked, last = s2.open()
    seqs = []
    while True:
        r = rec(s2)
        if r is None:
            break
        seqs.append(r[0])
        assert r[3] == b'{"seq":%d}' % r[0]
    assert seqs == list(range(1, last + 1)) and acked == 0
    s2.append(last + 1, 2, b"fax/status", b"x")  # and it keeps working after the repair
    s2.close()
    s3 = FileStore(d)
    assert s3.open()[1] == last + 1
    s3.close()
    shutil.rmtree(d, ignore_errors=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("new"), st.sampled_from(["cmd/telegram", "cmd/telegram/center/R", "cmd/cancel",
                                               "cmd/reboot", "cmd/telegram/x", "fax/status"]),
              st.binary(min_size=0, max_size=60)),
    st.tuples(st.just("again"), st.integers(0, 40), st.booleans())), min_size=1, max_size=30),
    st.integers(1, 97))
def test_link_answers_each_command_once_whatever_the_order_and_split(ops, cut):
    """New commands get exactly one answer (or none when empty / not a command); a DUP
    redelivery of one already answered, or the same ref again, gets none; PUBACK for all."""
    from faxbridge.app.link import Link
    from faxbridge.app.seen import Seen
    ln = Link("u1", "127.0.0.1", 1883, MemStore(), verify=False,
              seen=Seen(tempfile.mkdtemp(prefix="lprop") + "/seen", 64))
    ln.on_command = lambda cmd: ln.event(contract.CAFIS_VERDICT, contract.cafis_verdict(
        cmd[3] if cmd[0] == "telegram" else None, "accept", None, "r"))
    s = ln.session
    s.start(0)
    s.take()
    s.feed(b"\x20\x02\x00\x00", 0)
    ln._handle(0)
    s.take()
    sent = []
    want = 0
    refs = set()
    stream = b""
    for op in ops:
        if op[0] == "new":
            topic, payload = op[1], op[2]
            pid = len(sent) + 1
            if topic.endswith("/R"):
                topic += str(pid % 5)          # refs repeat: a repeated ref gets no answer
            sent.append((topic, payload, pid))
            if topic.startswith("cmd/") and payload:
                if "/R" in topic:
                    if topic not in refs:
                        want += 1
                    refs.add(topic)
                else:
                    want += 1
            stream += encode_publish("faxbridge/u1/" + topic, payload, 1, False, False, pid)
        elif sent:
            topic, payload, pid = sent[op[1] % len(sent)]
            stream += encode_publish("faxbridge/u1/" + topic, payload, 1, False, True, pid)
    for i in range(0, len(stream), cut):
        s.feed(stream[i:i + cut], 1)
    acks = [p for p in _packets(s.take()) if p[0] == PUBACK]
    assert len(acks) == stream.count(b"faxbridge/u1/")   # every one acknowledged (room enough)
    assert len(ln.outbox.store.recs) == want, (want, [r[3] for r in ln.outbox.store.recs])
