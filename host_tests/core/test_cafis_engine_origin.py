"""3.3.2: the originating center's duties: checks before sending, reactions to abnormal, cancel
and cancel-confirm reports by code (3.3.5), time-over (表 3.3.2-1), undeliverable reports."""
from faxbridge.core.cafis import engine, errors, origin, registry
from cafis_helpers import example_dict
from cafis_session_helpers import tg, kinds, of, one, sent, mtype
from support import raises

REQ = dict(org_co="ACQ0001", org_sub="1200", dst_co="ISS0002", dst_sub="0000")


def online(cfg=None, reg=False):
    c = {"initial": "online"}
    c.update(cfg or {})
    if reg:
        return engine.Member(c, registry.load(example_dict()), "A")
    return engine.Member(c)


def request(route="0100", mt="0100", **kw):
    f = dict(REQ)
    f.update(kw)
    return tg(mt, route, b"CARD", **f)


def report(route="0100", mt="0110", trailer=b"OK", **kw):
    f = dict(REQ)
    f["cafis_seq"] = "000555"
    f.update(kw)
    return tg(mt, route, trailer, **f)


# ---- 3.3.2 (1) before sending ---------------------------------------------------------------
def test_1a_destination_company_must_be_served():
    m = online(reg=True)
    e = one(m.send(0, request("0002", dst_co="NOSUCH1"), "T"), "terminal_error")
    assert e[2] == "C01" and e[3] == "3.3.2(1)(a)" and e[4] == "T" and not m.routes
    # a registered company without a destination center is not served either
    e = one(m.send(0, request("0002", dst_co="ACQ0001"), "T"), "terminal_error")
    assert e[2] == "C01"


def test_1b_business_must_be_served_by_the_destination():
    m = online(reg=True)
    e = one(m.send(0, request("0002", mt="0200", dst_co="ISS0003", dst_sub="7   "), "T"), "terminal_error")
    assert e[2] == "C57" and e[3] == "3.3.2(1)(b)" and not m.routes
    effs = m.send(0, request("0002", mt="0100", dst_co="ISS0003", dst_sub="7   "), "T")
    assert sent(effs) == ["0100"] and b"0002" in m.routes


def test_1c_fault_commands_keep_the_hold_items():
    m = online()
    assert kinds(m.send(0, tg("9300", "0100"))) == ["error"]          # nothing ever sent there
    m.send(0, request())
    m.receive(1, report())
    bad = tg("9100", "0100", seq="999999", cafis_seq="000555", **{k: REQ[k] for k in ("org_co", "dst_co")})
    e = one(m.send(2, bad), "error")
    assert e[2] == "hold items" and e[3] == "3.3.2(1)(c)" and not m.routes
    good = origin.fault_command(m.roles, report(), "cancel")
    assert sent(m.send(3, good)) == ["9100"] and m.routes[b"0100"].kind == "cancel"
    assert kinds(m.send(3, good)) == ["error"]                        # the route is in use


def test_1d_a_free_route_is_needed():
    m = online({"routes": ["0100-0102"]})
    got = []
    for i in range(3):
        effs = m.send(0, request("    ", seq="00000%d" % i), i)
        got.append(of(effs, "send")[0][1])
    assert got == [b"0100", b"0101", b"0102"]
    e = one(m.send(0, request("    ", seq="000009"), 9), "terminal_error")
    assert e[2] == "C12" and e[3] == "3.3.2(1)(d)" and e[4] == 9
    assert one(m.send(0, request("0500")), "terminal_error")[2] == "C55"
    assert one(m.send(0, request("0101")), "terminal_error")[2] == "C51"
    assert m.free_route() is None
    m.receive(1, report("0101", seq="000001"))
    assert m.free_route() == b"0101"


def test_1e_cafis_in_fault_or_not_online_means_post_processing():
    m = online()
    m.peer_down(0)
    e = one(m.send(1, request(), "T"), "terminal_error")
    assert e[2] == "CAF33" and e[3] == "3.3.2(1)(e)" and not m.routes
    m2 = engine.Member()                                             # not started
    assert one(m2.send(1, request(), "T"), "terminal_error")[2] == "CAF15"
    m3 = online()
    m3.receive(0, tg("0700", "0001"))                                # ending (③ i / ②)
    assert one(m3.send(1, request(), "T"), "terminal_error")[2] == "CAF15"


