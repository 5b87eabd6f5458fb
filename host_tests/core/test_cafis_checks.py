"""Every row of 表 3.3.4-1 .. 3.3.4-7 made to fail on its own (code, rule and field checked)."""
import cafis_helpers as h
from cafis_helpers import center_tel, terminal_tel, check_v
from support import consts

from faxbridge.core.cafis import checkkinds, checks, checktab, outbound, registry

_W = consts(checktab, "_W ")["_W"]     # a content row's width (private in checktab)
AB = "abnormal_report"
DI = "discard"
TE = "terminal_error"


def _req(c, changes=(), **kw):
    return c.check(center_tel(changes, **kw), "center", "A")


# --- 表 3.3.4-1 ---------------------------------------------------------------------------------

def test_length_center_bounds():
    c = h.checker()
    t = center_tel(trailer=b"")
    assert len(t) == 63
    check_v(c.check(t, "center", "A"), "accept", None, None, None)
    c = h.checker()
    check_v(c.check(t[:62], "center", "A"), DI, None, "3.3.4-1 #2", "電文長")
    long_ok = center_tel(trailer=b"x" * (1024 - 63))
    check_v(c.check(long_ok, "center", "A"), "accept", None, None, None)
    c = h.checker()
    too_long = center_tel(trailer=b"x" * (1025 - 63))
    check_v(c.check(too_long, "center", "A"), AB, "C03", "3.3.4-1 #2", "電文長")


def test_length_counts_shift_codes():
    # 961 bytes of trailer with SO/SI is 1024 bytes: fine; two more shift codes make 1026: C03
    text = b"\x0e" + b"\x24\x22" * 479 + b"\x0f" + b"z"
    assert len(text) == 961
    c = h.checker()
    check_v(c.check(center_tel(trailer=text), "center", "A"), "accept", None, None, None)
    c = h.checker()
    more = b"\x0e\x0f" + text
    check_v(c.check(center_tel(trailer=more), "center", "A"), AB, "C03", "3.3.4-1 #2", "電文長")


def test_length_uses_n_of_a_larger_buffer():
    c = h.checker()
    t = center_tel()
    buf = bytearray(2048)
    buf[:len(t)] = t
    check_v(c.check(memoryview(buf), "center", "A", len(t)), "accept", None, None, None)


def test_length_terminal_bounds():
    c = h.checker()
    t = terminal_tel(trailer=b"")
    assert len(t) == 47
    check_v(c.check(t, "terminal"), "accept", None, None, None)
    check_v(c.check(t[:46], "terminal"), DI, None, "3.3.4-1 #1", "電文長")
    check_v(c.check(terminal_tel(trailer=b"y" * (292 - 47)), "terminal"), "accept", None, None, None)
    check_v(c.check(terminal_tel(trailer=b"y" * (293 - 47)), "terminal"), TE, "CAF03", "3.3.4-1 #1", "電文長")


# --- 3.3.4 (2) A: route 0000 --------------------------------------------------------------------

CTL = (("route", "0000"), ("seq", "000000"), ("msg_type", "7020"))


def _ctl(c, changes=(), trailer=b""):
    return c.check(center_tel(CTL + tuple(changes), trailer=trailer), "center", "A")


def test_a_control_request_accepted():
    c = h.checker()
    for mt in ("7020", "0720", "9210"):
        check_v(_ctl(c, (("msg_type", mt),)), "accept", None, None, None)


def test_a_rows():
    c = h.checker()
    check_v(_ctl(c, (("org_co", "ACQ0009"),)), DI, None, "3.3.4 A(a)", "仕向会社コード")
    check_v(_ctl(c, (("org_sub", "1300"),)), DI, None, "3.3.4 A(a)", "仕向会社サブコード")
    check_v(_ctl(c, (("org_sub", "12  "),)), DI, None, "3.3.4 A(a)", "仕向会社サブコード")
    check_v(_ctl(c, (("msg_type", "0100"),)), DI, None, "3.3.4 A(b)", "電文種別")
    check_v(_ctl(c, (("msg_type", "7000"),)), DI, None, "3.3.4 A(b)", "電文種別")
    check_v(_ctl(c, (), trailer=b"DATA"), DI, None, "3.3.4 A(c)", "トレーラレングス")


def test_a_contracted_digits_and_fill():
    def sub3(d):
        d["companies"][0].update({"sub": "123", "digits": 3, "fill": " "})
    c = h.checker(sub3)
    check_v(_ctl(c, (("org_sub", "123 "),)), "accept", None, None, None)
    check_v(_ctl(c, (("org_sub", "1230"),)), DI, None, "3.3.4 A(a)", "仕向会社サブコード")


# --- 3.3.4 (2) B: route 0001 --------------------------------------------------------------------

CMD = (("route", "0001"), ("seq", "000000"), ("msg_type", "7000"))


def _cmd(changes=()):
    return center_tel(CMD + tuple(changes), trailer=b"")


def test_b_report_answers_command():
    c = h.checker()
    assert c.sent(_cmd(), "A")
    check_v(c.check(_cmd((("msg_type", "7001"),)), "center", "A"), "accept", None, None, None)
    # answered once: a second report answers nothing
    check_v(c.check(_cmd((("msg_type", "7001"),)), "center", "A"), DI, None, "3.3.4 B(a)", "電文種別")


