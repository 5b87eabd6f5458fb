"""Registry loading: the documented JSON format, and malformed registries refused with a
message naming the problem. Layouts and the message-type catalogue as data."""
import json

import cafis_helpers as h
from support import consts, raises

from faxbridge.core.cafis import catalogue, layout, outbound, registry, roles


def _load_err(change):
    d = h.example_dict()
    change(d)
    return str(raises(registry.RegistryError, registry.load, d))


def test_example_loads_from_text_bytes_and_dict():
    d = h.example_dict()
    for src in (d, json.dumps(d), json.dumps(d).encode()):
        reg = registry.load(src)
        assert [c.id for c in reg.centers] == ["A", "B", "C"]
        a = reg.by_id.get("A")
        assert a.nroutes == 8 and a.route_index(2) == 0 and a.route_index(9) == 7 and a.route_index(10) == -1
        acq, iss2, iss3 = reg.company("ACQ0001"), reg.company("ISS0002"), reg.company("ISS0003")
        assert sorted((acq, iss2, iss3)) == [0, 1, 2] and reg.company("ISS0004") == -1
        assert reg.company("ACQ00011") == -1          # longer than the field: never a prefix match
        cos = reg.companies
        assert cos.same(acq, 7, 4, b"1200", 0) and cos.same(iss3, 7, 4, b"7   ", 0)    # 契約桁数 + fill
        assert cos.same(acq, 0, 7, b"ACQ0001", 0) and not cos.same(acq, 7, 4, b"1201", 0)
        assert reg.co_dest(iss2) == 1 and reg.co_dest(acq) == -1 and reg.co_dest(iss3) == 2
        assert reg.connections.find(b"T001", 0) == 0 and reg.connections.find(b"T003", 0) == -1
        assert reg.conn_dest(0) == iss2 and reg.conn_dest(1) == -1
        assert reg.companies.find(b"xxISS0003", 2) == iss3 and reg.companies.find(b"xxISS0004", 2) == -1


def test_example_loads_from_a_stream():
    """A stream is parsed as it is read (the unit passes the open file: never read whole)."""
    for p in h._PATHS:
        try:
            f = open(p)
        except OSError:
            continue
        with f:
            reg = registry.load(f)
        assert [c.id for c in reg.centers] == ["A", "B", "C"]
        return
    raise AssertionError("example registry not found")


def test_top_level_name_and_comment_are_free_text():
    d = h.example_dict()
    d["name"] = "field unit 7"
    assert registry.load(d).by_id.get("A") is not None
    d["name"] = 7
    assert "registry.name must be a string" in str(raises(registry.RegistryError, registry.load, d))
    for top in ([1], "x", 5):
        assert "registry must be a JSON object" in str(raises(registry.RegistryError, registry.load, [top]))


def test_company_table_lookups_by_binary_search_in_blocks():
    """Many companies: the table comes in blocks of at most 2 KB and every code is found, in
    place; codes that are not registered are not."""
    d = h.example_dict()
    d["companies"] += [{"code": "X%05d" % i, "sub": "%02d" % (i % 100), "digits": 2} for i in range(400)]
    reg = registry.load(d)
    assert reg.companies.n == 403 and max(len(b) for b in reg.companies.blocks) <= 2048
    assert len(reg.companies.blocks) == 3
    for i in range(0, 400, 7):
        co = reg.companies.find(b"X%05d " % i, 0)
        assert co >= 0 and reg.companies.same(co, 7, 4, b"%02d00" % (i % 100), 0), i
    assert reg.companies.find(b"X00400 ", 0) == -1 and reg.companies.find(b"A      ", 0) == -1
    assert reg.companies.find(b"ZZZZZZZ", 0) == -1 and reg.companies.find(b"ISS0002", 0) >= 0


def test_routes_ranges():
    d = h.example_dict()
    d["centers"][0]["routes"] = ["0020-0029", "0005", "0010-0011"]
    a = registry.load(d).by_id.get("A")
    assert a.nroutes == 13
    assert a.route_index(5) == 0 and a.route_index(10) == 1 and a.route_index(11) == 2
    assert a.route_index(20) == 3 and a.route_index(29) == 12 and a.route_index(6) == -1
    from faxbridge.core.cafis import engine
    assert engine.spans(a) == [(5, 5), (10, 11), (20, 29)]