def test_1f_failed_send_is_an_error_to_the_terminal():
    m = online()
    t = of(m.send(0, request(), "T"), "send")[0][2]
    e = one(m.send_failed(1, t), "terminal_error")
    assert e[2] == "send_failed" and e[3] == "3.3.2(1)(f)" and e[4] == "T" and not m.routes
    assert kinds(m.send_failed(1, t)) == ["error"]                   # nothing outstanding any more


# ---- 3.3.2 (2)(a): reactions by code (3.3.5) -------------------------------------------------
# The originating center's action per code, read by hand from the seed's tables.
GENERAL = {"C01": "abort", "C03": "abort", "C12": "retry", "C13": "end", "C14": "end", "C15": "end",
           "C33": "end", "C50": "end", "C51": "abort", "C53": "abort", "C54": "abort", "C55": "abort",
           "C56": "abort", "C57": "abort", "C58": "abort", "C60": "restart"}
FAULT = {"C01": "abort", "C03": "abort", "C12": "retry", "C13": "end", "C14": "end", "C15": "after_start",
         "C33": "retry_once", "C50": "retry_once", "C51": "abort", "C53": "abort", "C54": "abort",
         "C55": "abort", "C56": "abort", "C57": "abort", "C58": "abort", "C60": "after_start"}


def test_every_catalogue_action_text_has_a_reaction():
    assert sorted(GENERAL) == sorted(r[0] for r in errors.TABLE_1)
    assert sorted(FAULT) == sorted(r[1] for r in errors.TABLE_2)
    texts = [r[3] for r in errors.TABLE_1] + [r[5] for r in errors.TABLE_2]
    for t in texts:
        assert [p for p in origin.PHRASES if p[0] == t], t
    for code in GENERAL:
        assert origin.reaction(code, False)[0] == GENERAL[code], code
        assert origin.reaction(code, True)[0] == FAULT[code], code
    assert origin.reaction("C99", False)[0] == "abort"


def _reacts(m, route, rep, want, sent_type, ref):
    effs = m.receive(10, rep)
    ks = kinds(effs)
    assert route not in m.routes, (want, effs)
    code = rep[63:66].decode()
    if want == "abort":
        assert ks == ["terminal_error", "investigate"] and effs[0][2] == code and effs[0][4] == ref, effs
    elif want == "end":
        assert ks == ["terminal_error"] and effs[0][2] == code, effs
    elif want == "restart":
        assert ks == ["terminal_error", "restart"], effs
    elif want in ("retry", "retry_once"):
        assert ks == ["hold"] and len(m.held) == 1, effs
        assert m.poll(10 + m.cfg.t_retry - 1) == []
        assert sent(m.poll(10 + m.cfg.t_retry)) == [sent_type] and len(m.held) == 0
        again = m.receive(20, rep)                      # the same code once more
        if want == "retry_once":
            assert kinds(again) == ["terminal_error", "investigate"], again
        else:
            assert kinds(again) == ["hold"], again
    elif want == "after_start":
        assert ks == ["hold"] and m.held.items[0].deadline is None, effs
        assert m.poll(10000) == []                      # not before the next online start
        m.receive(11, tg("7000", "0001"))
        effs = m.receive(12, tg("7030", "0001"))
        assert sent(effs) == ["7031", sent_type] and len(m.held) == 0, effs
    else:
        raise AssertionError(want)


def test_2a_abnormal_report_to_a_general_request_every_code():
    for code in sorted(GENERAL):
        m = online()
        m.send(0, request(), "T")
        _reacts(m, b"0100", report(mt="9900", trailer=code.encode() + b" "), GENERAL[code], "0100", "T")


def test_2a_reports_to_fault_commands_every_code():
    for code in sorted(FAULT):
        for cmd, rep_type in (("9100", "9110"), ("9300", "9310")):
            m = online()
            m.send(0, request(), "T")
            m.receive(1, report())
            m.send(2, origin.fault_command(m.roles, report(), "cancel" if cmd == "9100" else "confirm"), "T")
            # C13, C14, C50 come in 取消報告 / 取消確認報告 (表 3.3.5-2 注), the rest in 異常報告
            rt = rep_type if code in errors.CANCEL_REPORT_CODES else "9900"
            _reacts(m, b"0100", report(mt=rt, trailer=code.encode()), FAULT[code], cmd, "T")