def test_b_b_names_a_deployment_layout_field_by_its_own_name():
    """B(b) names the first field that differs: a seed item by ITEMS' name, a field the seed has
    not (予備) or one the deployment renamed (回線No) by the layout's own name_ja."""
    def spare(d):
        fields = [list(r) for r in h.layout.rows(h.layout.CENTER_FIELDS)] + [["spare", "spare", "予備", 63, 1, "AN"]]
        fields[3][2] = "回線No"
        d["layouts"] = {"center": {"header": 64, "min": 64, "max": 512, "fields": fields}}
    c = h.checker(spare)

    def cmd(changes=()):
        return center_tel(CMD + (("spare", "0"),) + tuple(changes), lay=c.cl, trailer=b"")
    assert c.sent(cmd(), "A")
    check_v(c.check(cmd((("msg_type", "7001"), ("spare", "1"))), "center", "A"), DI, None, "3.3.4 B(b)", "予備")
    check_v(c.check(cmd((("msg_type", "7001"), ("line", "002"))), "center", "A"), DI, None, "3.3.4 B(b)", "回線No")
    check_v(c.check(cmd((("msg_type", "7001"), ("seq", "000001"))), "center", "A"), DI, None, "3.3.4 B(b)",
            "仕向処理通番")
    check_v(c.check(cmd((("msg_type", "7001"),)), "center", "A"), "accept", None, None, None)


def test_b_rows():
    c = h.checker()
    check_v(c.check(_cmd((("msg_type", "7001"),)), "center", "A"), DI, None, "3.3.4 B(a)", "電文種別")
    c.sent(_cmd(), "A")
    check_v(c.check(_cmd((("msg_type", "7031"),)), "center", "A"), DI, None, "3.3.4 B(a)", "電文種別")
    check_v(c.check(_cmd((("msg_type", "7001"), ("line", "002"))), "center", "A"), DI, None, "3.3.4 B(b)", "回線番号")
    check_v(c.check(_cmd((("msg_type", "7001"), ("proxy_reroute", "9"))), "center", "A"), DI, None,
            "3.3.4 B(b)", "代行再仕向表示")
    # the discards left the command pending: the right report is still accepted
    check_v(c.check(_cmd((("msg_type", "7001"),)), "center", "A"), "accept", None, None, None)


# --- 表 3.3.4-2: general request on an originating route ------------------------------------------

T2 = (
    # (changes, kwargs, code, rule, field)
    ((("route", "0010"),), {}, "C55", "3.3.4-2 #1", "経路番号"),
    ((("route", "00X2"),), {}, "C55", "3.3.4-2 #1", "経路番号"),
    ((("seq", "00012X"),), {}, "C58", "3.3.4-2 #3", "仕向処理通番"),
    ((("org_co", "ACQ0009"),), {}, "C53", "3.3.4-2 #4", "仕向会社コード"),
    ((("org_sub", "1300"),), {}, "C53", "3.3.4-2 #5", "仕向会社サブコード"),
    ((("dst_co", "ISS9999"),), {}, "C01", "3.3.4-2 #6", "被仕向会社コード"),
    ((("dst_sub", "0001"),), {}, "C01", "3.3.4-2 #7", "被仕向会社サブコード"),
    ((("msg_type", "0500"),), {}, "C54", "3.3.4-2 #8", "電文種別"),
    ((("msg_type", "7020"),), {}, "C54", "3.3.4-2 #8", "電文種別"),
    ((("msg_type", "01A0"),), {}, "C54", "3.3.4-2 #8", "電文種別"),
    ((("org_date", "2X"),), {}, "C58", "3.3.4-2 #9", "仕向処理日付"),
    ((("org_date", "32"),), {}, "C58", "3.3.4-2 #10", "仕向処理日付"),
    ((("org_date", "00"),), {}, "C58", "3.3.4-2 #10", "仕向処理日付"),
    ((("proxy_report", "01"),), {}, "C56", "3.3.4-2 #12", "代行報告表示"),
    ((), {"tlen": "00X"}, "C03", "3.3.4-2 #13", "トレーラレングス"),
    ((), {"tlen": "005"}, "C03", "3.3.4-2 #14", "トレーラレングス"),
)


def test_table_2_rows():
    for changes, kw, code, rule, field in T2:
        c = h.checker()
        check_v(_req(c, changes, **kw), AB, code, rule, field)


def test_table_2_row_2_route_in_use():
    c = h.checker()
    check_v(_req(c), "accept", None, None, None)
    check_v(_req(c, (("seq", "000124"),)), AB, "C51", "3.3.4-2 #2", "経路番号")
    # a request CAFIS sent to A on that route also makes it busy
    c = h.checker()
    c.sent(center_tel((("route", "0003"),)), "A")
    check_v(_req(c, (("route", "0003"),)), AB, "C51", "3.3.4-2 #2", "経路番号")


