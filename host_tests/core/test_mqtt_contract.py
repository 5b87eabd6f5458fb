"""Contract payloads (ordered JSON, unit + seq) and the JSON writer under them (core/mqtt/jsonw.py), on both
runtimes."""
import gc
import json

from support import fields as as_dict, raises

from faxbridge.core.mqtt import contract, jsonw


def _obj(pairs):
    """An ordered JSON object from pairs, as str: written as the one field's value (a tuple of
    pairs is a nested object), the field taken off again."""
    jsonw.begin()
    jsonw.field("o", pairs)
    return jsonw.end()[5:-1].decode()


def _value(v):
    """One JSON value as the contract writes it (inside an object)."""
    return _obj((("v", v),))[5:-1]


def test_event_payload_is_ordered_and_identical_everywhere():
    p = contract.event("u1", 42, contract.fax_status("J1", -3, "in progress", False, 2, 1,
                                                     (("result", "BUSY"), ("fhng", None)), "wait", 3))
    assert p == (b'{"unit":"u1","seq":42,"job":"J1","code":-3,"category":"in progress",'
                 b'"final":false,"state":"wait","attempt":2,"pages":1,"of":3,'
                 b'"evidence":{"result":"BUSY","fhng":null}}')
    assert json.loads(p)["evidence"]["result"] == "BUSY"


def test_fax_status_state_and_page_count_defaults():
    states = [as_dict(contract.fax_status("J", c, "x", c >= 0, 1, 2))["state"] for c in (-1, -2, -3, -22, 0, 263)]
    assert states == ["new", "queued", "call", "held", "done", "done"]
    d = as_dict(contract.fax_status("J", 0, "success", True, 1, 2))
    assert d["of"] == 2 and d["evidence"] == () and d["final"] is True


