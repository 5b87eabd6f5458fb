"""Table (1) of 3.3.1, every cell: CAFIS with each outstanding command (or the center in fault)
receives each member-center telegram; the effects must be the seed's action."""
from faxbridge.core.cafis import cafisside, outbound, registry
from cafis_helpers import center_tel, example_dict
from cafis_session_helpers import CIRCLES, SEED_T1, parse, tg, kinds, of

ROWS = ("start_cmd", "request", "end_notice", "counter", "end_cmd", "line_check", "cancel", "cancel_confirm",
        "member_fault")
COLS = ("restart_req", "end_req", "request", "line_check", "cancel", "cancel_confirm", "other_report")
GRID = parse(SEED_T1)

# what CAFIS sent to put the center in each row
ROW_TG = {
    "start_cmd": lambda: tg("7000", "0001"),
    "request": lambda: tg("0100", "0200", b"CARD", cafis_seq="000001"),
    "end_notice": lambda: tg("0700", "0001"),
    "counter": lambda: tg("8000", "0001"),
    "end_cmd": lambda: tg("0730", "0001"),
    "line_check": lambda: tg("9210", "0001"),
    "cancel": lambda: tg("9100", "0200", cafis_seq="000001"),
    "cancel_confirm": lambda: tg("9300", "0200", cafis_seq="000001"),
}
# what the member center sends, per column
COL_TG = {
    "restart_req": lambda: tg("7020", "0000", seq="000000"),
    "end_req": lambda: tg("0720", "0000", seq="000000"),
    "request": lambda: tg("0100", "0100", b"CARD"),
    "line_check": lambda: tg("9210", "0000", seq="000000"),
    "cancel": lambda: tg("9100", "0100", cafis_seq="000009"),
    "cancel_confirm": lambda: tg("9300", "0100"),
    "other_report": lambda: tg("0110", "0300", b"OK"),
}


def cafis_in(row):
    c = cafisside.Cafis()
    if row == "member_fault":
        c.sent(0, "A", ROW_TG["request"]())
        effs = c.receive(1, "A", COL_TG["restart_req"]())     # row xx要求 × 再開要求 -> ④
        assert kinds(effs) == ["fault"], effs
    else:
        c.sent(0, "A", ROW_TG[row]())
    assert c.row("A", b"0100") == row, (row, c.describe("A"))
    return c


def check_cell(row, col, act):
    c = cafis_in(row)
    before = c.describe("A")
    t = COL_TG[col]()
    effs = c.receive(2, "A", t)
    after = c.describe("A")
    ks = kinds(effs)
    v = c.view("A")
    where = (row, col, act, effs, before, after)
    assert [e for e in effs if e[3] and "3.3.1(1)" in e[3] and CIRCLES[act - 1] in e[3]], where
    if act == 1:      # discard, wait for the command's answer
        assert ks == ["discard", "wait"] and of(effs, "wait")[0][2] == row and before == after, where
    elif act == 2:    # accept and process, wait
        assert ks == ["accept", "wait"] and of(effs, "accept")[0][2] == t and before == after, where
    elif act == 3:    # accept, answer and restart
        assert ks == ["accept", "restart"] and v.fault, where
    elif act == 4:    # the center in fault; restart when 許可指令 is sent
        assert ks == ["fault"] and v.fault and v.command is None and not v.routes, where
        c.sent(3, "A", tg("7000", "0001"))
        assert v.fault
        effs = c.sent(4, "A", tg("7030", "0001"))
        assert kinds(effs) == ["restart"] and not v.fault, where
    elif act == 5:    # abnormal report, center in fault
        e = of(effs, "abnormal_report")
        assert ks == ["abnormal_report"] and e[0][4] == "C60" and v.fault, where
        rep = e[0][2]
        assert rep[43:47] == b"9900" and rep[63:66] == b"C60" and rep[0:43] == t[0:43], where
    elif act == 6:    # abnormal report, keep waiting
        e = of(effs, "abnormal_report")
        assert ks == ["abnormal_report", "wait"] and e[0][4] == "C60" and before == after, where
        assert e[0][2][43:47] == b"9900" and e[0][2][63:66] == b"C60", where
    elif act == 7:    # accept; the center stays in fault
        assert ks == ["accept"] and v.fault and before == after, where
    else:
        raise AssertionError(where)


def _row(i):
    for j in range(len(COLS)):
        check_cell(ROWS[i], COLS[j], GRID[i][1][j])


def test_row1_start_command():
    _row(0)


def test_row2_request():
    _row(1)


def test_row3_end_notice():
    _row(2)


def test_row4_counter():
    _row(3)


def test_row5_end_command():
    _row(4)


def test_row6_line_check():
    _row(5)


def test_row7_cancel():
    _row(6)


def test_row8_cancel_confirm():
    _row(7)


def test_row9_member_fault():
    _row(8)


def test_matching_answers_end_the_command():
    c = cafisside.Cafis()
    c.sent(0, "A", tg("0700", "0001"))
    effs = c.receive(1, "A", tg("0701", "0001"))
    assert kinds(effs) == ["accept"] and c.row("A") == "idle"
    c.sent(2, "A", tg("0100", "0200", b"CARD"))
    assert c.row("A", b"0200") == "request"
    effs = c.receive(3, "A", tg("0120", "0200", b"R01"))     # a reject report answers it
    assert kinds(effs) == ["accept"] and c.row("A") == "idle"
    assert kinds(c.receive(4, "A", tg("7000", "0001"))) == ["discard"]   # CAFIS's own command type


def test_idle_row_decisions():
    c = cafisside.Cafis()
    assert kinds(c.receive(0, "A", COL_TG["request"]())) == ["accept"]
    assert kinds(c.receive(0, "A", COL_TG["restart_req"]())) == ["accept", "restart"]
    assert kinds(c.receive(0, "A", COL_TG["other_report"]())) == ["discard"]


def test_with_the_parser_checker_the_checks_decide():
    reg = registry.load(example_dict())
    chk = outbound.Checker(reg)
    c = cafisside.Cafis(reg, chk)
    good = center_tel()                   # center A's request on route 0002: passes 3.3.4
    effs = c.receive(0, "A", good)
    assert kinds(effs) == ["accept"] and effs[0][4] == ("accept", None, None, None)
    dup = center_tel(trailer=b"DATA2")    # same route again: 表 3.3.4-2 #2 C51
    effs = c.receive(1, "A", dup)
    assert kinds(effs) == ["abnormal_report"] and effs[0][4] == "C51" and "3.3.4-2 #2" in effs[0][3]
    assert effs[0][2][43:47] == b"9900" and effs[0][2][63:66] == b"C51"
    # a fault (④) is shown to the checker: requests then meet 表 3.3.4-6 (center in fault)
    c.sent(2, "A", center_tel([("route", "0003"), ("cafis_seq", "000001")]))
    effs = c.receive(3, "A", center_tel([("route", "0000"), ("seq", "000000"), ("msg_type", "7020"),
                                         ("dst_co", "       "), ("dst_sub", "    ")], trailer=b""))
    assert kinds(effs) == ["fault"] and reg.by_id.get("A").state == outbound.FAULT
    effs = c.receive(4, "A", center_tel([("route", "0004")]))
    assert kinds(effs) == ["abnormal_report"] and effs[0][4] == "C60"
    c.sent(5, "A", center_tel([("route", "0001"), ("msg_type", "7030"), ("seq", "000000")], trailer=b""))
    assert reg.by_id.get("A").state == outbound.ONLINE