def test_table_2_row_11_repeats_row_9():
    rule, item, kind, code, arg = checktab.TABLES[2][10 * _W:11 * _W]
    assert rule == 11 and checktab.ITEMS[item] == "仕向処理日付" and checktab.CODES[code] == "C58"
    assert "%s%d" % (checktab.SECTIONS[2][5], rule) == "3.3.4-2 #11"      # section C: 表 3.3.4-2
    assert checktab.KEYS.split()[item] == "org_date" and arg == 9
    nine = checktab.TABLES[2][8 * _W:9 * _W]
    # #3 and #9: NUMERIC
    assert nine[0] == 9 and kind != nine[2] and nine[2] == checktab.TABLES[2][2 * _W + 2]
    # a non-numeric date is reported once, by row 9, the first in the seed's order
    check_v(_req(h.checker(), (("org_date", "X2"),)), AB, "C58", "3.3.4-2 #9", "仕向処理日付")


def test_table_2_accepts_each_service_and_frees_on_report():
    c = h.checker()
    for i, mt in enumerate(("0100", "0200", "0400")):
        route = "%04d" % (2 + i)
        check_v(_req(c, (("route", route), ("msg_type", mt))), "accept", None, None, None)
    # CAFIS's report to A frees route 0002
    assert c.sent(center_tel((("msg_type", "0110"),)), "A")
    check_v(_req(c, (("seq", "000200"),)), "accept", None, None, None)


# --- 3.3.4 (2) D: terminal request --------------------------------------------------------------

def test_d_rows():
    c = h.checker()
    for sc in "1239":
        check_v(c.check(terminal_tel((("send_class", sc),)), "terminal"), "accept", None, None, None)
    check_v(c.check(terminal_tel((("conn_co", "T999"),)), "terminal"), TE, "CAF01", "3.3.4 D(a)", "接続会社コード")
    for sc in "0458 ":
        check_v(c.check(terminal_tel((("send_class", sc),)), "terminal"), TE, "CAF16", "3.3.4 D(b)", "電文送信区分")


# --- 表 3.3.4-3: general and fault reports on a destination route -----------------------------------

T3 = (
    ((("seq", "000124"),), "3.3.4-3 #3", "仕向処理通番"),
    ((("center_id", "B9"),), "3.3.4-3 #4", "センタ識別番号"),
    ((("line", "002"),), "3.3.4-3 #5", "回線番号"),
    ((("cafis_seq", "000778"),), "3.3.4-3 #6", "CAFIS処理通番"),
    ((("org_co", "ACQ0002"),), "3.3.4-3 #7", "仕向会社コード"),
    ((("org_sub", "1201"),), "3.3.4-3 #8", "仕向会社サブコード"),
    ((("dst_co", "ISS0003"),), "3.3.4-3 #9", "被仕向会社コード"),
    ((("dst_sub", "0001"),), "3.3.4-3 #10", "被仕向会社サブコード"),
    ((("msg_type", "0210"),), "3.3.4-3 #11", "電文種別"),
    ((("msg_type", "9110"),), "3.3.4-3 #11", "電文種別"),
    ((("cafis_date", "1123"),), "3.3.4-3 #12", "CAFIS処理日"),
    ((("cat_status", "1"),), "3.3.4-3 #13", "CAT送信状態表示"),
    ((("org_date", "23"),), "3.3.4-3 #14", "仕向処理日付"),
    ((("proxy_report", "01"),), "3.3.4-3 #15", "代行報告表示"),
    ((("proxy_error", "001"),), "3.3.4-3 #16", "代行電文エラー表示"),
    ((("proxy_reroute", "1"),), "3.3.4-3 #17", "代行再仕向表示"),
)


def _b():
    c = h.checker()
    assert c.sent(h.forwarded(), "B")
    return c


def test_table_3_rows():
    for changes, rule, field in T3:
        c = _b()
        before = h.snapshot(c.routes)
        check_v(c.check(h.answer(changes), "center", "B"), DI, None, rule, field)
        assert h.snapshot(c.routes) == before, rule
    c = _b()
    check_v(c.check(h.answer((("route", "0104"),)), "center", "B"), DI, None, "3.3.4-3 #1", "経路番号")
    check_v(c.check(h.answer((("route", "0101"),)), "center", "B"), DI, None, "3.3.4-3 #2", "経路番号")
    t = h.answer()
    bad = t[:60] + b"0X4" + t[63:]
    check_v(c.check(bad, "center", "B"), DI, None, "3.3.4-3 #18", "トレーラレングス")
    bad = t[:60] + b"005" + t[63:]
    check_v(c.check(bad, "center", "B"), DI, None, "3.3.4-3 #19", "トレーラレングス")


def test_table_3_row_2_route_opened_by_the_center_itself():
    # B's own request on its route is not a request B can answer
    c = h.checker(lambda d: d["centers"][1]["services"].append("0100"))
    own = center_tel((("route", "0100"), ("center_id", "B1"), ("org_co", "ISS0002"), ("org_sub", "0000"),
                      ("dst_co", "ISS0003"), ("dst_sub", "7   ")))
    check_v(c.check(own, "center", "B"), "accept", None, None, None)
    check_v(c.check(h.answer(), "center", "B"), DI, None, "3.3.4-3 #2", "経路番号")


def test_table_3_accepts_report_and_reject_and_frees_route():
    for mt in ("0110", "0120"):
        c = _b()
        check_v(c.check(h.answer((("msg_type", mt),)), "center", "B"), "accept", None, None, None)
        check_v(c.check(h.answer((("msg_type", mt),)), "center", "B"), DI, None, "3.3.4-3 #2", "経路番号")


