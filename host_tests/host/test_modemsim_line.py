"""Calls on the virtual line: a scripted DTE sending and receiving through simulated modems,
the built-in remote fax machine, page data integrity and the real-modem switches."""
import time

import pytest
from modemsim_helpers import (Dte, fast_line, g3_of_pbm, make_pbm, pbm_of_g3, pbm_rows, send_page_flow,
                              wire_of_pbm)

from modemsim import ModemConfig
from modemsim.bits import DC1, DC2, RTC, XOFF, XON, EolScanner, reverse_bits


@pytest.fixture
def env(tmp_path):
    made = []

    def make(config=None, remote=True, **line_kw):
        line = fast_line(tmp_path, **line_kw).start()
        m = line.add_modem("100", config=config)
        r = line.add_remote("200", out_dir=str(tmp_path / "rx")) if remote else None
        d = Dte(m.path)
        made.append((line, d))
        d.cmd("ATE0")
        assert d.cmd("AT+FCLASS=2;+FCR=1") == ["OK"]
        return line, m, r, d
    yield make
    for line, d in made:
        d.close()
        line.stop()


def pages(tmp_path, *rows):
    return [make_pbm(str(tmp_path / ("p%d.pbm" % k)), rows=n, seed=k) for k, n in enumerate(rows, 1)]


def send_pages(d, wires, last_ppm=2):
    """Drive +FDT/+FET for each page; returns the +FET responses."""
    out = []
    for k, wire in enumerate(wires):
        assert d.cmd("AT+FDT")[-1] == "CONNECT"
        d.send_page(wire)
        assert d.responses() == ["OK"]
        out.append(d.cmd("AT+FET=%d" % (last_ppm if k == len(wires) - 1 else 0)))
    return out


def receive_pages(d, trigger=DC2):
    """Drive +FDR after the call is up; returns (pages' data, all responses)."""
    got, log = [], []
    while True:
        resp = d.cmd("AT+FDR")
        log.append(resp)
        if resp[-1] != "CONNECT":
            return got, log
        d.write(bytes((trigger,)))
        got.append(d.read_page())
        log.append(d.responses())


def same_pixels(pbm, g3_path, tmp_path):
    out = pbm_of_g3(g3_path, str(tmp_path / "check.pbm"))
    return pbm_rows(out)[2] == pbm_rows(pbm)[2]


def test_modem_sends_two_pages_to_the_remote_machine_which_keeps_them_as_g3(env, tmp_path):
    line, m, r, d = env()
    src = pages(tmp_path, 60, 45)
    assert d.cmd('AT+FLID="unit 100"') == ["OK"]
    assert d.cmd("ATD200") == ["+FCON", "+FCSI:+1 555 0100", "+FDIS:1,5,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FDT") == ["+FDCS:1,5,0,2,0,0,0,0", "CONNECT"]
    d.send_page(wire_of_pbm(src[0]))
    assert d.responses() == ["OK"]
    assert d.cmd("AT+FET=0") == ["+FPTS:1", "OK"]
    assert d.cmd("AT+FDT") == ["CONNECT"]                     # no new phase B for the next page
    d.send_page(wire_of_pbm(src[1]))
    assert d.responses() == ["OK"]
    assert d.cmd("AT+FET=2") == ["+FPTS:1", "+FHNG:0", "OK"]
    recs = r.wait_pages(2, 5)
    assert [(x["page"], x["lines"], x["bad_lines"], x["rtc"], x["ppr"]) for x in recs] == \
        [(1, 60, 0, True, 1), (2, 45, 0, True, 1)]
    for pbm, rec in zip(src, recs):
        assert same_pixels(pbm, rec["path"], tmp_path)
        with open(rec["path"], "rb") as f:       # stored MSB-first: exactly pbmtog3's bytes
            assert f.read().startswith(g3_of_pbm(pbm)[:-4])
    assert d.cmd("AT+FAXERR?") == ["0", "OK"]
    call = line.calls[0].summary()
    assert call["hangups"] == {"100": 0} and call["state"] == "ended"
    assert 'DLE ETX from DTE' in m.transcript and "DTE->DCE DATA[" in m.transcript