def test_2a_cancel_report_without_code_completes():
    m = online()
    m.send(0, request(), "T")
    m.receive(1, report())
    m.send(2, origin.fault_command(m.roles, report(), "cancel"), "T")
    e = one(m.receive(3, report(mt="9110", trailer=b"")), "to_terminal")
    assert e[4] == "T" and not m.routes


def test_2b_report_must_keep_the_hold_items():
    m = online()
    m.send(0, request(), "T")
    effs = m.receive(1, report(seq="000124"))
    assert kinds(effs) == ["discard"] and effs[0][3].startswith("3.3.2(2)(b)")
    assert m.routes[b"0100"].kind == "request"
    effs = m.receive(2, report())
    assert kinds(effs) == ["to_terminal"] and effs[0][4] == "T" and not m.routes


# ---- 3.3.2 (2)(c): time-over, 表 3.3.2-1 -----------------------------------------------------
def test_time_over_row1_request_gets_cancel_confirm():
    m = online()
    t = of(m.send(0, request(), "T"), "send")[0][2]
    assert m.next_deadline() == m.cfg.t_report
    assert m.poll(m.cfg.t_report - 0.5) == []
    effs = m.poll(m.cfg.t_report)
    assert kinds(effs) == ["time_over", "send"] and effs[0][2] == t
    cc = effs[1][2]
    assert mtype(cc) == "9300" and effs[1][3] == "表3.3.2-1 #1"
    assert cc[:43] == t[:43] and cc[47:] == t[47:]                   # hold items kept
    assert m.routes[b"0100"].kind == "cancel_confirm"
    assert m.next_deadline() == m.cfg.t_report + m.cfg.t_fault


def test_time_over_row1_note1_loopback_request_sends_nothing():
    m = online({"loopback": ["0100"]})
    m.send(0, request(), "T")
    effs = m.poll(m.cfg.t_report)
    assert kinds(effs) == ["time_over", "terminal_error"] and effs[1][3] == "表3.3.2-1 #1 注1"
    assert not m.routes and sent(effs) == []


def test_time_over_row2_cancel_confirm_gets_re_command_until_given_up():
    m = online({"max_recommands": 2})
    m.send(0, request(), "T")
    t = m.cfg.t_report
    assert sent(m.poll(t)) == ["9300"]
    for i in range(2):
        t += m.cfg.t_fault
        effs = m.poll(t)
        assert sent(effs) == ["9320"] and effs[1][3] == "表3.3.2-1 #2", effs
    t += m.cfg.t_fault
    effs = m.poll(t)
    assert kinds(effs) == ["time_over", "give_up", "terminal_error", "investigate"] and not m.routes
    assert m.next_deadline() is None


def test_time_over_row3_cancel_gets_cancel_re_command():
    m = online()
    m.send(0, request(), "T")
    m.receive(1, report())
    effs = m.terminal_failed(2, report(), "T")
    assert sent(effs) == ["9100"]
    effs = m.poll(2 + m.cfg.t_fault)
    assert kinds(effs) == ["time_over", "send"] and sent(effs) == ["9120"] and effs[1][3] == "表3.3.2-1 #3"
    effs = m.poll(2 + 2 * m.cfg.t_fault)
    assert sent(effs) == ["9120"]


def test_1e_total_fault_ends_pending_transactions_and_holds_the_follow_up():
    m = online()
    m.send(0, request(), "T")
    effs = m.peer_down(1)
    assert kinds(effs) == ["fault", "terminal_error", "abandon", "hold"], effs
    assert effs[1][2] == "CAF33" and effs[1][4] == "T" and effs[1][3].startswith("3.3.2(1)(e)")
    assert mtype(effs[3][2]) == "9300" and not m.routes and len(m.held) == 1
    assert m.poll(1000) == [] and m.next_deadline() is None
    effs = m.peer_up(1001)
    assert kinds(effs) == ["online", "send"] and sent(effs) == ["9300"] and m.routes[b"0100"].kind == "cancel_confirm"
    assert m.next_deadline() == 1001 + m.cfg.t_fault