def test_table_3_fault_report():
    c = h.checker()
    c.sent(h.forwarded((("msg_type", "9100"),)), "B")
    check_v(c.check(h.answer((("msg_type", "9310"),)), "center", "B"), DI, None, "3.3.4-3 #11", "電文種別")
    v = c.check(h.answer((("msg_type", "9110"),)), "center", "B")
    check_v(v, "accept", None, None, None)
    assert v.section == "E"


# --- 表 3.3.4-4: cancel (re)command ------------------------------------------------------------------

CANCEL = (("msg_type", "9100"), ("cafis_seq", "000777"))


def _cx(c, changes=(), base=CANCEL, **kw):
    return c.check(center_tel(base + tuple(changes), **kw), "center", "A")


T4 = (
    ((("route", "0010"),), {}, "C55", "3.3.4-4 #1", "経路番号"),
    ((("seq", "00A123"),), {}, "C58", "3.3.4-4 #3", "仕向処理通番"),
    ((("center_id", "Z9"),), {}, "C56", "3.3.4-4 #4", "センタ識別番号"),
    ((("cafis_seq", "      "),), {}, "C58", "3.3.4-4 #5", "CAFIS処理通番"),
    ((("org_co", "ACQ0009"),), {}, "C53", "3.3.4-4 #6", "仕向会社コード"),
    ((("org_sub", "1300"),), {}, "C53", "3.3.4-4 #7", "仕向会社サブコード"),
    ((("dst_co", "ISS9999"),), {}, "C01", "3.3.4-4 #8", "被仕向会社コード"),
    ((("dst_sub", "0001"),), {}, "C01", "3.3.4-4 #9", "被仕向会社サブコード"),
    ((("cafis_date", "11X2"),), {}, "C58", "3.3.4-4 #10", "CAFIS処理日"),
    ((("cafis_date", "1132"),), {}, "C58", "3.3.4-4 #11", "CAFIS処理日"),
    ((("cafis_date", "1100"),), {}, "C58", "3.3.4-4 #11", "CAFIS処理日"),
    ((("org_date", "X2"),), {}, "C58", "3.3.4-4 #12", "仕向処理日付"),
    ((("org_date", "00"),), {}, "C58", "3.3.4-4 #13", "仕向処理日付"),
    ((), {"tlen": "0X4"}, "C03", "3.3.4-4 #14", "トレーラレングス"),
    ((), {"tlen": "003"}, "C03", "3.3.4-4 #15", "トレーラレングス"),
)


def test_table_4_rows():
    for base in (CANCEL, (("msg_type", "9120"), ("cafis_seq", "000777"))):
        for changes, kw, code, rule, field in T4:
            c = h.checker()
            v = _cx(c, changes, base, **kw)
            check_v(v, AB, code, rule, field)
            assert v.section == "F(a)" and v.response == "異常報告" and v.fault


def test_table_4_row_2():
    c = h.checker()
    check_v(_req(c), "accept", None, None, None)
    check_v(_cx(c, (("seq", "000999"),)), AB, "C51", "3.3.4-4 #2", "経路番号")
    # the same transaction may cancel on its own route
    check_v(_cx(c), "accept", None, None, None)
    check_v(_cx(c, (("msg_type", "9120"),)), "accept", None, None, None)
    # a route busy with a request CAFIS sent to A
    c = h.checker()
    c.sent(center_tel(), "A")
    check_v(_cx(c), AB, "C51", "3.3.4-4 #2", "経路番号")


# --- 表 3.3.4-5: cancel-confirm (re)command --------------------------------------------------------

CONFIRM = (("msg_type", "9300"),)


def _opened():
    """A checker where A's request 000123 on route 0002 was accepted and answered."""
    c = h.checker()
    check_v(_req(c), "accept", None, None, None)
    assert c.sent(center_tel((("msg_type", "0110"), ("cafis_seq", "000777"))), "A")
    return c


T5 = (
    ((("route", "0010"),), {}, "C55", "3.3.4-5 #1", "経路番号"),
    ((("seq", "000124"),), {}, "C56", "3.3.4-5 #3", "仕向処理通番"),
    ((("org_co", "ACQ0009"),), {}, "C53", "3.3.4-5 #4", "仕向会社コード"),
    ((("org_sub", "1300"),), {}, "C53", "3.3.4-5 #5", "仕向会社サブコード"),
    ((("dst_co", "ISS9999"),), {}, "C01", "3.3.4-5 #6", "被仕向会社コード"),
    ((("dst_sub", "0001"),), {}, "C01", "3.3.4-5 #7", "被仕向会社サブコード"),
    ((("org_date", "23"),), {}, "C56", "3.3.4-5 #8", "仕向処理日付"),
    ((("proxy_report", "01"),), {}, "C56", "3.3.4-5 #9", "代行報告表示"),
    ((), {"tlen": "0X4"}, "C03", "3.3.4-5 #10", "トレーラレングス"),
    ((), {"tlen": "003"}, "C03", "3.3.4-5 #11", "トレーラレングス"),
)


def test_table_5_rows():
    for base in (CONFIRM, (("msg_type", "9320"),)):
        for changes, kw, code, rule, field in T5:
            c = _opened()
            v = _cx(c, changes, base, **kw)
            check_v(v, AB, code, rule, field)
            assert v.section == "F(b)" and v.fault
        check_v(_cx(_opened(), (), base), "accept", None, None, None)


