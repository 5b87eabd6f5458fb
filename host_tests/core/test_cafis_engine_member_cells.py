"""Table (2) of 3.3.1, every cell: the member center in each row receives each CAFIS telegram
and must show the effects of the seed's action (grid from the seed text, not from the engine)."""
from faxbridge.core.cafis import engine
from cafis_session_helpers import CIRCLES, SEED_T2, parse, tg, kinds, sent, of

ROWS = ("restart_req", "end_req", "request", "line_check", "cancel", "cancel_confirm", "cafis_fault", "stopped")
COLS = ("start_cmd", "request", "end_notice", "end_cmd", "line_check", "cancel", "cancel_confirm",
        "other_report", "counter")
GRID = parse(SEED_T2)

# the CAFIS telegram of each column
COL_TG = {
    "start_cmd": lambda: tg("7000", "0001"),
    "request": lambda: tg("0100", "0200", b"CARD"),
    "end_notice": lambda: tg("0700", "0001"),
    "end_cmd": lambda: tg("0730", "0001"),
    "line_check": lambda: tg("9210", "0001"),
    "cancel": lambda: tg("9100", "0200", cafis_seq="000777"),
    "cancel_confirm": lambda: tg("9300", "0200"),
    "other_report": lambda: tg("0110", "0300", b"OK"),   # answers nothing we sent
    "counter": lambda: tg("8000", "0001"),
}
ANSWER = {"start_cmd": "7001", "end_notice": "0701", "end_cmd": "0731", "line_check": "9211", "counter": "8001"}


def member_in(row, ready=True):
    """A member engine whose table-(2) row is `row`."""
    m = engine.Member({"initial": "online", "ready": ready})
    if row == "restart_req":
        m.send(0, tg("7020", "0000", seq="000000"))
    elif row == "end_req":
        m.send(0, tg("0720", "0000", seq="000000"))
    elif row == "line_check":
        m.send(0, tg("9210", "0000", seq="000000"))
    elif row == "request":
        m.send(0, tg("0100", "0100", b"CARD"), "T1")
    elif row == "cancel":
        m.send(0, tg("0100", "0100", b"CARD"), "T1")
        rep = tg("0110", "0100", b"OK", cafis_seq="000555")
        m.receive(1, rep)
        m.terminal_failed(2, rep, "T1")          # 3.3.2(2)(d): 取消指令 9100
    elif row == "cancel_confirm":
        m.send(0, tg("0100", "0100", b"CARD"), "T1")
        m.poll(m.cfg.t_report)                   # time-over -> 取消確認指令 9300
    elif row == "cafis_fault":
        m.send(0, tg("0100", "0100", b"CARD"), "T1")
        m.peer_down(1)
    elif row == "stopped":
        m = engine.Member({"ready": ready})
    assert m.row(b"0100") == row, (row, m.row(b"0100"), m.describe())
    return m


