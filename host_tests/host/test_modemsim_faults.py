"""Fault injection: dial results, Table 5-5 hang-up codes at their phases, bad pages,
line drops, noise, a modem that stops answering, XOFF held too long."""
import time

import pytest
from modemsim_helpers import Dte, fast_line, make_pbm, wire_of_pbm

from modemsim import Faults
from modemsim.bits import DC2, XOFF, XON


@pytest.fixture
def env(tmp_path):
    made = []

    def make(faults=None, modem_faults=None, **line_kw):
        line = fast_line(tmp_path, **line_kw).start()
        m = line.add_modem("100", faults=modem_faults)
        r = line.add_remote("200", out_dir=str(tmp_path / "rx"), faults=faults)
        d = Dte(m.path)
        made.append((line, d))
        d.cmd("ATE0")
        assert d.cmd("AT+FCLASS=2;+FCR=1") == ["OK"]
        return line, m, r, d
    yield make
    for line, d in made:
        d.close()
        line.stop()


def wire(tmp_path, rows=40, seed=1):
    return wire_of_pbm(make_pbm(str(tmp_path / ("f%d.pbm" % seed)), rows=rows, seed=seed))


def send_one(d, data, ppm=2):
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    d.send_page(data)
    return d.responses(), d.cmd("AT+FET=%d" % ppm)


@pytest.mark.parametrize("spec,result", [("busy", "BUSY"), ("no_answer", "NO ANSWER"), ("no_carrier", "NO CARRIER"),
                                         ("voice", "VOICE"), ("no_dialtone", "NO DIALTONE")])
def test_dial_results(env, spec, result):
    line, m, r, d = env(faults=spec)
    assert d.cmd("ATD200") == [result]
    assert line.calls[0].result == result
    assert d.cmd("AT") == ["OK"]                      # back in command state, on-hook


def test_unknown_number_own_number_and_a_modem_in_a_call(env, tmp_path):
    line, m, r, d = env()
    assert d.cmd("ATD999") == ["NO CARRIER"]
    assert d.cmd("ATD100") == ["BUSY"]
    job = r.send_fax("100", [make_pbm(str(tmp_path / "x.pbm"), rows=10)])
    assert d.read_line() == "RING"
    other = line.add_remote("300")
    assert other.send_fax("100", [make_pbm(str(tmp_path / "y.pbm"), rows=10)]).wait(5) == "BUSY"
    d.cmd("ATH")
    job.wait(10)


def test_per_call_fault_applies_once(env, tmp_path):
    line, m, r, d = env()
    line.fault_next_call("200", Faults.parse("busy"))
    assert d.cmd("ATD200") == ["BUSY"]
    assert d.cmd("ATD200")[-1] == "OK"
    d.cmd("ATH")


@pytest.mark.parametrize("code", [1, 3, 11])
def test_hangup_at_dial(env, code):
    line, m, r, d = env(faults="hangup=%d" % code)
    assert d.cmd("ATD200") == ["+FHNG:%d" % code, "OK"]
    assert d.cmd("AT+FAXERR?") == [str(code), "OK"]


@pytest.mark.parametrize("code", [23, 25, 27])
def test_hangup_in_transmit_phase_b(env, code):
    line, m, r, d = env(faults="hangup=%d" % code)
    assert d.cmd("ATD200")[-1] == "OK"
    assert d.cmd("AT+FDT") == ["+FHNG:%d" % code, "OK"]
    assert d.cmd("AT+FDT") == ["ERROR"]               # the call is over


@pytest.mark.parametrize("code", [40, 43])
def test_hangup_in_transmit_phase_c(env, tmp_path, code):
    line, m, r, d = env(faults="hangup=%d" % code)
    d.cmd("ATD200")
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    d.send_page(wire(tmp_path))
    assert d.responses() == ["+FHNG:%d" % code, "OK"]