def test_time_over_while_not_online_holds_the_follow_up():
    m = online()
    m.send(0, request(), "T")
    m.receive(1, tg("7000", "0001"))                 # a restart: starting, the request is kept
    effs = m.poll(m.cfg.t_report)
    assert kinds(effs) == ["time_over", "hold"] and not m.routes and len(m.held) == 1
    effs = m.receive(m.cfg.t_report + 1, tg("7030", "0001"))
    assert sent(effs) == ["7031", "9300"] and m.routes[b"0100"].kind == "cancel_confirm"


def test_2d_undeliverable_report_sends_cancel_command():
    m = online()
    m.send(0, request(), "T")
    rep = report()
    m.receive(1, rep)
    effs = m.terminal_failed(2, rep, "T")
    e = one(effs, "send")
    assert mtype(e[2]) == "9100" and e[1] == b"0100" and e[3] == "3.3.2(2)(d)"
    assert e[2][15:21] == b"000555" and e[2][:43] == rep[:43]        # CAFIS処理通番 of the report
    assert kinds(m.terminal_failed(3, tg("9310", "0100"))) == ["error"]


def test_control_requests_resend_then_give_up():
    m = online({"max_retries": 1})
    assert sent(m.send(0, tg("9210", "0000"))) == ["9210"]
    assert kinds(m.send(0, tg("7020", "0000"))) == ["error"]         # one at a time
    effs = m.poll(m.cfg.t_control)
    assert kinds(effs) == ["time_over", "send"]
    effs = m.poll(2 * m.cfg.t_control)
    assert kinds(effs) == ["time_over", "give_up", "fault"] and m.mode == m.CAFIS_FAULT
    m2 = online()
    m2.send(0, tg("9210", "0000"))
    assert kinds(m2.receive(1, tg("9211", "0000"))) == ["deliver"] and m2.control is None


def test_config_is_validated():
    raises(ValueError, engine.Config, {"t_reprot": 3})
    raises(ValueError, engine.Config, {"t_report": -1})
    raises(ValueError, engine.Config, {"ready": 1})
    raises(ValueError, engine.Config, {"initial": "up"})
    c = engine.Config({"t_report": 2.5, "loopback": ["0100"]})
    assert c.t_report == 2.5 and c.loopback == (100,)
    # wrong types anywhere are refused at once, naming the key (they used to fail later), in
    # the words of the unit's config (core/schema.py: one validator for both)
    for bad in ({"reject_codes": [1, 2]}, {"reject_codes": ["R01", "R02", "R03", 4]}, {"routes": [100]},
                {"routes": ["0100-0090"]}, {"routes": []}, {"loopback": ["abc"]}, {"loopback": [True]},
                {"max_held": 0}, {"max_dest": 2.5}, {"t_report": float("inf")}, {"t_fault": float("nan")},
                {"ready": "yes"}, {"initial": 1}):
        key = list(bad)[0]
        e = raises(ValueError, engine.Config, bad)
        assert str(e).split(" ")[0] == key + ":" and " must " in str(e), (bad, str(e))
    assert str(raises(ValueError, engine.Config, {"t_fault": float("nan")})).endswith("got nan")
    assert str(raises(ValueError, engine.Config, {"loopback": [True]})) == (
        'loopback: entry 0 must be a message type ("0100" or 0..9999), got true')
    assert str(raises(ValueError, engine.Config, {"reject_codes": ["R01"]})) == (
        "reject_codes: must hold at least 4 entries, got 1")
    e = raises(ValueError, engine.Config, {"t_reprot": 3})
    assert str(e).startswith("t_reprot: unknown option (known: t_report"), str(e)
    for bad, words in (([1, 2], "got [1, 2]"), ("online", 'got "online"'), (5, "got 5")):
        assert words in str(raises(ValueError, engine.Config, bad)), bad


def test_config_takes_named_options():
    c = engine.Config(t_report=5, initial="online", reject_codes=("X01", "X02", "X03", "X04"))
    assert c.t_report == 5 and c.initial == "online" and c.reject_codes == ("X01", "X02", "X03", "X04")
    assert c.t_fault == 30 and c.routes == ("0100-0131",)            # the defaults stay
    assert engine.Config({"t_report": 5}, t_fault=7).t_fault == 7
    raises(ValueError, engine.Config, t_reprot=5)
    m = engine.Member(engine.Config(initial="online", max_held=1))
    assert m.mode == m.ONLINE and m.held.limit == 1