def test_page_leaves_at_the_line_rate(env, tmp_path):
    line, m, r, d = env(speedup=4.0)
    wire = wire_of_pbm(pages(tmp_path, 100)[0])
    d.cmd("ATD200")
    assert d.cmd("AT+FDIS?") == ["1,5,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    d.wait_byte(XON)
    t0 = time.monotonic()
    d.send_page(wire)
    assert d.responses() == ["OK"]
    took = time.monotonic() - t0
    need = len(wire) / (14400 / 8.0 * 4.0)
    assert took >= 0.8 * need, (took, need)
    assert "<XOFF>" in m.transcript and "<XON>" in m.transcript


def test_xon_flow_at_speedup_2_never_gives_a_spurious_underflow(tmp_path):
    """A DTE that honours XOFF sends two-page faxes, three calls in a row, at speed-up 2.

    A chunk on its way when the modem says XOFF overfills its buffer, so draining to the XON
    level can take longer than the underflow timeout: that timer must not run while the
    modem itself holds XOFF (it used to end the call with +FHNG:43 and never send XON)."""
    timeouts = dict(fast_line().timeouts, dte_data=1.0)
    line = fast_line(tmp_path, speedup=2.0, timeouts=timeouts).start()
    try:
        m = line.add_modem("100")
        r = line.add_remote("200", out_dir=str(tmp_path / "rx"))
        wires = [wire_of_pbm(p) for p in pages(tmp_path, 300, 300)]   # ~18 kB each
        d = Dte(m.path)
        try:
            d.cmd("ATE0")
            assert d.cmd("AT+FCLASS=2;+FCR=1") == ["OK"]
            for call in range(3):
                r.wait_pages(2 * call, 10)
                time.sleep(0.3)                 # the remote machine hangs up after our DCN
                assert d.cmd("ATD200")[-1] == "OK"
                for k, wire in enumerate(wires):
                    assert d.cmd("AT+FDT")[-1] == "CONNECT"
                    send_page_flow(d, wire, chunk=4096)
                    assert d.responses(timeout=20) == ["OK"], (call, k, m.transcript[-3000:])
                    last = k == len(wires) - 1
                    want = ["+FPTS:1", "+FHNG:0", "OK"] if last else ["+FPTS:1", "OK"]
                    assert d.cmd("AT+FET=%d" % (2 if last else 0)) == want, (call, k)
            assert len(r.wait_pages(6, 10)) == 6
        finally:
            d.close()
        assert "+FHNG:43" not in m.transcript
        assert "<XOFF>" in m.transcript         # the flow control was exercised
    finally:
        line.stop()


def test_remote_machine_calls_the_modem_which_receives_msb_first(env, tmp_path):
    line, m, r, d = env()
    src = pages(tmp_path, 50, 30)
    job = r.send_fax("100", src)
    assert d.read_line() == "RING"
    assert d.cmd("ATA") == ["+FCON", "+FTSI:+1 555 0100", "+FDCS:1,5,0,2,0,0,0,0", "OK"]
    got, log = receive_pages(d)
    assert log[0] == ["+FCFR", "CONNECT"]
    assert log[1] == ["+FPTS:1,50", "+FET:0", "OK"]
    assert log[3] == ["+FPTS:1,30", "+FET:2", "OK"]
    assert log[4] == ["+FHNG:0", "OK"]
    assert job.wait(10) == "OK" and job.pprs == [1, 1]
    for k, (pbm, data) in enumerate(zip(src, got)):
        assert data.startswith(g3_of_pbm(pbm)[:-4])            # MSB-first: pbmtog3's own bytes
        path = str(tmp_path / ("in%d.g3" % k))
        with open(path, "wb") as f:
            f.write(data)
        assert same_pixels(pbm, path, tmp_path)
    sc = EolScanner()
    sc.feed(reverse_bits(got[0]))
    assert sc.rtc and sc.after_rtc >= 2                       # efax needs bytes after RTC


@pytest.mark.parametrize("mode,fbor,msb", [("lsb", 0, False), ("fbor", 0, False), ("fbor", 1, True),
                                           ("msb", 0, True)])
def test_receive_bit_order_switch(env, tmp_path, mode, fbor, msb):
    line, m, r, d = env(config=ModemConfig(rx_bit_order=mode))
    assert d.cmd("AT+FBOR=%d" % fbor) == ["OK"]
    pbm = pages(tmp_path, 20)[0]
    job = r.send_fax("100", [pbm])
    d.read_line()
    d.cmd("ATA")
    got, _ = receive_pages(d)
    g3 = g3_of_pbm(pbm)[:-4]
    assert got[0].startswith(g3 if msb else reverse_bits(g3))
    assert job.wait(10) == "OK"


def test_dc1_trigger_switch_ignores_dc2(env, tmp_path):
    line, m, r, d = env(config=ModemConfig(rx_trigger="dc1"))
    r.send_fax("100", pages(tmp_path, 20))
    d.read_line()
    d.cmd("ATA")
    assert d.cmd("AT+FDR") == ["+FCFR", "CONNECT"]
    d.write(bytes((DC2,)))
    time.sleep(0.3)
    d._fill(0.1)
    assert not d.buf, "data flowed after DC2 although only DC1 starts reception"
    d.write(bytes((DC1,)))
    assert len(d.read_page()) > 100


def test_no_xon_after_connect_switch(env, tmp_path):
    for xon in (True, False):
        line, m, r, d = env(config=ModemConfig(xon_after_connect=xon))
        d.cmd("ATD200")
        assert d.cmd("AT+FDT")[-1] == "CONNECT"
        time.sleep(0.2)
        d._fill(0.05)
        assert (bytes((XON,)) in d.buf) == xon
        d.buf.clear()
        d.send_page(wire_of_pbm(pages(tmp_path, 10)[0]))
        assert d.responses() == ["OK"]
        d.cmd("ATH")
        line.stop()


def test_rtc_is_appended_when_the_dte_sends_none_unless_switched_off(env, tmp_path):
    wire = wire_of_pbm(pages(tmp_path, 25)[0])
    k = wire.rfind(RTC[:4])
    bare = wire[:k]
    for append in (True, False):
        line, m, r, d = env(config=ModemConfig(append_rtc=append))
        d.cmd("ATD200")
        send_pages(d, [bare])
        rec = r.wait_pages(1, 5)[0]
        assert rec["rtc"] is append and rec["lines"] == 25
        assert ("append RTC" in m.transcript) is append
        line.stop()


def test_fhng0_without_fpts_on_the_last_page_switch(env, tmp_path):
    line, m, r, d = env(config=ModemConfig(fpts_on_last=False))
    d.cmd("ATD200")
    assert send_pages(d, [wire_of_pbm(pages(tmp_path, 10)[0])]) == [["+FHNG:0", "OK"]]


def test_ok_instead_of_connect_switch(env, tmp_path):
    line, m, r, d = env(config=ModemConfig(fdt_ok_first=1))
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["+FDCS:1,5,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FDT") == ["CONNECT"]
    d.send_page(wire_of_pbm(pages(tmp_path, 10)[0]))
    assert d.responses() == ["OK"]


def test_dte_sends_msb_first_with_fbor_1(env, tmp_path):
    line, m, r, d = env()
    pbm = pages(tmp_path, 15)[0]
    assert d.cmd("AT+FBOR=1") == ["OK"]
    d.cmd("ATD200")
    send_pages(d, [g3_of_pbm(pbm)])
    assert same_pixels(pbm, r.wait_pages(1, 5)[0]["path"], tmp_path)


def test_modem_to_modem_with_auto_answer_and_two_pages(tmp_path):
    line = fast_line(tmp_path).start()
    try:
        a, b = line.add_modem("100"), line.add_modem("101")
        da, db = Dte(a.path), Dte(b.path)
        for d in (da, db):
            d.cmd("ATE0")
            assert d.cmd("AT+FCLASS=2;+FCR=1") == ["OK"]
        assert db.cmd("ATS0=2") == ["OK"]
        assert db.cmd('AT+FLID="B"') == ["OK"]
        assert da.cmd('AT+FLID="A"') == ["OK"]
        assert db.cmd("AT+FDIS=0,3") == ["OK"]                # B offers 98 dpi, 9600 bit/s
        src = pages(tmp_path, 30, 20)
        da.write(b"ATD101\r")
        assert db.read_line() == "RING" and db.read_line() == "RING"
        assert da.responses() == ["+FCON", "+FCSI:B", "+FDIS:0,3,0,2,0,0,0,0", "OK"]
        got = []

        def receiver():        # B's ATA completes when A's +FDT sends the DCS
            got.append(db.responses())
            got.append(receive_pages(db))
        import threading
        t = threading.Thread(target=receiver)
        t.start()
        fets = send_pages(da, [wire_of_pbm(p) for p in src])
        t.join(20)
        assert fets == [["+FPTS:1", "OK"], ["+FPTS:1", "+FHNG:0", "OK"]]
        assert got[0] == ["+FCON", "+FTSI:A", "+FDCS:0,3,0,2,0,0,0,0", "OK"]
        data, log = got[1]
        assert log[-1] == ["+FHNG:0", "OK"]
        for pbm, page in zip(src, data):
            assert page.startswith(g3_of_pbm(pbm)[:-4])
        da.close()
        db.close()
    finally:
        line.stop()


def test_ata_before_the_call_waits_for_the_caller(env, tmp_path):
    line, m, r, d = env()
    d.write(b"ATA\r")
    time.sleep(0.2)
    job = r.send_fax("100", pages(tmp_path, 10))
    assert d.responses() == ["+FCON", "+FTSI:+1 555 0100", "+FDCS:1,5,0,2,0,0,0,0", "OK"]
    receive_pages(d)
    assert job.wait(10) == "OK"


def test_ata_with_nobody_calling_gives_no_carrier(env, tmp_path):
    line, m, r, d = env(timeouts={"answer": 0.3})
    assert d.cmd("ATA") == ["NO CARRIER"]


def test_receiving_modem_without_fcr_makes_the_sender_fail_with_21(tmp_path):
    line = fast_line(tmp_path).start()
    try:
        a, b = line.add_modem("100"), line.add_modem("101")
        da, db = Dte(a.path), Dte(b.path)
        da.cmd("ATE0")
        db.cmd("ATE0")
        da.cmd("AT+FCLASS=2")
        db.cmd("AT+FCLASS=2;S0=1")                            # +FCR stays 0
        assert da.cmd("ATD101")[-1] == "OK"
        assert da.cmd("AT+FDT") == ["+FHNG:21", "OK"]
        da.close()
        db.close()
    finally:
        line.stop()


def test_dte_xoff_pauses_page_data(env, tmp_path):
    line, m, r, d = env(speedup=10.0)
    r.send_fax("100", pages(tmp_path, 80))
    d.read_line()
    d.cmd("ATA")
    assert d.cmd("AT+FDR")[-1] == "CONNECT"
    d.write(bytes((XOFF, DC2)))
    time.sleep(0.5)
    d._fill(0.05)
    assert not d.buf, "data flowed while the DTE held XOFF"
    d.write(bytes((XON,)))
    assert len(d.read_page()) > 1000