def test_table_5_rows_2_and_3():
    # a route never used has no telegram to protect
    check_v(_cx(h.checker(), (), CONFIRM), AB, "C56", "3.3.4-5 #3", "仕向処理通番")
    # after a request timed out at the center (route still in use): same transaction is fine
    c = h.checker()
    _req(c)
    check_v(_cx(c, (("seq", "000124"),), CONFIRM), AB, "C51", "3.3.4-5 #2", "経路番号")
    check_v(_cx(c, (), CONFIRM), "accept", None, None, None)
    check_v(_cx(c, (("msg_type", "9320"),), CONFIRM), "accept", None, None, None)


# --- 表 3.3.4-6 with 表 3.3.4-7 -------------------------------------------------------------------

def _state(name, value):
    def f(d):
        for cen in d["centers"]:
            if cen["id"] == name:
                cen["state"] = value
    return f


def _cafis(value):
    def f(d):
        d["cafis"]["state"] = value
    return f


def _no_service(d):
    d["centers"][0]["services"] = ["0100", "0200"]


def _no_serve(d):
    d["centers"][1]["serves"] = ["0100", "0200"]


STATE = (
    # (registry change, code, CAF message, rule, field)
    (_state("A", "not_open"), "C60", None, "3.3.4-6 #1", "仕向センタ"),
    (_state("A", "suspended"), "C60", None, "3.3.4-6 #1", "仕向センタ"),
    (_state("A", "fault"), "C60", None, "3.3.4-6 #1", "仕向センタ"),
    (_state("B", "fault"), "C13", "CAF13", "3.3.4-6 #4", "被仕向センタ"),
    (_state("B", "suspended"), "C14", "CAF14", "3.3.4-6 #5", "被仕向センタ"),
    (_state("B", "not_open"), "C14", "CAF14", "3.3.4-6 #5", "被仕向センタ"),
    (_cafis("ended"), "C15", "CAF15", "3.3.4-6 #7", "CAFISセンタ"),
    (_cafis("fault"), "C33", "CAF33", "3.3.4-6 #8", "CAFISセンタ"),
    (_cafis("congested"), "C33", "CAF33", "3.3.4-6 #8", "CAFISセンタ"),
)


def test_table_6_rows_general_request_and_terminal():
    for change, code, msg, rule, field in STATE:
        c = h.checker(change)
        v = _req(c)
        check_v(v, AB, code, rule, field)
        assert v.handling == "3.3.4-7 #2" and v.response == "異常報告", rule
        if msg:
            v = c.check(terminal_tel(), "terminal")
            check_v(v, TE, msg, rule, field)
            assert v.handling == "3.3.4-7 #2"


def test_table_6_row_2_and_row_6_services():
    c = h.checker(_no_service)
    check_v(_req(c, (("msg_type", "0400"),)), AB, "C60", "3.3.4-6 #2", "仕向センタ")
    c = h.checker(_no_serve)
    check_v(_req(c, (("msg_type", "0400"),)), AB, "C57", "3.3.4-6 #6", "被仕向センタ")
    check_v(c.check(terminal_tel((("msg_type", "0400"),)), "terminal"), TE, "CAF57", "3.3.4-6 #6", "被仕向センタ")
    # issuer C serves 0100 only
    c = h.checker()
    v = _req(c, (("msg_type", "0200"), ("dst_co", "ISS0003"), ("dst_sub", "7   ")))
    check_v(v, AB, "C57", "3.3.4-6 #6", "被仕向センタ")


def test_table_6_row_3_no_route():
    c = h.checker()
    for r in ("0100", "0101", "0102", "0103"):
        c.sent(h.forwarded((("route", r),)), "B")
    check_v(_req(c), AB, "C12", "3.3.4-6 #3", "被仕向センタ")
    check_v(c.check(terminal_tel(), "terminal"), TE, "CAF12", "3.3.4-6 #3", "被仕向センタ")
    # one answered: a route is free again
    check_v(c.check(h.answer((("route", "0101"),)), "center", "B"), "accept", None, None, None)
    check_v(_req(c), "accept", None, None, None)
    # a registered company without a destination center has no route either
    v = _req(h.checker(), (("dst_co", "ACQ0001"), ("dst_sub", "1200")))
    check_v(v, AB, "C12", "3.3.4-6 #3", "被仕向センタ")


def test_table_6_terminal_without_destination_skips_destination_rows():
    c = h.checker(_state("B", "fault"))
    check_v(c.check(terminal_tel((("conn_co", "T002"),)), "terminal"), "accept", None, None, None)
    c = h.checker(_cafis("ended"))
    check_v(c.check(terminal_tel((("conn_co", "T002"),)), "terminal"), TE, "CAF15", "3.3.4-6 #7", "CAFISセンタ")


