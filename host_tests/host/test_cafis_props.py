"""Property tests (hypothesis): random and mutated telegrams always get exactly one verdict and
never raise; malformed registries are refused with RegistryError, never anything else."""
import json

import cafis_helpers as h
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxbridge.core.cafis import layout, outbound, registry, verdict

KINDS = {"accept", "discard", "abnormal_report", "terminal_error"}    # Verdict.kind
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD = [h.center_tel(), h.center_tel((("msg_type", "9100"), ("cafis_seq", "000777"))),
        h.center_tel((("msg_type", "9300"),)), h.answer(), h.answer((("msg_type", "9110"),)),
        h.center_tel((("route", "0000"), ("seq", "000000"), ("msg_type", "7020")), trailer=b""),
        h.center_tel((("route", "0001"), ("seq", "000000"), ("msg_type", "7001")), trailer=b"")]
FIELD_BYTES = st.sampled_from([b"0", b"9", b" ", b"X", b"\x0e", b"\x0f", b"\x00", b"\xff"])


def _valid(v):
    assert isinstance(v, verdict.Verdict)
    assert v.kind in KINDS
    if v.kind == "accept":
        assert v.code is None and v.rule() is None and v.field is None
    elif v.kind == "discard":
        assert v.code is None
    elif v.kind == "abnormal_report":
        assert v.code.startswith("C") and v.rule() and v.field and v.reply in (b"9900", b"9110", b"9310")
    else:
        assert v.code.startswith("CAF") and v.rule() and v.field


@st.composite
def mutated(draw):
    t = bytearray(draw(st.sampled_from(GOOD)))
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(t) - 1))
        t[i] = draw(FIELD_BYTES)[0]
    cut = draw(st.one_of(st.none(), st.integers(0, len(t) + 5)))
    if cut is not None:
        t = t[:cut]
    grow = draw(st.integers(0, 3))
    if grow:
        t += b"x" * draw(st.sampled_from([1, 100, 961, 962, 2000]))
    return bytes(t)


@SETTINGS
@given(st.lists(st.tuples(st.one_of(mutated(), st.binary(max_size=1100)),
                          st.sampled_from(["center", "terminal"]),
                          st.sampled_from(["A", "B", "C", "Z"]),
                          st.booleans()), min_size=1, max_size=12))
def test_random_and_mutated_telegrams_one_verdict_never_raise(seq):
    c = h.checker()
    for tel, frm, center, out in seq:
        if out:
            assert c.sent(tel, center) in (True, False)
        else:
            before = h.snapshot(c.routes)
            v = c.check(tel, frm, center)
            _valid(v)
            if v.kind != "accept":
                assert h.snapshot(c.routes) == before, v      # nothing but an accept changes state
            rep = c.report(tel, v)
            assert (rep is not None) == (v.kind == "abnormal_report")
            if rep is not None:
                assert rep[:43] == bytes(tel[:43]) and rep[63:] == v.code.encode()
    for r in range(0, 12):
        v = c.expire("A", r)
        assert v is None or v.code == "C50"


@SETTINGS
@given(st.sampled_from(GOOD), st.integers(0, 62), FIELD_BYTES)
def test_single_byte_mutation_of_a_header_names_a_field(tel, i, b):
    c = h.checker()
    c.sent(h.forwarded(), "B")
    c.sent(h.forwarded((("msg_type", "9100"),)), "B")
    c.sent(h.center_tel((("route", "0001"), ("seq", "000000"), ("msg_type", "7000")), trailer=b""), "A")
    t = bytearray(tel)
    t[i] = b[0]
    center = "B" if tel[:4] == b"0100" else "A"
    v = c.check(bytes(t), "center", center)
    _valid(v)
    if v.kind != "accept":
        names = set(r[2] for r in layout.rows(layout.CENTER_FIELDS))
        names |= {"電文長", "仕向センタ", "被仕向センタ", "CAFISセンタ"}
        assert v.field in names, v


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-5, 3000) | st.text(max_size=12),
                       lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=8), ch, max_size=4),
                       max_leaves=12)


@st.composite
def broken_registry(draw):
    d = h.example_dict()
    for _ in range(draw(st.integers(1, 3))):
        path = []
        node = d
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else list(range(len(node)))))
            path.append((node, key))
            node = node[key]
        if not path:
            key = draw(st.sampled_from(sorted(d)))
            path = [(d, key)]
        parent, key = path[-1]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(JSONISH)
    return d


@SETTINGS
@given(broken_registry())
def test_mutated_registries_load_or_are_refused(d):
    for src in (d, json.dumps(d)):
        try:
            reg = registry.load(src)
        except registry.RegistryError as e:
            assert str(e)
            continue
        c = outbound.Checker(reg)
        _valid(c.check(h.center_tel(), "center", "A"))
        _valid(c.check(h.terminal_tel(), "terminal"))


@SETTINGS
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_garbage_registry_text_refused(text):
    try:
        registry.load(text)
    except registry.RegistryError:
        pass