def test_value_encoding_rules():
    assert _value(b"\x0e\xff") == '"0eff"'
    assert _value([1, "a", None]) == '[1,"a",null]'
    assert _value({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert json.loads(_value('q"\\\n')) == 'q"\\\n'
    raises(TypeError, _value, object())


def test_builders_cover_every_event_topic():
    for fields in (contract.fax_received("R1", 2, "+81 3 1234", (("vr", 1), ("br", 9600)), 0, "call", "ok"),
                   contract.cafis_verdict("T1", "abnormal_report", "C03", "3.3.4-1 #2", "length"),
                   contract.cmd_error("fax", "bad_json", "x")):
        d = json.loads(contract.event("u9", 7, fields))
        assert d["unit"] == "u9" and d["seq"] == 7
    t = json.loads(contract.telemetry("u9", 7, 3, (("heap", 1000),)))
    assert (t["seq"], t["tseq"], t["heap"]) == (7, 3, 1000)
    assert contract.root("u9") == "faxbridge/u9"
    raises(ValueError, contract.root, "a/b")
    raises(ValueError, contract.root, "")
    assert contract.root("u9", "site/a") == "site/a/u9"
    for bad in ("", "a/#", "+", "/a", "a/"):
        raises(ValueError, contract.root, "u9", bad)


def test_answer_class_is_above_results():
    assert contract.ANSWER > contract.RESULT > contract.PROGRESS > 0   # telemetry: class 0
    assert contract.CMD_FILTER == "cmd/#"


def test_payloads_are_built_in_one_buffer_and_bounded():
    # a payload is written into one preallocated buffer (nothing grows with it); one over
    # MAX_PAYLOAD is refused (ValueError: the outbox's oversize path), the buffer usable after
    big = "x" * jsonw.MAX_PAYLOAD
    raises(ValueError, contract.event, "u1", 1, (("pad", big),))
    p = contract.event("u1", 2, (("b", b"\x00\xff"), ("l", [1, None, True]), ("d", {"z": 1, "a": "q\"\\"})))
    assert json.loads(p) == {"unit": "u1", "seq": 2, "b": "00ff", "l": [1, None, True],
                             "d": {"a": "q\"\\", "z": 1}}
    assert _obj((("a", 1),)) == '{"a":1}'


def test_a_payload_is_written_in_place_in_the_buffer_given():
    # issue 13: the unit keeps no payload buffer of its own; the link has each payload written
    # into the outbox store's record buffer, in place (buf[o:m]), and bytes around it untouched
    buf = bytearray(b"#" * 64)
    fields = (("i", 7), ("t", "ok"))
    p = contract.event("u1", 5, fields, True, buf, 10, 50)
    want = contract.event("u1", 5, fields)
    assert bytes(p) == want and bytes(buf[10:10 + len(want)]) == want
    assert buf[:10] == b"#" * 10 and buf[10 + len(want):] == b"#" * (54 - len(want))
    # one byte over m is refused, and the next payload starts at its own o again
    raises(ValueError, contract.event, "u1", 5, fields, True, buf, 10, 9 + len(want))
    raises(ValueError, contract.telemetry, "u1", 1, 1, (("pad", "x" * 60),), (), buf)
    assert contract.telemetry("u1", 1, 1, (), (), buf) == b'{"unit":"u1","seq":1,"tseq":1}'
    jsonw.begin(buf)
    raises(ValueError, jsonw.field, "pad", "x" * 60)
    jsonw.begin(buf)
    jsonw.field("a", 1)
    assert jsonw.end() == b'{"a":1}' and buf[:7] == b'{"a":1}'


def _alloc(fn, *a):
    """Bytes allocated by one call with the collector off (MicroPython), and its result; on
    CPython the call's result and 0 (its allocator says nothing about the board's heap)."""
    fn(*a)   # once before: the single-character strs the str loop meets are interned then
    if not hasattr(gc, "mem_alloc"):
        return 0, fn(*a)
    gc.collect()
    gc.disable()
    try:
        a0 = gc.mem_alloc()
        r = fn(*a)
        return gc.mem_alloc() - a0, r
    finally:
        gc.enable()


def test_building_an_event_allocates_little_more_than_the_payload():
    # str pieces written byte by byte, ints digit by digit, bytes as hex into the one buffer:
    # before, every piece was encoded to a new bytes and sliced (6 KB for this fax/status, 4 KB
    # for this verdict on the 64-bit unix port); now the payload itself and ~130 bytes
    st = contract.fax_status("job-2026-12-01-0001", 0, "success", True, 1, 3,
                             (("fhng", 0), ("fhs", "00"), ("remote", "+81 3 1234 5678")))
    vd = contract.cafis_verdict("T000123", "abnormal_report", "C03", "3.3.4-1 #2", "length",
                                "field 12 is 3 bytes, expected 4")
    for fields in (st, vd):
        n, p = _alloc(contract.event, "u1", 123456, fields)
        assert json.loads(p)["seq"] == 123456
        assert n < 1024, (n, len(p))
    n, p = _alloc(contract.telemetry, "u1", 9, 3, (("uptime", 86400), ("heap_free", 40960)),
                  (("link", "state,errors,last_error", ("up", 2, 'x"y')),))
    assert json.loads(p) == {"unit": "u1", "seq": 9, "tseq": 3, "uptime": 86400, "heap_free": 40960,
                             "link": {"state": "up", "errors": 2, "last_error": 'x"y'}}
    assert n < 1024, n


def test_every_value_kind_is_written_as_json():
    # the byte-by-byte writer, edge values included, read back by the runtime's json module
    cases = ((0, 0), (-1, -1), (9, 9), (10, 10), (-10, -10), (2 ** 29, 2 ** 29), ("", ""), ("é", "é"),
             ("a\x7fb", "a\x7fb"), ("ab\u20ac", "ab\u20ac"), ('q"', 'q"'), ("\\", "\\"), ("~ ", "~ "),
             ("\u20ac\n", "\u20ac\n"), (b"", ""), (b"\x00\x0f\xf0", "000ff0"),
             (bytearray(b"\xab"), "ab"), ([], []), ([[]], [[]]), ([1, [2, "x"]], [1, [2, "x"]]),
             ((), {}), ((("k", ()),), {"k": {}}), ({}, {}), (None, None), (True, True), (False, False))
    for v, want in cases:
        got = json.loads(_value(v))
        assert got == want and type(got) is type(want), (v, got)
    assert _value(-(2 ** 29)) == "-536870912" and _value(True) == "true"


def test_keys_that_need_escaping_keep_their_comma_brace_and_colon():
    # a key is written with the comma or brace before it and the colon after it in one piece;
    # one that needs escaping takes the runtime's json and must keep both
    for pairs in (("k\"1", "v\n", "x", {"b\\": 1, "a": 2}), (("q", 3), ("\u00e9\n", 2))):
        p = json.loads(contract.event("u1", 7, pairs))
        want = {"unit": "u1", "seq": 7}
        want.update(as_dict(pairs))
        assert p == want, p
    jsonw.begin()
    jsonw.field("a\"", 1)
    jsonw.nest("n\t")
    jsonw.field("x\\", "y")
    assert json.loads(jsonw.end(2)) == {"a\"": 1, "n\t": {"x\\": "y"}}


def test_an_object_written_field_by_field_is_the_same_as_from_pairs():
    jsonw.begin()
    jsonw.field("a", 1)
    jsonw.field("t", "faxbridge/u1", "/", "fax/status")
    jsonw.field("q", 'x"', "y", "\n")
    jsonw.nest("d")
    jsonw.field("l", ["n"])
    jsonw.field("e", None)
    p = jsonw.end(2)
    assert p == _obj((("a", 1), ("t", "faxbridge/u1/fax/status"), ("q", 'x"y\n'),
                      ("d", (("l", ["n"]), ("e", None))))).encode()
    jsonw.begin()
    assert jsonw.end() == b"{}"
    jsonw.begin()
    raises(ValueError, jsonw.field, "pad", "x" * jsonw.MAX_PAYLOAD)
    assert contract.event("u1", 1, ()) == b'{"unit":"u1","seq":1}'


def test_a_dict_is_written_sorted_in_place():
    # issue 13: a dict value (the received fax's params) was sorted into a tuple of pairs
    # first (~0.9 KB on MicroPython's 64-bit unix port); now its keys are written in sorted
    # order one at a time. Bytes on both runtimes; the bound on MicroPython only.
    import gc
    d = {"width": 1728, "vr_lpi": 196, "raw": "1,5,0", "bft": "off", "scan_ms": 0, "ecm": "off",
         "bit_rate": 14400, "coding": "MH", "length": "unlimited"}
    want = (b'{"unit":"u","seq":3,"p":{"bft":"off","bit_rate":14400,"coding":"MH","ecm":"off",'
            b'"length":"unlimited","raw":"1,5,0","scan_ms":0,"vr_lpi":196,"width":1728},"e":{}}')
    assert contract.event("u", 3, (("p", d), ("e", {}))) == want
    assert _obj((("n", {"b": {"z": 1, "a": None}, "a": [1, {}]}),)) == \
        '{"n":{"a":[1,{}],"b":{"a":null,"z":1}}}'
    if not hasattr(gc, "mem_alloc"):
        return
    contract.event("u", 3, (("p", d),), True)
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        contract.event("u", 3, (("p", d),), True)
        n = gc.mem_alloc() - a
    finally:
        gc.enable()
    assert n < 200, n


def test_fields_in_one_tuple_write_the_same_bytes_as_pairs_and_allocate_less():
    # issue 13: each builder gives its fields as one tuple of keys and values in turn (before,
    # a tuple of pairs: one tuple more per field, 224 B more per fax/status on the 64-bit port)
    st = contract.fax_status("J1", 0, "success", True, 1, 2, (("result", "OK"),))
    pairs = tuple((st[i], st[i + 1]) for i in range(0, len(st), 2))
    assert type(st[0]) is str and contract.event("u1", 5, st) == contract.event("u1", 5, pairs)
    rx = contract.fax_received("rx1", 1, "+81", {"vr": 1}, 0, "call", "ok", [10], [1728])
    assert json.loads(contract.event("u1", 6, rx))["hangup"] == {"code": 0, "phase": "call", "text": "ok"}
    assert contract.event("u1", 7, ("a", ("b", 1, "c", (("d", 2),)))) == \
        b'{"unit":"u1","seq":7,"a":{"b":1,"c":{"d":2}}}'
    assert contract.event("u1", 8, ("k", "final", "final", True)) == \
        b'{"unit":"u1","seq":8,"k":"final","final":true}'
    if hasattr(gc, "mem_alloc"):
        n, _p = _alloc(contract.fax_status, "J1", 0, "success", True, 1, 2)
        assert n <= 176, n    # the 18-item tuple alone (64-bit unix port; 400 B as pairs)


def test_no_reference_to_the_callers_buffer_is_kept_once_a_payload_is_built_or_refused():
    # a one-off buffer (app/link.py _built) must be freed with its payload; a kept reference held
    # a dropped unit's objects alive (seen on the 32-bit wasm port: 14 KB after a reboot)
    buf = bytearray(64)
    p = contract.event("u1", 1, ("job", "j1", "code", 0), True, buf)
    assert bytes(p).startswith(b'{"unit":"u1"') and jsonw._b is None
    try:
        contract.event("u1", 2, ("job", "j" * 100), False, bytearray(32))
        assert False, "a payload over its room is refused"
    except ValueError:
        pass
    assert jsonw._b is None


def test_a_numbered_rule_is_written_as_one_string_from_its_head_and_row():
    """cafis_verdict(.., row=n) writes the rule '3.3.4-2 #' and n as the one JSON string
    '3.3.4-2 #3' (checktab keeps a numbered row's number, not its name: jsonw.JOINED), the
    same bytes as the rule given whole, and allocates no more than that (MicroPython)."""
    whole = contract.event("u1", 7, contract.cafis_verdict("r1", "abnormal_report", "C58", "3.3.4-2 #3", "f"))
    split = contract.event("u1", 7, contract.cafis_verdict("r1", "abnormal_report", "C58", "3.3.4-2 #", "f",
                                                           None, 3))
    assert split == whole and json.loads(split)["rule"] == "3.3.4-2 #3"
    assert json.loads(contract.event("u1", 8, contract.cafis_verdict("r2", "discard", None, "3.3.4-6 #", None,
                                                                     None, 12)))["rule"] == "3.3.4-6 #12"
    # the list is refilled: a rule given whole after a numbered one is that rule, not the last head
    assert json.loads(contract.event("u1", 9, contract.cafis_verdict("r3", "discard", None, "3.3.4 A(a)")))[
        "rule"] == "3.3.4 A(a)"
    for k in range(2):      # warm both paths
        contract.event("u1", 7, contract.cafis_verdict("r1", "abnormal_report", "C58", "3.3.4-2 #3", "f"))
        contract.event("u1", 7, contract.cafis_verdict("r1", "abnormal_report", "C58", "3.3.4-2 #", "f", None, 3))
    n_whole = _alloc(contract.event, "u1", 7, contract.cafis_verdict("r1", "abnormal_report", "C58", "3.3.4-2 #3",
                                                                     "f"))[0]
    n_split = _alloc(contract.event, "u1", 7, contract.cafis_verdict("r1", "abnormal_report", "C58", "3.3.4-2 #",
                                                                     "f", None, 3))[0]
    assert n_split <= n_whole, (n_split, n_whole)      # 0 and 0 on CPython (_alloc)
