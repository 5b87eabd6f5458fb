"""3.3.3: the destination center's checks answered with ××拒否報告 on the request's route, and
the hold-and-resend of reports when CAFIS is in fault or the send fails."""
from faxbridge.core.cafis import dest, engine, registry
from cafis_helpers import example_dict
from cafis_session_helpers import tg, kinds, of, one, sent, mtype


def online(hooks=None, cfg=None):
    c = {"initial": "online"}
    c.update(cfg or {})
    return engine.Member(c, hooks=hooks)


def req(mt="0100", route="0200", **kw):
    f = dict(org_co="ACQ0001", org_sub="1200", dst_co="ISS0002", dst_sub="0000", cafis_seq="000042")
    f.update(kw)
    return tg(mt, route, b"CARD1234", **f)


def _rejected(effs, t, code, rule, rt):
    e = one(effs, "send")
    rep = e[2]
    assert e[1] == t[0:4] and rep[0:4] == t[0:4], effs                 # 3.3.3(2)(a) same route
    assert mtype(rep) == rt and rep[63:] == code.encode() and rep[60:63] == b"003", rep
    assert rep[4:43] == t[4:43] and rep[47:60] == t[47:60]               # header echoed
    assert e[3].startswith(rule), e


def test_a_originating_company_not_served():
    m = online(dest.Hooks(origin_served=lambda t: False))
    t = req()
    _rejected(m.receive(0, t), t, "R01", "3.3.3(1)(a)", "0120")
    assert not m.dest


def test_b_business_not_served():
    m = online(dest.Hooks(business_served=lambda t: t[43:47] == b"0100"))
    t = req("0200")
    _rejected(m.receive(0, t), t, "R02", "3.3.3(1)(b)", "0220")
    t = req("0400", route="0201")
    _rejected(m.receive(0, t), t, "R02", "3.3.3(1)(b)", "0420")
    assert kinds(m.receive(0, req("0100", route="0202"))) == ["deliver"]


def test_c_pin_check():
    m = online(dest.Hooks(pin=lambda t: None if t[63:67] != b"CARD" else t[67:71] == b"0000"))
    t = req()
    _rejected(m.receive(0, t), t, "R03", "3.3.3(1)(c)", "0120")
    m2 = online(dest.Hooks(pin=lambda t: None))                           # no PIN check needed
    assert kinds(m2.receive(0, req())) == ["deliver"]


def test_d_other_business_checks_hook():
    m = online(dest.Hooks(business=lambda t: "X42"))
    t = req()
    _rejected(m.receive(0, t), t, "X42", "3.3.3(1)(d)", "0120")
    m = online(dest.Hooks(business=lambda t: True))
    _rejected(m.receive(0, t), t, "R04", "3.3.3(1)(d)", "0120")
    m = online(dest.Hooks(business=lambda t: None))
    assert kinds(m.receive(0, t)) == ["deliver"]


def test_checks_run_in_seed_order():
    no = lambda t: False       # noqa: E731
    m = online(dest.Hooks(origin_served=no, business_served=no, pin=no, business=lambda t: "X"))
    t = req()
    _rejected(m.receive(0, t), t, "R01", "3.3.3(1)(a)", "0120")
    m = online(dest.Hooks(business_served=no, pin=no))
    _rejected(m.receive(0, t), t, "R02", "3.3.3(1)(b)", "0120")


def test_registry_hooks():
    reg = registry.load(example_dict())
    m = engine.Member({"initial": "online"}, reg, "C")          # C serves 0100 only
    t = req("0100", route="0200", org_co="NOBODY1")
    _rejected(m.receive(0, t), t, "R01", "3.3.3(1)(a)", "0120")
    t = req("0200", route="0200")
    _rejected(m.receive(0, t), t, "R02", "3.3.3(1)(b)", "0220")
    assert kinds(m.receive(0, req("0100", route="0200"))) == ["deliver"]
    m2 = engine.Member({"initial": "online"}, reg, "A")         # A serves nothing as destination
    t = req("0100", route="0200")
    _rejected(m2.receive(0, t), t, "R02", "3.3.3(1)(b)", "0120")