def test_a_center_keeps_what_it_holds_in_one_record():
    """Routes, center identifiers, types sent and types served: one bytes object, read in place."""
    d = h.example_dict()
    d["centers"][1]["center_ids"] = ["B1", "B2", "B3"]
    reg = registry.load(d)
    a, b, c = reg.by_id.get("A"), reg.by_id.get("B"), reg.by_id.get("C")
    for cen in (a, b, c):
        assert isinstance(cen.rec, bytes)
        assert not [k for k in ("ranges", "center_ids", "services", "serves") if hasattr(cen, k)]
    assert b.has_id(b"xB3", 1, 2) and b.has_id(b"B1", 0, 2) and not b.has_id(b"B4", 0, 2)
    assert not b.has_id(b"3B", 0, 2)                  # identifiers compared whole, never across two
    # A sends 0100 and serves nothing; B serves 0200 and sends nothing; C sends and serves 0100
    # only (docs/cafis-registry.example.json)
    assert a.has_type(100) and a.has_type(9320) and not a.has_type(100, True) and not a.has_type(9999)
    assert b.has_type(200, True) and b.has_type(9320, True) and not b.has_type(200)
    assert c.has_type(100) and c.has_type(100, True) and not c.has_type(200, True) and not c.has_type(200)
    d["centers"][0]["services"] = []
    assert not registry.load(d).by_id.get("A").has_type(100)


BAD = (
    # (what is broken, change, words the message must contain)
    ("not JSON", None, "not valid JSON"),
    ("format", lambda d: d.update({"format": "v0"}), "registry.format"),
    ("unknown top key", lambda d: d.update({"centres": []}), "unknown key centres"),
    ("companies not list", lambda d: d.update({"companies": {}}), "registry.companies must be a list"),
    ("company code long", lambda d: d["companies"][0].update({"code": "ACQ00001"}), "longer than its 7-byte"),
    ("company code type", lambda d: d["companies"][0].update({"code": 7}), "companies[0].code must be a string"),
    ("digits vs sub", lambda d: d["companies"][0].update({"digits": 3}), "sub has 2 characters but digits"),
    ("digits range", lambda d: d["companies"][0].update({"digits": 5}), "digits (契約桁数) must be an integer 0..4"),
    ("fill", lambda d: d["companies"][0].update({"fill": "x"}), "fill must be"),
    ("company twice", lambda d: d["companies"].append(dict(d["companies"][0])), "company ACQ0001 is listed twice"),
    ("center company", lambda d: d["centers"][0].update({"company": "NOPE"}), "center A: company NOPE is not in"),
    ("center twice", lambda d: d["centers"].append(dict(d["centers"][0])), "center A is listed twice"),
    ("routes empty", lambda d: d["centers"][0].update({"routes": []}), "center A.routes must be a non-empty"),
    ("route digits", lambda d: d["centers"][0].update({"routes": ["12"]}), "route '12' must be 4 digits"),
    ("route backwards", lambda d: d["centers"][0].update({"routes": ["0009-0002"]}), "runs backwards"),
    ("control route", lambda d: d["centers"][0].update({"routes": ["0001-0004"]}), "control routes"),
    ("overlap", lambda d: d["centers"][0].update({"routes": ["0002-0005", "0004"]}), "overlap"),
    ("center id width", lambda d: d["centers"][0].update({"center_ids": ["A"]}), "must be 2 characters"),
    ("service digits", lambda d: d["centers"][0].update({"services": ["100"]}), "not a 4-digit message type"),
    ("service unknown", lambda d: d["centers"][0].update({"services": ["0500"]}), "0500 is not in the catalogue"),
    # a center's record keeps 2-byte offsets (registry.Center): what it holds stays below 64 KB
    ("center ids too many", lambda d: d["centers"][1].update({"center_ids": ["B1"] * 33000}),
     "center B: routes, center_ids, services and serves take 66"),
    ("services too many", lambda d: d["centers"][1].update({"services": ["0100"] * 33000}),
     "center B: routes, center_ids, services and serves take 66"),
    ("state", lambda d: d["centers"][0].update({"state": "open"}), "center A.state must be one of"),
    ("two destinations", lambda d: d["centers"][2].update({"company": "ISS0002"}),
     "company ISS0002 already has destination center B"),
    ("cafis state", lambda d: d["cafis"].update({"state": "down"}), "registry.cafis.state"),
    ("connection width", lambda d: d["connections"][0].update({"code": "T1"}), "must be 4 characters"),
    ("connection dest", lambda d: d["connections"][0].update({"destination": "X"}),
     "destination company X is not in companies"),
    ("layout field", lambda d: d.update({"layouts": {"center": {"header": 63, "fields": [["route", "r", "経路番号",
                                                                                         60, 4, "N"]]}}}),
     "field route: offset/length outside the 63-byte header"),
    ("layout missing", lambda d: d.update({"layouts": {"terminal": {"header": 47, "fields": [["conn_co", "c", "接",
                                                                                            0, 4, "AN"]]}}}),
     "layout terminal: missing field send_class"),
    ("layout limits", lambda d: d.update({"layouts": {"center": {
        "header": 63, "min": 10, "fields": [list(r) for r in layout.rows(layout.CENTER_FIELDS)]}}}),
     "header length <= min <= max"),
    ("message type class", lambda d: d.update({"message_types": [{"code": "0100", "class": "weird"}]}),
     "message_types[0]: class must be one of"),
    ("message type class not a name", lambda d: d.update({"message_types": [{"code": "0100", "class": 5}]}),
     "message_types[0]: class must be one of control_request, control_command, control, control_report, request,"),
    ("message type class list", lambda d: d.update({"message_types": [{"code": "0100", "class": ["request"]}]}),
     "cancel_confirm_report, abnormal_report"),
    ("no reply class", lambda d: d.update({"message_types": [{"code": "0100", "class": "request"},
                                                             {"code": "9110", "class": "cancel_report"},
                                                             {"code": "9310", "class": "cancel_confirm_report"}]}),
     "message_types: no abnormal_report message type"),
    ("message type answer", lambda d: d.update({"message_types": [{"code": "0100", "class": "request",
                                                                    "answers": ["0110"]}]}),
     "0110 answers 0100, which is not listed"),
)


