"""Contract payloads (ordered JSON, unit + seq) and command validation, on both runtimes."""
import binascii
import json

from support import raises

from faxbridge.core.mqtt import commands, contract


def test_event_payload_is_ordered_and_identical_everywhere():
    p = contract.event("u1", 42, contract.fax_status("J1", -3, "in progress", False, 2, 1,
                                                     (("result", "BUSY"), ("fhng", None)), "wait", 3))
    assert p == (b'{"unit":"u1","seq":42,"job":"J1","code":-3,"category":"in progress",'
                 b'"final":false,"state":"wait","attempt":2,"pages":1,"of":3,'
                 b'"evidence":{"result":"BUSY","fhng":null}}')
    assert json.loads(p)["evidence"]["result"] == "BUSY"


def test_fax_status_state_and_page_count_defaults():
    states = [dict(contract.fax_status("J", c, "x", c >= 0, 1, 2))["state"] for c in (-1, -2, -3, -22, 0, 263)]
    assert states == ["new", "queued", "call", "held", "done", "done"]
    d = dict(contract.fax_status("J", 0, "success", True, 1, 2))
    assert d["of"] == 2 and d["evidence"] == () and d["final"] is True


def test_value_encoding_rules():
    assert contract.value(b"\x0e\xff") == '"0eff"'
    assert contract.value([1, "a", None]) == '[1,"a",null]'
    assert contract.value({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert json.loads(contract.value('q"\\\n')) == 'q"\\\n'
    raises(TypeError, contract.value, object())


def test_builders_cover_every_event_topic():
    for fields in (contract.fax_received("R1", 2, "+81 3 1234", (("vr", 1), ("br", 9600)), 0, "call", "ok"),
                   contract.cafis_verdict("T1", "abnormal_report", "C03", "3.3.4-1 #2", "length"),
                   contract.cmd_error("fax", "bad_json", "x")):
        d = json.loads(contract.event("u9", 7, fields))
        assert d["unit"] == "u9" and d["seq"] == 7
    t = json.loads(contract.telemetry("u9", 7, 3, (("heap", 1000),)))
    assert (t["seq"], t["tseq"], t["heap"]) == (7, 3, 1000)
    assert contract.qos_of("telemetry") == 0 and contract.qos_of("fax/status") == 1
    assert contract.root("u9") == "faxbridge/u9"
    raises(ValueError, contract.root, "a/b")
    raises(ValueError, contract.root, "")
    assert contract.root("u9", "site/a") == "site/a/u9"
    for bad in ("", "a/#", "+", "/a", "a/"):
        raises(ValueError, contract.root, "u9", bad)


def _err(fn, *a):
    return raises(commands.CommandError, fn, *a)


def _p(s):
    b = s.encode() if isinstance(s, str) else s
    return memoryview(b), len(b)


def test_fax_command_valid():
    pbm = b"P4\n8 2\n\x00\xff"
    doc = json.dumps({"job": "J-1", "number": "03-1234,5678",
                      "pages": [{"text": "hello"}, {"pbm": binascii.b2a_base64(pbm).decode().strip()}]})
    c = commands.parse("cmd/fax", *_p(doc))
    assert isinstance(c, commands.Fax) and c.job == "J-1" and c.number == "03-1234,5678"
    assert c.pages == [("text", "hello"), ("pbm", pbm)]
    assert commands.name(c) == "fax"


def test_fax_command_errors_have_reasons():
    cases = (
        ("{", commands.BAD_JSON),
        ("[1]", commands.BAD_JSON),
        (b"\xff\xfe", commands.BAD_JSON),
        ("", commands.EMPTY),
        ('{"number":"1","pages":[{"text":"a"}]}', commands.MISSING),
        ('{"job":"J1","pages":[{"text":"a"}]}', commands.MISSING),
        ('{"job":"J1","number":"1"}', commands.MISSING),
        ('{"job":"J 1","number":"1","pages":[{"text":"a"}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"123;ATH","pages":[{"text":"a"}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1\\r\\nATZ","pages":[{"text":"a"}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"--","pages":[{"text":"a"}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1","pages":[]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1","pages":[{"gif":"a"}]}', commands.UNKNOWN_FIELD),
        ('{"job":"J1","number":"1","pages":[{"pbm":"aGVsbG8="}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1","pages":[{"pbmz":"aGVsbG8="}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1","pages":[{"pbm":"a"}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1","pages":[{"text":1}]}', commands.BAD_FIELD),
        ('{"job":"J1","number":"1","pages":[{"text":"a"}],"prio":1}', commands.UNKNOWN_FIELD),
        ('{"job":"J1","number":5,"pages":[{"text":"a"}]}', commands.BAD_FIELD),
    )
    for doc, reason in cases:
        e = _err(commands.parse, "cmd/fax", *_p(doc))
        assert e.reason == reason, (doc, e.reason, e.detail)
        assert e.reason in commands.REASONS and e.detail
    e = _err(commands.parse, "cmd/fax", memoryview(b"{"), commands.MAX_FAX + 1)
    assert e.reason == commands.TOO_LARGE and "limit" in e.detail
    many = json.dumps({"job": "J1", "number": "1", "pages": [{"text": "a"}] * (commands.MAX_PAGES + 1)})
    assert _err(commands.parse, "cmd/fax", *_p(many)).reason == commands.TOO_LARGE
    e = _err(commands.parse, "cmd/fax", *_p('{"job":"J1","number":"x","pages":[{"text":"a"}]}'))
    assert e.ref == "J1"


def _pbmz_doc(head):
    return '{"job":"J1","number":"1","pages":[{"pbmz":"%s"}]}' % \
        binascii.b2a_base64(head + b"\x01\x02\x03").decode().strip()


def test_pbmz_window_over_4k_is_refused_with_a_reason():
    # zlib headers (RFC 1950): 0x78DA = 32 KB window (zlib's default), 0x48xx = 4 KB,
    # 0x28CF = 1 KB (faxctl); FCHECK makes each a multiple of 31
    e = _err(commands.parse, "cmd/fax", *_p(_pbmz_doc(b"\x78\xda")))
    assert e.reason == commands.BAD_FIELD and "32768-byte zlib window" in e.detail, e.detail
    assert "wbits" in e.detail and e.ref == "J1"
    assert _err(commands.parse, "cmd/fax", *_p(_pbmz_doc(b"\x58\x85"))).reason == commands.BAD_FIELD
    for head in (b"\x28\xcf", b"\x48\x0d"):
        assert ((head[0] << 8) | head[1]) % 31 == 0
        fax = commands.parse("cmd/fax", *_p(_pbmz_doc(head)))
        assert fax.pages[0] == ("pbmz", head + b"\x01\x02\x03")


def test_cancel_and_telegram():
    assert commands.parse("cmd/cancel", *_p('{"job":"J1"}')).job == "J1"
    assert _err(commands.parse, "cmd/cancel", *_p('{"job":""}')).reason == commands.BAD_FIELD
    assert _err(commands.parse, "cmd/cancel", *_p("x" * 300)).reason == commands.TOO_LARGE
    t = commands.parse("cmd/telegram", *_p(b"\x0e\x30\x0f" * 30))
    assert t.sender == "center" and len(t.data) == 90
    assert commands.parse("cmd/telegram/terminal", *_p(b"1")).sender == "terminal"
    assert _err(commands.parse, "cmd/telegram/alien", *_p(b"1")).reason == commands.UNKNOWN_COMMAND
    assert _err(commands.parse, "cmd/telegram", memoryview(b""), 0).reason == commands.EMPTY
    assert _err(commands.parse, "cmd/telegram", memoryview(b"1"), 5000).reason == commands.TOO_LARGE
    assert _err(commands.parse, "cmd/reboot", *_p(b"1")).reason == commands.UNKNOWN_COMMAND
    # a telegram longer than any valid one still reaches CAFIS (which gives the verdict)
    assert len(commands.parse("cmd/telegram", *_p(b"9" * 1500)).data) == 1500


def test_deeply_nested_json_gets_a_reason_not_a_crash():
    for doc in (b"[" * 12000 + b"]" * 12000, b'{"job":' * 3000 + b"1" + b"}" * 3000):
        e = _err(commands.parse, "cmd/fax", memoryview(doc), len(doc))
        assert e.reason in (commands.BAD_JSON, commands.BAD_FIELD)