def test_table_6_fault_request_reports():
    # C13 / C14 on a cancel are answered with 取消報告, on a cancel-confirm with 取消確認報告 (表 3.3.5-2 注)
    for change, code in ((_state("B", "fault"), "C13"), (_state("B", "suspended"), "C14")):
        v = _cx(h.checker(change))
        check_v(v, AB, code, "3.3.4-6 #%d" % (4 if code == "C13" else 5), "被仕向センタ")
        assert v.handling == "3.3.4-7 #4" and v.response == "取消報告" and v.reply == b"9110"
        c = _opened()
        change_state = outbound.FAULT if code == "C13" else outbound.SUSPENDED
        c.set_center_state("B", change_state)
        v = _cx(c, (), CONFIRM)
        assert v.code == code and v.response == "取消確認報告" and v.reply == b"9310"
    v = _cx(h.checker(_cafis("ended")))
    check_v(v, AB, "C15", "3.3.4-6 #7", "CAFISセンタ")
    assert v.response == "異常報告" and v.reply == b"9900" and v.handling == "3.3.4-7 #4"


def test_table_7_row_1_control_discarded_state_kept():
    c = h.checker()
    c.sent(_cmd(), "A")
    c.set_cafis_state(outbound.CAFIS_FAULT)
    before = h.snapshot(c.routes)
    v = _ctl(c)
    check_v(v, DI, None, "3.3.4-6 #8", "CAFISセンタ")
    assert v.handling == "3.3.4-7 #1"
    v = c.check(_cmd((("msg_type", "7001"),)), "center", "A")
    check_v(v, DI, None, "3.3.4-6 #8", "CAFISセンタ")
    assert v.handling == "3.3.4-7 #1" and h.snapshot(c.routes) == before
    c.set_cafis_state(outbound.CAFIS_ONLINE)
    check_v(c.check(_cmd((("msg_type", "7001"),)), "center", "A"), "accept", None, None, None)


def test_table_7_rows_3_and_5_reports_discarded_state_kept():
    c = _b()
    c.set_cafis_state(outbound.CAFIS_ENDED)
    before = h.snapshot(c.routes)
    v = c.check(h.answer(), "center", "B")
    check_v(v, DI, None, "3.3.4-6 #7", "CAFISセンタ")
    assert v.handling == "3.3.4-7 #3" and h.snapshot(c.routes) == before
    c = h.checker()
    c.sent(h.forwarded((("msg_type", "9300"),)), "B")
    c.set_center_state("B", outbound.FAULT)
    before = h.snapshot(c.routes)
    v = c.check(h.answer((("msg_type", "9310"),)), "center", "B")
    check_v(v, DI, None, "3.3.4-6 #1", "仕向センタ")
    assert v.handling == "3.3.4-7 #5" and h.snapshot(c.routes) == before
    c.set_center_state("B", outbound.ONLINE)
    check_v(c.check(h.answer((("msg_type", "9310"),)), "center", "B"), "accept", None, None, None)


def test_table_7_rows_2_and_4_requests_answered_route_not_opened():
    c = h.checker(_state("B", "fault"))
    before = h.snapshot(c.routes)
    assert _req(c).handling == "3.3.4-7 #2"
    assert _cx(c).handling == "3.3.4-7 #4"
    assert h.snapshot(c.routes) == before


# --- several faults: the first row in the seed's order decides ---------------------------------------

def test_first_row_in_seed_order_decides():
    c = h.checker(_cafis("fault"))
    check_v(_req(c, (("route", "0010"), ("seq", "X"*6), ("org_date", "99"))), AB, "C55", "3.3.4-2 #1", "経路番号")
    check_v(_req(c, (("seq", "X"*6), ("org_date", "99"))), AB, "C58", "3.3.4-2 #3", "仕向処理通番")
    check_v(_req(c, (("org_date", "99"), ("proxy_report", "11")), tlen="999"), AB, "C58", "3.3.4-2 #10",
            "仕向処理日付")
    check_v(_req(c, (("dst_co", "ISS9999"), ("msg_type", "0500"))), AB, "C01", "3.3.4-2 #6", "被仕向会社コード")
    # content before state
    check_v(_req(c, (("proxy_report", "11"),)), AB, "C56", "3.3.4-2 #12", "代行報告表示")
    check_v(_req(c), AB, "C33", "3.3.4-6 #8", "CAFISセンタ")
    # length before content
    check_v(c.check(center_tel((("route", "0010"),), trailer=b"x" * 2000, tlen="999"), "center", "A"), AB, "C03",
            "3.3.4-1 #2", "電文長")
    # state rows in order: originating center before destination before CAFIS
    c = h.checker(lambda d: (_state("A", "fault")(d), _state("B", "fault")(d), _cafis("ended")(d)))
    check_v(_req(c), AB, "C60", "3.3.4-6 #1", "仕向センタ")
    c.set_center_state("A", outbound.ONLINE)
    check_v(_req(c), AB, "C13", "3.3.4-6 #4", "被仕向センタ")
    c.set_center_state("B", outbound.ONLINE)
    check_v(_req(c), AB, "C15", "3.3.4-6 #7", "CAFISセンタ")


def test_unknown_center_and_bad_arguments():
    c = h.checker()
    for who in ("Z", None, 5):
        v = c.check(center_tel(), "center", who)
        assert v.kind == DI and v.rule() is None
    assert c.sent(center_tel(), "Z") is False
    assert c.expire("Z", 2) is None