@pytest.mark.parametrize("code,ppm", [(52, 0), (54, 2), (56, 1)])
def test_hangup_in_transmit_phase_d(env, tmp_path, code, ppm):
    line, m, r, d = env(faults="hangup=%d" % code)
    d.cmd("ATD200")
    ok, fet = send_one(d, wire(tmp_path), ppm)
    assert ok == ["OK"] and fet == ["+FHNG:%d" % code, "OK"]


def receive_call(env, tmp_path, spec, rows=60, modem_faults=None):
    line, m, r, d = env(faults=spec, modem_faults=modem_faults)
    job = r.send_fax("100", [make_pbm(str(tmp_path / "rx.pbm"), rows=rows)])
    assert d.read_line() == "RING"
    return line, m, r, d, job


def test_hangup_1_when_answering(env, tmp_path):
    line, m, r, d, job = receive_call(env, tmp_path, "hangup=1")
    assert d.cmd("ATA") == ["+FHNG:1", "OK"]
    assert job.wait(5).startswith("FAILED")


@pytest.mark.parametrize("code", [70, 73])
def test_hangup_in_receive_phase_b(env, tmp_path, code):
    line, m, r, d, job = receive_call(env, tmp_path, "hangup=%d" % code)
    assert d.cmd("ATA")[-1] == "OK"
    assert d.cmd("AT+FDR") == ["+FHNG:%d" % code, "OK"]


@pytest.mark.parametrize("code", [91, 93])
def test_hangup_in_receive_phase_c(env, tmp_path, code):
    line, m, r, d, job = receive_call(env, tmp_path, "hangup=%d" % code)
    d.cmd("ATA")
    assert d.cmd("AT+FDR")[-1] == "CONNECT"
    d.write(bytes((DC2,)))
    data = d.read_page()
    assert 900 <= len(data) <= 1100                   # cut after 1000 bytes
    assert d.responses() == ["+FHNG:%d" % code, "OK"]


@pytest.mark.parametrize("code", [100, 102])
def test_hangup_in_receive_phase_d(env, tmp_path, code):
    line, m, r, d, job = receive_call(env, tmp_path, "hangup=%d" % code)
    d.cmd("ATA")
    d.cmd("AT+FDR")
    d.write(bytes((DC2,)))
    d.read_page()
    assert d.responses() == ["+FHNG:%d" % code, "OK"]


def test_bad_page_rtn_then_good_retransmission(env, tmp_path):
    line, m, r, d = env(faults="ppr=2@1/1")
    d.cmd("ATD200")
    page = wire(tmp_path)
    assert send_one(d, page)[1] == ["+FPTS:2", "OK"]        # RTN: the DTE may send the page again
    assert d.cmd("AT+FDT") == ["+FDCS:1,5,0,2,0,0,0,0", "CONNECT"]    # retrain: new DCS
    d.send_page(page)
    assert d.responses() == ["OK"]
    assert d.cmd("AT+FET=2") == ["+FPTS:1", "+FHNG:0", "OK"]
    assert [x["ppr"] for x in r.received] == [2, 1]


def test_rtp_reported_to_the_sender(env, tmp_path):
    line, m, r, d = env(faults="ppr=3")
    d.cmd("ATD200")
    assert send_one(d, wire(tmp_path))[1] == ["+FPTS:3", "+FHNG:0", "OK"]


def test_receiving_modem_reports_a_bad_page_and_the_dte_can_override(env, tmp_path):
    line, m, r, d, job = receive_call(env, tmp_path, None, modem_faults="ppr=2@1")
    d.cmd("ATA")
    d.cmd("AT+FDR")
    d.write(bytes((DC2,)))
    d.read_page()
    assert d.responses() == ["+FPTS:2,60", "+FET:2", "OK"]
    assert d.cmd("AT+FPTS=1") == ["OK"]                     # the DTE accepts the page anyway
    assert d.cmd("AT+FDR") == ["+FHNG:0", "OK"]
    assert job.wait(5) == "OK" and job.pprs == [1]