def test_malformed_registries_are_refused_with_a_named_problem():
    for what, change, words in BAD:
        if change is None:
            msg = str(raises(registry.RegistryError, registry.load, "{not json"))
        else:
            msg = _load_err(change)
        assert words in msg, (what, msg)


def test_non_object_registries():
    for src in ("[]", "3", "null", b"\xff\xfe", []):
        raises(registry.RegistryError, registry.load, src)


def test_deployment_layout_and_catalogue():
    """A deployment with a 64-byte center header (one reserved byte at the end) and its own types."""
    fields = [list(r) for r in layout.rows(layout.CENTER_FIELDS)] + [["spare", "spare", "予備", 63, 1, "AN"]]
    d = h.example_dict()
    d["layouts"] = {"center": {"header": 64, "min": 64, "max": 512, "fields": fields}}
    d["message_types"] = [{"code": c, "name": e, "name_ja": j, "class": n, "answers": list(a)}
                          for c, e, j, k, a in roles.table(catalogue.DEFAULT)
                          for n in [catalogue.CLASS_NAMES.split()[k - 1]]]
    d["message_types"].append({"code": "0500", "name": "balance", "name_ja": "残高照会", "class": "request",
                               "answers": ["0510"]})
    d["message_types"].append({"code": "0510", "name": "balance report", "class": "report"})
    d["centers"][0]["services"].append("0500")
    d["centers"][1]["serves"].append("0500")
    c = outbound.Checker(registry.load(d))
    lay = c.cl
    assert lay.hlen == 64 and lay.max_len == 512
    t = h.center_tel((("msg_type", "0500"),), lay=lay, tlen="001", trailer=b"Z")
    assert len(t) == 65
    assert c.check(t, "center", "A").kind == "accept"      # trailer length = len - 64
    t = h.center_tel((("msg_type", "0500"), ("route", "0003")), lay=lay, tlen="002", trailer=b"Z")
    v = c.check(t, "center", "A")
    assert v.kind == "abnormal_report" and v.rule() == "3.3.4-2 #14"
    assert c.check(t[:63], "center", "A").rule() == "3.3.4-1 #2"
    assert c.sent(h.center_tel((("msg_type", "0510"),), lay=lay, tlen="000", trailer=b""), "A")
    t = h.center_tel((("msg_type", "0500"), ("seq", "000999")), lay=lay, tlen="000", trailer=b"")
    assert c.check(t, "center", "A").kind == "accept"


def test_catalogue_default_rows():
    cat = catalogue.Catalogue()
    assert cat.cls(7020) == roles.CTRL_REQ and cat.cls(720) == roles.CTRL_REQ
    assert cat.cls(9210) == roles.CTRL_BOTH and cat.answers(9210, 9211)
    assert cat.answers(100, 110) and cat.answers(100, 120) and not cat.answers(100, 210)
    assert cat.answers(9120, 9110) and cat.answers(9320, 9310) and not cat.answers(-1, 110)
    assert cat.reply[roles.ABNORMAL] == b"9900" and cat.cls(1234) == 0
    raises(catalogue.CatalogueError, catalogue.Catalogue, (("12a4", "x", "x", roles.REQ, ()),))
    rows = roles.table(catalogue.DEFAULT)
    assert len(rows) == 30 and rows[0] == ("7020", "restart request", "再開始要求", roles.CTRL_REQ, ())
    assert rows[14] == ("0100", "authorization request", "オーソリ要求", roles.REQ, ("0110", "0120"))
    assert roles.table(rows) is rows
    raises(catalogue.CatalogueError, catalogue.Catalogue, rows + (rows[0],))