def test_report_goes_back_on_the_request_route():
    m = online()
    t = req()
    assert kinds(m.receive(0, t)) == ["deliver"] and m.dest[b"0200"] == t[:63]
    effs = m.reply(1, b"0200", b"0110", b"APPROVED")
    e = one(effs, "send")
    assert e[1] == b"0200" and mtype(e[2]) == "0110" and e[2][63:] == b"APPROVED" and e[2][60:63] == b"008"
    assert e[2][4:43] == t[4:43] and not m.dest
    assert one(m.reply(2, b"0200", b"0110"), "error")[3] == "3.3.3(2)(a)"       # no request there now
    m.receive(3, req(route="0201"))
    assert one(m.send(4, tg("0210", "0201")), "error")[2] == "does not answer the request"
    assert one(m.send(4, tg("0110", "0202")), "error")[2] == "no request on this route"


def test_cafis_fault_holds_reports_until_the_peer_is_back():
    m = online()
    m.receive(0, req(route="0200"))
    m.receive(0, req(route="0201"))
    m.peer_down(1)
    effs = m.reply(2, b"0200", b"0110", b"OK")
    assert kinds(effs) == ["hold"] and effs[0][3].startswith("3.3.3(2)(b)")
    m.reply(3, b"0201", b"0120", b"R04")
    assert m.poll(1000) == [] and len(m.held) == 2
    effs = m.peer_up(1001)
    assert kinds(effs) == ["online", "send", "send"] and sent(effs) == ["0110", "0120"]
    assert [e[1] for e in of(effs, "send")] == [b"0200", b"0201"] and len(m.held) == 0


def test_failed_send_holds_and_resends():
    m = online()
    m.receive(0, req())
    rep = one(m.reply(1, b"0200", b"0110", b"OK"), "send")[2]
    effs = m.send_failed(2, rep)
    assert kinds(effs) == ["hold"] and effs[0][3] == "3.3.3(2)(c)"
    assert m.next_deadline() == 2 + m.cfg.t_resend
    assert m.poll(2 + m.cfg.t_resend - 1) == []
    effs = m.poll(2 + m.cfg.t_resend)
    assert sent(effs) == ["0110"] and effs[0][2] == rep and len(m.held) == 0
    assert kinds(m.send_failed(20, rep)) == ["hold"]                     # and again, as often as needed
    m.peer_down(21)
    assert m.poll(1000) == []                                           # not while CAFIS is in fault
    assert sent(m.peer_up(1001)) == ["0110"]


def test_reports_while_stopped_wait_for_the_start():
    m = online()
    m.receive(0, req())
    m.receive(1, tg("0730", "0001"))                    # ③ ii: stop
    assert m.mode == m.STOPPED
    assert kinds(m.reply(2, b"0200", b"0110", b"OK")) == ["hold"]
    assert sent(m.receive(3, tg("7000", "0001"))) == ["7001"]
    effs = m.receive(4, tg("7030", "0001"))
    assert sent(effs) == ["7031", "0110"]


def test_reject_when_cafis_goes_down_is_held_too():
    m = online(dest.Hooks(origin_served=lambda t: False))
    t = req()
    rep = one(m.receive(0, t), "send")[2]
    assert kinds(m.send_failed(1, rep)) == ["hold"]
    assert sent(m.poll(1 + m.cfg.t_resend)) == ["0120"]


def test_destination_cancel_commands_are_delivered_and_answered():
    m = online()
    t = tg("9100", "0200", cafis_seq="000042")
    assert kinds(m.receive(0, t)) == ["deliver"]
    assert sent(m.reply(1, b"0200", b"9110")) == ["9110"]


def test_hold_queue_is_bounded():
    m = online(cfg={"max_held": 2})
    for i in range(3):
        m.receive(0, req(route="02%02d" % i))
    m.peer_down(1)
    for i in range(2):
        assert kinds(m.reply(2, b"02%02d" % i, b"0110")) == ["hold"]
    effs = m.reply(3, b"0202", b"0110")
    assert kinds(effs) == ["hold", "drop"] and of(effs, "drop")[0][1] == b"0200"
    assert len(m.held) == 2


def test_open_destination_requests_are_bounded():
    m = online(cfg={"max_dest": 1})
    assert kinds(m.receive(0, req(route="0200"))) == ["deliver"]
    assert kinds(m.receive(0, req(route="0201"))) == ["discard"]
    assert kinds(m.receive(0, req(route="0200"))) == ["deliver"]       # the same route again is fine
