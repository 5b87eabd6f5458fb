"""Every code of 3.3.5 (表 3.3.5-1 and 表 3.3.5-2) produced by a telegram, with its guidance."""
import cafis_helpers as h
from cafis_helpers import center_tel, terminal_tel

from faxbridge.core.cafis import errors, outbound


def _req(c, changes=(), **kw):
    return c.check(center_tel(changes, **kw), "center", "A")


def _cancel(c, changes=(), **kw):
    return c.check(center_tel((("msg_type", "9100"), ("cafis_seq", "000777")) + tuple(changes), **kw),
                   "center", "A")


def _set(**st):
    def f(d):
        for cen in d["centers"]:
            if cen["id"] in st:
                cen["state"] = st[cen["id"]]
        if "cafis" in st:
            d["cafis"]["state"] = st["cafis"]
    return f


def _busy_b(c):
    for r in ("0100", "0101", "0102", "0103"):
        c.sent(h.forwarded((("route", r),)), "B")
    return c


def _timed_out(c):
    _req(c)
    return c.expire("A", 2)


def _timed_out_cancel(c):
    _cancel(c)
    return c.expire("A", 2)


# One way to get each code of 表 3.3.5-1 with a general request.
GENERAL = (
    ("C01", lambda c: _req(c, (("dst_co", "ISS9999"),)), None),
    ("C03", lambda c: _req(c, trailer=b"x" * 1000, tlen="999"), None),
    ("C12", lambda c: _req(_busy_b(c)), None),
    ("C13", lambda c: _req(c), _set(B="fault")),
    ("C14", lambda c: _req(c), _set(B="suspended")),
    ("C15", lambda c: _req(c), _set(cafis="ended")),
    ("C33", lambda c: _req(c), _set(cafis="congested")),
    ("C50", _timed_out, None),
    ("C51", lambda c: (_req(c), _req(c))[1], None),
    ("C53", lambda c: _req(c, (("org_co", "ISS0002"),)), None),
    ("C54", lambda c: _req(c, (("msg_type", "0999"),)), None),
    ("C55", lambda c: _req(c, (("route", "0999"),)), None),
    ("C56", lambda c: _req(c, (("proxy_report", "10"),)), None),
    ("C57", lambda c: _req(c, (("dst_co", "ISS0003"), ("dst_sub", "7   "), ("msg_type", "0400"))), None),
    ("C58", lambda c: _req(c, (("seq", "12345 "),)), None),
    ("C60", lambda c: _req(c), _set(A="not_open")),
)

# 表 3.3.5-2 with fault telegrams (取消（再）指令 / 取消確認（再）指令).
FAULT = (
    ("C01", lambda c: _cancel(c, (("dst_co", "ISS9999"),)), None, "異常報告"),
    ("C03", lambda c: _cancel(c, trailer=b"x" * 1000, tlen="999"), None, "異常報告"),
    ("C12", lambda c: _cancel(_busy_b(c)), None, "異常報告"),
    ("C13", lambda c: _cancel(c), _set(B="fault"), "取消報告"),
    ("C14", lambda c: _cancel(c), _set(B="not_open"), "取消報告"),
    ("C15", lambda c: _cancel(c), _set(cafis="ended"), "異常報告"),
    ("C33", lambda c: _cancel(c), _set(cafis="fault"), "異常報告"),
    ("C50", _timed_out_cancel, None, "取消報告"),
    ("C51", lambda c: (_req(c), _cancel(c, (("seq", "000999"),)))[1], None, "異常報告"),
    ("C53", lambda c: _cancel(c, (("org_sub", "0000"),)), None, "異常報告"),
    ("C55", lambda c: _cancel(c, (("route", "0001"), ("route", "0999"))), None, "異常報告"),
    ("C56", lambda c: _cancel(c, (("center_id", "B1"),)), None, "異常報告"),
    ("C57", lambda c: _cancel(c), lambda d: d["centers"][1].update({"serves": ["0100"]}), "異常報告"),
    ("C58", lambda c: _cancel(c, (("cafis_date", "11 1"),)), None, "異常報告"),
    ("C60", lambda c: _cancel(c), _set(A="suspended"), "異常報告"),
)


def test_every_code_of_table_3_3_5_1():
    seen = []
    for code, make, change in GENERAL:
        c = h.checker(change)
        v = make(c)
        assert v.kind == "abnormal_report" and v.code == code, (code, v)
        assert v.response == "異常報告" and v.reply == b"9900" and not v.fault
        g = errors.guidance(v.code, v.fault)
        row = errors.find(errors.TABLE_1, 0, code)
        assert g == (code, "3.3.5-1", row[1], row[2], row[3], "異常報告", None), g
        t = c.report(center_tel(), v)
        assert t[43:47] == b"9900" and t[63:] == code.encode()
        seen.append(code)
    assert tuple(seen) == tuple(r[0] for r in errors.TABLE_1)