def test_line_drop_mid_page_while_sending(env, tmp_path):
    line, m, r, d = env(faults="drop=1500@1")
    d.cmd("ATD200")
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    d.wait_byte(XON)
    d.send_page(wire(tmp_path, rows=100))
    assert d.responses() == ["+FHNG:40", "OK"]
    assert r.received == []
    assert line.calls[0].summary()["hangups"] == {"100": 40}


def test_line_drop_mid_page_while_receiving(env, tmp_path):
    line, m, r, d, job = receive_call(env, tmp_path, "drop=1200", rows=100)
    d.cmd("ATA")
    assert d.cmd("AT+FDR")[-1] == "CONNECT"
    d.write(bytes((DC2,)))
    assert len(d.read_page()) <= 1200
    assert d.responses() == ["+FHNG:90", "OK"]
    assert job.wait(5).startswith("FAILED")


def test_noise_before_fcon(env):
    line, m, r, d = env(faults="noise=12")
    d.write(b"ATD200\r")
    resp = d.responses()
    assert resp[1:] == ["+FCON", "+FCSI:+1 555 0100", "+FDIS:1,5,0,2,0,0,0,0", "OK"]
    assert len(resp[0].encode("latin-1")) == 12
    assert "fault: 12 noise bytes" in m.transcript


def test_page_noise_corrupts_the_page(env, tmp_path):
    line, m, r, d = env(faults="page_noise=40")
    d.cmd("ATD200")
    page = wire(tmp_path, rows=60)
    send_one(d, page)
    rec = r.wait_pages(1, 5)[0]
    assert rec["bytes"] == len(page) + 40
    assert rec["bad_lines"] > 0


def test_modem_stops_answering_at_a_command(env):
    line, m, r, d = env(modem_faults="dead=+FDT")
    assert d.cmd("ATD200")[-1] == "OK"
    d.write(b"AT+FDT\r")
    with pytest.raises(TimeoutError):
        d.read_line(timeout=0.5)
    d.write(b"AT\r")
    with pytest.raises(TimeoutError):
        d.read_line(timeout=0.3)
    assert m.state == "DEAD"


def test_modem_stops_answering_at_ata_only(env, tmp_path):
    line, m, r, d = env(modem_faults="dead=A")
    # the A of +FCLASS, +FAA and ATH is not ATA
    assert d.cmd("AT+FCLASS=2;+FAA=0") == ["OK"] and d.cmd("ATH") == ["OK"]
    job = r.send_fax("100", [make_pbm(str(tmp_path / "a.pbm"), rows=5)])
    assert d.read_line(timeout=5) == "RING"
    d.write(b"ATA\r")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            assert d.read_line(timeout=0.2) == "RING", "the dead modem answered"
        except TimeoutError:
            pass
    assert m.state == "DEAD"
    d.write(b"AT\r")
    with pytest.raises(TimeoutError):
        d.read_line(timeout=0.3)
    assert job.wait(10) == "NO ANSWER"


def test_modem_stops_answering_after_n_commands(env, tmp_path):
    line, m, r, d = env(modem_faults="dead=3")      # ATE0 and AT+FCLASS... were 1 and 2
    assert d.cmd("AT") == ["OK"]
    d.write(b"AT\r")
    with pytest.raises(TimeoutError):
        d.read_line(timeout=0.3)
    assert r.send_fax("100", [make_pbm(str(tmp_path / "z.pbm"), rows=5)]).wait(10) == "NO ANSWER"


def test_xoff_held_too_long(env, tmp_path):
    line, m, r, d = env(faults="xoff=0.8")
    d.cmd("ATD200")
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    t0 = time.monotonic()
    assert XOFF in d.read_bytes(1)
    d.wait_byte(XON, timeout=5)
    assert time.monotonic() - t0 >= 0.7
    d.send_page(wire(tmp_path))
    assert d.responses() == ["OK"]


def test_dte_silent_in_page_data_gives_43(env, tmp_path):
    line, m, r, d = env(timeouts={"dte_data": 0.5})
    d.cmd("ATD200")
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    d.write(wire(tmp_path)[:300])
    assert d.responses(timeout=5) == ["+FHNG:43", "OK"]