def test_trailer_length_without_shift_codes():
    text = b"\x0eAB\x0f"
    c = h.checker()
    check_v(_req(c, tlen="002", trailer=text), AB, "C03", "3.3.4-2 #14", "トレーラレングス")
    check_v(_req(c, tlen="004", trailer=text), "accept", None, None, None)

    def flag(d):
        d["layouts"] = {"center": {"header": 63, "trailer_counts_shift": False,
                                   "fields": [list(r) for r in h.layout.rows(h.layout.CENTER_FIELDS)]}}
    c = h.checker(flag)
    check_v(_req(c, tlen="004", trailer=text), AB, "C03", "3.3.4-2 #14", "トレーラレングス")
    check_v(_req(c, tlen="002", trailer=text), "accept", None, None, None)


def test_every_content_and_state_row_is_tested_here():
    """Coverage guard: every rule of the data tables appears in this file's cases."""
    with open(__file__) as f:
        src = f.read()
    assert len(checktab.TABLES) == 7 and not hasattr(checktab, "TABLE_2")    # A, B, 2, D, 3, 4, 5
    heads = {}
    for sec in checktab.SECTIONS:      # a numbered table's rows: its head in SECTIONS, then the row's number
        heads[sec[2]] = sec[5]
    for t, table in enumerate(checktab.TABLES):      # flat: a row is W cells
        assert len(table) % _W == 0
        for b in range(0, len(table), _W):
            rule = table[b]
            if heads[t] is None:                     # 3.3.4 (2) A, B, D: named in full
                assert type(rule) is str and rule.startswith("3.3.4 " + "ABD"[(t > 0) + (t > 2)] + "(")
            else:                                    # numbered 1, 2, .. in the seed's order
                assert rule == b // _W + 1, (t, rule)
                rule = "%s%d" % (heads[t], rule)
            assert ('"%s"' % rule) in src, rule
    for row in checktab.TABLE_7:
        assert ('"%s"' % row[0]) in src, row[0]
    for table in (checktab.TABLE_6, checktab.LENGTH):      # the head, then row n at n
        for n in range(1, len(table)):
            assert table[n][0] == n
            assert ('"%s%d"' % (table[0], n)) in src, (table[0], n)


def test_general_and_fault_reports_share_table_3_but_not_verdicts():
    c = h.checker()
    c.sent(h.forwarded(), "B")
    v = c.check(h.answer((("line", "002"),)), "center", "B")
    check_v(v, DI, None, "3.3.4-3 #5", "回線番号")
    assert not v.fault
    c.sent(h.forwarded((("route", "0101"), ("msg_type", "9100"))), "B")
    v = c.check(h.answer((("route", "0101"), ("msg_type", "9110"), ("line", "002"))), "center", "B")
    check_v(v, DI, None, "3.3.4-3 #5", "回線番号")
    assert v.fault


def test_the_verdict_is_the_checkers_own_and_refilled():
    """check() allocates nothing: it returns the Checker's one Verdict, refilled each time."""
    c = h.checker()
    v1 = c.check(center_tel((("seq", "00012X"),)), "center", "A")
    assert (v1.kind, v1.code, v1.rule(), v1.field) == (AB, "C58", "3.3.4-2 #3", "仕向処理通番")
    v2 = c.check(center_tel(), "center", "A")
    assert v2 is v1 and v1.kind == "accept" and v1.code is None and v1.rule() is None


def test_the_compiled_tables_of_the_default_layouts_are_the_constants():
    """checkkinds keeps the compiled form of the default layouts as constants (flash when frozen);
    compiling copies of those layouts (not the same tuples) must give the same bytes."""
    from faxbridge.core.cafis import layout
    cl = layout.center(layout.rows(layout.CENTER_FIELDS))
    tl = layout.terminal(layout.rows(layout.TERMINAL_FIELDS))
    assert cl.fields is not layout.CENTER_FIELDS
    ix, rows = checkkinds.compiled(cl, tl)
    c = h.checker()
    assert (c.ix, c.rows) == (ix, rows)
    assert c.ix is checkkinds.compiled(layout.center(), layout.terminal())[0]     # the constants, not a copy


def test_the_section_of_each_message_class():
    """checks picks the section of a telegram on a route of its own (0002 ..) from its class
    with one bytes table (_SEC_BY_CLASS); it must say what 3.3.4 (2) says, class by class."""
    from faxbridge.core.cafis import roles
    want = {roles.REP: "E", roles.ABNORMAL: "E", roles.CTRL_REP: "E", roles.CANCEL_REP: "E", roles.CONFIRM_REP: "E",
            roles.CANCEL: "F(a)", roles.CONFIRM: "F(b)"}
    table = checks._SEC_BY_CLASS
    assert len(table) == roles.ABNORMAL + 1
    for k in range(len(table)):
        assert checktab.SECTIONS[table[k]][1] == want.get(k, "C"), k
    # the fault reports (取消報告, 取消確認報告) get the section of fault reports, its own index
    assert table[roles.CANCEL_REP] == table[roles.CONFIRM_REP] != table[roles.REP]