def check_cell(row, col, act):
    m = member_in(row)
    before = m.describe()
    ctl = m.control
    t = COL_TG[col]()
    effs = m.receive(3, t)
    after = m.describe()
    ks = kinds(effs)
    where = (row, col, act, effs, before, after)
    # the effects cite the seed's cell (3.3.1(2) row×column ⑩)
    assert [e for e in effs if e[3] and "3.3.1(2)" in e[3] and CIRCLES[act - 1] in e[3]], where
    if act == 1:      # answer; wait for request telegrams (start sequence begins)
        assert sent(effs) == [ANSWER[col]], where
        assert m.control is None and m.mode == m.STARTING, where
        assert m.routes.get(b"0100") is None or m.routes[b"0100"].kind == row, where  # requests keep their timers
    elif act == 2:    # process / answer; keep waiting for our request's response
        if col in ANSWER:
            assert sent(effs) == [ANSWER[col]], where
        else:
            assert of(effs, "deliver")[0][2] == t and sent(effs) == [], where
            if col != "other_report":
                assert t[0:4] in m.dest, where
        assert ("wait", None, row) == of(effs, "wait")[0][:3], where
        assert m.control is ctl and m.row(b"0100") == row, where
    elif act == 3:    # stop waiting; i) end notice ii) end command
        assert m.control is None, where
        if col == "end_notice":
            assert sent(effs) == ["0701"] and m.ending, where
            assert ("wait", None, "end_cmd") == of(effs, "wait")[0][:3], where
        else:
            assert sent(effs) == ["0731"] and "stop" in ks and m.mode == m.STOPPED, where
            assert not m.routes, where
    elif act == 4:    # answer and restart without waiting
        assert sent(effs) == ["7001"] and "restart" in ks, where
        assert m.control is None and m.mode == m.STARTING, where
    elif act == 5:    # not received
        assert ks == ["ignore"] and before == after, where
    elif act == 6:    # answer only
        assert ks == ["send"] and sent(effs) == [ANSWER[col]] and before == after, where
    elif act == 7:    # discard, keep waiting
        assert ks == ["discard", "wait"] and before == after and m.control is ctl, where
    elif act == 8:    # answer when ready to start
        assert sent(effs) == ["7001"] and m.mode == m.STARTING, where
        m2 = member_in(row, ready=False)
        b2 = m2.describe()
        assert kinds(m2.receive(3, t)) == ["discard"] and m2.describe() == b2, where
    elif act == 9:    # discard
        assert ks == ["discard"] and before == after, where
    elif act == 10:   # answer the notice at once; the request stays outstanding
        assert ks == ["send"] and sent(effs) == ["8001"] and before == after and m.control is ctl, where
    elif act == 11:   # accept the report; keep waiting
        assert of(effs, "deliver")[0][2] == t and of(effs, "wait") and sent(effs) == [], where
        assert before == after, where
    elif act == 12:   # answer and hold the request sent
        assert sent(effs) == ["8001"], where
        held = of(effs, "hold_request")
        assert [h[1] for h in held] == sorted(m.routes) and held, where
        for p in m.routes.values():
            assert p.held and p.deadline == 3 + m.cfg.t_hold, where
    else:
        raise AssertionError(where)


def _row(i):
    label, acts = GRID[i]
    for j in range(len(COLS)):
        check_cell(ROWS[i], COLS[j], acts[j])


def test_row1_restart_request():
    _row(0)


def test_row2_end_request():
    _row(1)


def test_row3_general_request():
    _row(2)


def test_row4_line_check():
    _row(3)


def test_row5_cancel_command():
    _row(4)


def test_row6_cancel_confirm_command():
    _row(5)


def test_row7_cafis_fault():
    _row(6)


def test_row8_not_started():
    _row(7)


def test_idle_row_decisions():
    # not in the seed (docs/cafis-engine.md): nothing outstanding, online
    m = engine.Member({"initial": "online"})
    assert m.row() == "idle"
    assert sent(m.receive(0, tg("8000", "0001"))) == ["8001"]
    assert kinds(m.receive(0, tg("0110", "0300"))) == ["discard"]
    effs = m.receive(0, tg("0100", "0200", b"CARD"))
    assert kinds(effs) == ["deliver"] and b"0200" in m.dest
    effs = m.receive(0, tg("7000", "0001"))
    assert sent(effs) == ["7001"] and m.mode == m.STARTING
    effs = m.receive(1, tg("7030", "0001"))
    assert sent(effs) == ["7031"] and m.mode == m.ONLINE and "online" in kinds(effs)


def test_hold_ends_with_next_cafis_telegram():
    m = member_in("request")
    m.receive(3, tg("8000", "0001"))
    assert m.routes[b"0100"].held and "(held)" in m.describe()
    m.receive(4, tg("8000", "0001"))          # another counter notice keeps it held
    assert m.routes[b"0100"].held
    effs = m.receive(5, tg("9210", "0001"))
    assert "release" in kinds(effs) and not m.routes[b"0100"].held
    assert m.routes[b"0100"].deadline == 5 + m.cfg.t_report


def test_start_keeps_general_requests_pending():
    m = member_in("request")
    m.receive(3, tg("7000", "0001"))
    m.receive(4, tg("7030", "0001"))
    assert m.mode == m.ONLINE and m.routes[b"0100"].kind == "request"
    effs = m.poll(m.cfg.t_report)
    assert sent(effs) == ["9300"]


def test_malformed_and_foreign_telegrams_are_discarded():
    m = engine.Member({"initial": "online"})
    too_long = tg("0100", "0200", b"x" * 1000, trailer_len="999")
    for bad in (b"", b"0001", tg("5555", "0001"), tg("ab12", "0001"), too_long):
        effs = m.receive(0, bad)
        assert kinds(effs) == ["discard"], effs
    # a restart request is not a telegram CAFIS sends
    assert kinds(m.receive(0, tg("7020", "0000"))) == ["discard"]
    assert m.describe() == engine.Member({"initial": "online"}).describe()