def test_other_end_hangs_up_between_pages(tmp_path):
    line = fast_line(tmp_path).start()
    try:
        a, b = line.add_modem("100"), line.add_modem("101")
        da, db = Dte(a.path), Dte(b.path)
        for d in (da, db):
            d.cmd("ATE0")
            d.cmd("AT+FCLASS=2;+FCR=1")
        db.cmd("ATS0=1")
        da.write(b"ATD101\r")
        assert da.responses()[-1] == "OK"
        da.write(b"AT+FDT\r")
        assert db.responses()[-1] == "OK"                 # B answered: +FCON ... OK
        assert da.responses()[-1] == "CONNECT"
        assert db.cmd("ATH") == ["OK"]                    # B's DTE hangs up
        da.send_page(wire(tmp_path))
        assert da.responses() == ["+FHNG:40", "OK"]
        da.close()
        db.close()
    finally:
        line.stop()


def test_dte_holding_xoff_too_long_in_receive_gives_93(env, tmp_path):
    line, m, r, d, job = receive_call(env, tmp_path, None, rows=100)
    line.timeouts["dte_data"] = 0.5
    d.cmd("ATA")
    assert d.cmd("AT+FDR")[-1] == "CONNECT"
    d.write(bytes((DC2,)))
    d.read_bytes(10)
    d.write(bytes((XOFF,)))
    d.read_page(timeout=5)
    assert d.responses() == ["+FHNG:93", "OK"]


def test_a_dte_that_dials_and_sends_a_late_lf_does_not_abort_the_call(env):
    line, m, r, d = env()
    d.write(b"ATD200\r")
    time.sleep(0.02)
    d.write(b"\n")
    assert d.responses()[-1] == "OK"
    assert d.cmd("AT+FDT")[-1] == "CONNECT"


def test_a_key_press_while_dialling_aborts_with_no_carrier(env):
    line, m, r, d = env(dial_delay=0.5)
    d.write(b"ATD200\r")
    time.sleep(0.1)
    d.write(b"x")
    assert d.responses() == ["NO CARRIER"]
    assert d.cmd("AT") == ["OK"]


def test_second_page_needs_fet_first(env, tmp_path):
    line, m, r, d = env()
    d.cmd("ATD200")
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    d.send_page(wire(tmp_path))
    assert d.responses() == ["OK"]
    assert d.cmd("AT+FDT") == ["ERROR"]
    assert d.cmd("AT+FET=2") == ["+FPTS:1", "+FHNG:0", "OK"]


def test_receiving_modem_refuses_a_page_and_the_remote_retrains_and_resends(env, tmp_path):
    line, m, r, d, job = receive_call(env, tmp_path, None, rows=30)
    d.cmd("ATA")
    assert d.cmd("AT+FDR") == ["+FCFR", "CONNECT"]
    d.write(bytes((DC2,)))
    first = d.read_page()
    assert d.responses() == ["+FPTS:1,30", "+FET:2", "OK"]
    assert d.cmd("AT+FPTS=2") == ["OK"]                # the DTE says RTN
    assert d.cmd("AT+FDR") == ["+FDCS:1,5,0,2,0,0,0,0", "CONNECT"]
    d.write(bytes((DC2,)))
    assert d.read_page() == first
    assert d.responses() == ["+FPTS:1,30", "+FET:2", "OK"]
    assert d.cmd("AT+FDR") == ["+FHNG:0", "OK"]
    assert job.wait(5) == "OK" and job.pprs == [2, 1]


def test_a_page_refused_every_time(env, tmp_path):
    line, m, r, d = env(faults="ppr=2@1")
    d.cmd("ATD200")
    page = wire(tmp_path)
    assert send_one(d, page)[1] == ["+FPTS:2", "OK"]
    assert send_one(d, page)[1] == ["+FPTS:2", "OK"]
    assert d.cmd("AT+FK") == ["+FHNG:2", "OK"]
    assert [x["ppr"] for x in r.received] == [2, 2]