def test_every_code_of_table_3_3_5_2():
    seen = []
    for code, make, change, response in FAULT:
        c = h.checker(change)
        v = make(c)
        assert v.kind == "abnormal_report" and v.code == code, (code, v)
        assert v.fault and v.response == response, (code, v.response)
        row = errors.find(errors.TABLE_2, 1, code)
        g = errors.guidance(v.code, v.fault)
        assert g[1] == "3.3.5-2 #%d" % row[0] and g[2] == row[2] and g[4] == row[5] and g[6] == row[6], g
        want = "取消報告又は取消確認報告" if code in errors.CANCEL_REPORT_CODES else "異常報告"
        assert row[4] == ("CXL" if code in errors.CANCEL_REPORT_CODES else "ABN") and g[5] == want
        t = c.report(center_tel((("msg_type", "9100"),)), v)
        assert t[43:47] == (b"9110" if code in errors.CANCEL_REPORT_CODES else b"9900"), (code, t)
        seen.append(code)
    # C54 has no row in 表 3.3.4-4/-5: a telegram of an unknown type is checked as a general
    # request (表 3.3.4-2 #8) -- its 3.3.5-2 guidance is still there for tools
    assert errors.guidance("C54", True)[1] == "3.3.5-2 #11"
    seen.append("C54")
    assert sorted(seen) == sorted(r[1] for r in errors.TABLE_2)


def test_c50_cancel_confirm_and_route_freed():
    c = h.checker()
    _req(c)
    assert c.check(center_tel((("msg_type", "9300"),)), "center", "A").kind == "accept"
    v = c.expire("A", 2)
    assert v.code == "C50" and v.response == "取消確認報告" and v.reply == b"9310" and v.rule() == "3.3.5-2 #8"
    assert c.expire("A", 2) is None     # freed
    assert _req(c, (("seq", "000200"),)).kind == "accept"
    rep = c.report(c.kept("A", 2), c.expire("A", 2))
    assert rep[43:47] == b"9900" and rep[:4] == b"0002" and rep[4:10] == b"000200" and rep[60:] == b"003C50"


def test_terminal_messages_and_guidance():
    c = h.checker()
    assert c.check(terminal_tel((("send_class", "7"),)), "terminal").code == "CAF16"
    for msg, ccode, ev, cause in errors.TERMINAL:
        g = errors.guidance(msg)
        assert g[0] == msg and g[2] == ev and g[5] == "エラーメッセージ"
        if ccode != "C16":
            assert errors.find(errors.TABLE_1, 0, ccode) is not None
    assert errors.guidance("C99") is None and errors.guidance(None) is None
    assert errors.guidance("CAF99") is None


def test_catalogue_matches_seed_order_and_notes():
    assert tuple(r[0] for r in errors.TABLE_1) == (
        "C01", "C03", "C12", "C13", "C14", "C15", "C33", "C50", "C51", "C53", "C54", "C55", "C56", "C57", "C58", "C60")
    assert tuple(r[0] for r in errors.TABLE_2) == tuple(range(1, 17))
    for r in errors.TABLE_2:
        assert (r[6] is not None) == (r[1] in errors.CANCEL_REPORT_CODES), r


def test_report_into_preallocated_buffer():
    c = h.checker(_set(B="fault"))
    t = center_tel((("msg_type", "9120"), ("cafis_seq", "000777")))
    v = c.check(t, "center", "A")
    out = bytearray(80)
    n = c.report(t, v, out)
    assert n == 66 and bytes(out[:n]) == t[:43] + b"9110" + t[47:60] + b"003C13"
    assert c.report(t, c.check(terminal_tel(), "terminal"), out) == 0
    assert c.report(t, h.checker().check(h.center_tel(), "center", "A")) is None   # accept: no report
    assert outbound.FAULT == c.reg.by_id["B"].state


def test_the_checks_write_errors_abn_and_cancel_report_codes_as_literals():
    """The board does not carry errors.py (nor do verdict.py's names hold these): checks.py
    writes 異常報告 and the codes of 表 3.3.5-2 注 as literals, which must be errors' values."""
    from faxbridge.core.cafis import checks, verdict
    with open(checks.__file__) as f:
        src = f.read()
    assert '"%s"' % errors.ABN in src
    assert " or ".join('code == "%s"' % c for c in errors.CANCEL_REPORT_CODES) in src
    assert not hasattr(verdict, "ABN") and not hasattr(verdict, "CANCEL_REPORT_CODES")