def test_default_layouts_are_contiguous():
    for fields, size in ((layout.CENTER_FIELDS, 63), (layout.TERMINAL_FIELDS, 47)):
        at = 0
        for key, en, ja, off, ln, kind in layout.rows(fields):
            assert off == at, key
            at += ln
        assert at == size
    cl = layout.center()
    assert cl.at("trailer_len") == (60, 3) and cl.row("seq")[layout.F_JA] == "仕向処理通番"
    # the default layouts are text: at(key) reads the line of key (not of cafis_seq for seq, the
    # last line too), and their rows pass the checks a deployment's layout gets
    for lay, fields in ((cl, layout.CENTER_FIELDS), (layout.terminal(), layout.TERMINAL_FIELDS)):
        rows = layout.rows(fields)
        assert lay.fields is fields and layout.rows(rows) is rows and len(rows) in (17, 7)
        for r in rows:
            assert lay.row(r[layout.F_KEY]) == r and lay.at(r[layout.F_KEY]) == (r[layout.F_OFF], r[layout.F_LEN])
        raises(KeyError, lay.row, "nope")
        raises(KeyError, lay.at, "route_x")
        raises(KeyError, lay.at, "")
        layout.Layout(lay.name, rows, lay.hlen, lay.min_len, lay.max_len, True, fields)
    assert layout.terminal().at("reserved") == (37, 10) and cl.at("seq") == (4, 6)
    off, ln = cl.at("dst_co")
    assert h.center_tel()[off:off + ln] == b"ISS0002"


def test_the_default_catalogue_index_is_the_constants():
    """The default catalogue's index, answers and replies are constants of catalogue.py (flash
    when frozen); building them from a copy of DEFAULT must give the same."""
    rows = roles.table(catalogue.DEFAULT)
    built = catalogue.Catalogue(list(rows))
    default = catalogue.Catalogue()
    assert built.rows is not catalogue.DEFAULT and default.rows is catalogue.DEFAULT
    assert (bytes(built._ix), bytes(built._ans), built.reply) == (default._ix, default._ans, default.reply)
    assert default.reply[roles.ABNORMAL + 1 + roles.CONFIRM_REP] == "取消確認報告"
    assert default.reply[roles.ABNORMAL] == b"9900" and default.reply[roles.CANCEL_REP] == b"9110"
    for row in rows:
        code, _, _, cls, answers = row          # a row: code, name, name_ja, class, answers
        n = int(code)
        # the index names each message type's row in the table
        assert rows[default._ix[default._find(n) + 5]] == row and default.cls(n) == cls
        assert built.rows[built._ix[built._find(n) + 5]] is built.rows[rows.index(row)]
        for a in answers:
            assert default.answers(n, int(a))


def test_a_catalogue_rows_cells_are_named_alike_in_roles_and_the_module_keeps_10_names():
    """The row cells' names are private in catalogue.py (no module name each) and roles.py, the
    tool that reads rows, names them with its own constants: they must agree, and name the cells
    of a row as roles.table() gives it; the classes (CTRL_REQ .. ABNORMAL) are private there too and
    roles.py names them for the tools: they must agree. On MicroPython the module keeps 10 names
    (table() a tool's, in roles.py; _class_of written out in from_list; the classes private)."""
    import sys
    cat = consts(catalogue, "_C_")
    own = consts(roles, "_C_")
    assert len(cat) == 5 and own and not hasattr(catalogue, "C_CODE") and not hasattr(catalogue, "class_name")
    assert not hasattr(catalogue, "table") and not hasattr(catalogue, "_class_of")
    for k in own:
        assert own[k] == cat[k], (k, own[k], cat[k])
    row = roles.table(catalogue.DEFAULT)[0]
    assert (row[cat["_C_CODE"]], row[cat["_C_EN"]], row[cat["_C_CLS"]], row[cat["_C_ANS"]]) == (
        "7020", "restart request", roles.CTRL_REQ, ())
    assert row[cat["_C_JA"]] == "再開始要求"
    if sys.implementation.name == "micropython":
        assert len(catalogue.__dict__) <= 10, sorted(catalogue.__dict__)
    cls = consts(catalogue, "_")
    names = ("CTRL_REQ", "CTRL_CMD", "CTRL_BOTH", "CTRL_REP", "REQ", "REP", "CANCEL", "CANCEL_REP", "CONFIRM",
             "CONFIRM_REP", "ABNORMAL")
    for i, k in enumerate(names):
        assert cls["_" + k] == getattr(roles, k) == i + 1, k       # CLASS_NAMES's order, from 1
        assert not hasattr(catalogue, k), k
    assert len(catalogue.CLASS_NAMES.split()) == len(names)