def test_the_ix_offsets_checks_and_outbound_name_are_checkkinds():
    """checkkinds' ix offsets are private (no module name each); checks.py and outbound.py name
    the ones they read with constants of their own: each must be checkkinds', and reading them
    must find the fields they name (message type, route) in the compiled ix."""
    from faxbridge.core.cafis import outbound
    tab = consts(checkkinds, "_AT_")
    assert len(tab) >= 8 and not hasattr(checkkinds, "AT_MT")
    for mod in (checks, outbound):
        own = consts(mod, "_AT_")
        assert own, mod
        for k in own:
            assert own[k] == tab[k], (mod, k, own[k], tab[k])
    c = h.checker()
    cl = c.cl
    assert (c.ix[tab["_AT_MT"]], c.ix[tab["_AT_MT"] + 1]) == cl.at("msg_type")
    assert (c.ix[tab["_AT_ROUTE"]], c.ix[tab["_AT_ROUTE"] + 1]) == cl.at("route")
    assert (c.ix[tab["_AT_DST"]], c.ix[tab["_AT_DST"] + 1]) == cl.at("dst_co")
    assert (c.ix[tab["_AT_TMT"]], c.ix[tab["_AT_TMT"] + 1]) == c.tl.at("msg_type")
    assert (c.ix[tab["_AT_TCONN"]], c.ix[tab["_AT_TCONN"] + 1]) == c.tl.at("conn_co")


def test_the_constants_checkkinds_and_checks_keep_of_other_modules_are_theirs():
    """checkkinds and checks name the catalogue classes, route states and registry states they
    compare against with private constants of their own (no module name, no lookup per row):
    each must equal the public constant of the module it stands for."""
    from faxbridge.core.cafis import catalogue, routes
    cls = consts(catalogue, "_")            # the catalogue's classes are private there too
    n = 0
    for k, v in consts(checkkinds, "_CL_").items():
        assert cls["_" + k[4:]] == v, (k, v)
        n += 1
    rts = consts(routes, "_")               # the slot states are private there too
    for k, v in consts(checkkinds, "_RT_").items():
        assert rts["_" + k[4:]] == v, (k, v)
        n += 1
    for k, v in consts(outbound, "_R_").items():
        assert rts["_" + k[3:]] == v, (k, v)
        n += 1
    sts = consts(registry, "_")             # the center and CAFIS states are private there too
    for k, v in consts(checkkinds, "_ST_").items():
        assert sts["_" + k[4:]] == v, (k, v)
        assert getattr(outbound, k[4:]) == v, (k, v)      # the tools' names of them
        assert not hasattr(registry, k[4:]), k
        n += 1
    for k in ("_CANCEL", "_CANCEL_REP", "_CONFIRM", "_CONFIRM_REP", "_ABNORMAL"):
        assert consts(checks, k + " ")[k] == cls[k], k
        n += 1
    for k in ("_CMD", "_ORIG", "_FREE"):
        assert consts(checks, k + " ")[k] == rts[k], k
        n += 1
    assert n == 26, n
    for name in ("NEVER", "ORIG", "DEST", "FREE", "CMD"):
        assert not hasattr(routes, name), name
    for name in ("CROW", "W", "_cat", "_routes", "_registry"):
        assert not hasattr(checktab, name) and not hasattr(checkkinds, name), name
    import sys
    if sys.implementation.name == "micropython":      # CPython's module dict holds more
        assert len(checktab.__dict__) <= 11, sorted(checktab.__dict__)     # data only: 11 slots, not 17
        assert len(checkkinds.__dict__) <= 8, sorted(checkkinds.__dict__)  # a table of 11 slots
        assert len(checks.__dict__) <= 8, sorted(checks.__dict__)
    for name in ("cat", "Verdict", "ACCEPT", "ABNORMAL"):
        assert not hasattr(checks, name), name


def test_the_check_kinds_of_the_tables_are_those_checkkinds_runs():
    """A check kind is a private constant in checktab.py (the tables' column) and in
    checkkinds.py (what runs it), no module name in either: each of checktab's kinds must have
    the same number in checkkinds, but 16 (compared by checks.py itself, with its own constant),
    and no two kinds one number."""
    tab = {}
    for k, v in consts(checktab, "_").items():    # but the items (_I_*), the codes (_C58, _CAF01), _W
        if not (k.startswith("_I_") or k[2:].isdigit() or k[4:].isdigit() or k == "_W"):
            tab[k] = v
    run = consts(checkkinds, "_")
    assert len(tab) == 31 and len(set(tab.values())) == 31, sorted(tab)
    for k, v in tab.items():
        if v == 16:
            assert k == "_PROTECTED" and consts(checks, k + " ")[k] == v and k not in run
        else:
            assert run[k] == v, (k, v, run.get(k))
    assert run["_W"] == consts(checktab, "_W ")["_W"]
    used = set()
    for table in checktab.TABLES:
        used.update(table[b + 2] for b in range(0, len(table), _W))
    used.update(row[2] for row in checktab.TABLE_6[1:])
    assert used <= set(tab.values()), used - set(tab.values())


def test_every_state_outbound_names_for_the_tools_is_the_registrys():
    """outbound.py names all seven registry states for the tools (set_center_state,
    set_cafis_state); checkkinds mirrors six of them, so CAFIS_ONLINE is compared here."""
    sts = consts(registry, "_")
    for name in ("ONLINE", "NOT_OPEN", "SUSPENDED", "FAULT", "CAFIS_ONLINE", "CAFIS_ENDED", "CAFIS_FAULT"):
        assert getattr(outbound, name) == sts["_" + name], name
        assert not hasattr(registry, name), name
