"""Class 2.0 (T.32) hang-up status: every row of the +FHS table (t32.FHS) injected at its
phase and reported in hex, the codes the simulator produces by itself, and the fault and
quirk switches working in the Class 2.0 personality as they do in Class 2."""
import time

import pytest
from modemsim_helpers import Dte, fast_line, make_pbm, wire_of_pbm

from modemsim import Faults, ModemConfig, params, t32
from modemsim.bits import DC2, DLE, XOFF, dle_stuff


@pytest.fixture
def env(tmp_path):
    made = []

    def make(faults=None, modem_faults=None, **cfg):
        line = fast_line(tmp_path).start()
        m = line.add_modem("100", faults=modem_faults, config=ModemConfig(fclass="2.0", **cfg))
        r = line.add_remote("200", out_dir=str(tmp_path / "rx"), faults=faults)
        d = Dte(m.path)
        made.append((line, d))
        d.cmd("ATE0")
        assert d.cmd("AT+FCLASS=2.0;+FCR=1") == ["OK"]
        return line, m, r, d
    yield make
    for line, d in made:
        d.close()
        line.stop()


def _page(tmp_path, rows=40):
    return wire_of_pbm(make_pbm(str(tmp_path / "f.pbm"), rows=rows, seed=5))


def _send(d, data, ppm=b"."):
    d.write(dle_stuff(data) + bytes((DLE,)) + ppm)
    return d.responses(timeout=20)


def _incoming(r, d, tmp_path, rows=60):
    job = r.send_fax("100", [make_pbm(str(tmp_path / "rx.pbm"), rows=rows)])
    assert d.read_line() == "RING"
    return job


# ---------------------------------------------------------------- the table itself

def test_fhs_table_rows_are_t32_hex_and_map_to_class2_codes():
    seen_hex, seen_code = set(), set()
    for hexcode, code, phase, meaning in t32.FHS:
        assert len(hexcode) == 2 and int(hexcode, 16) >= 0 and hexcode == hexcode.upper()
        assert hexcode not in seen_hex and code not in seen_code and meaning
        seen_hex.add(hexcode)
        seen_code.add(code)
        assert t32.fhs_text(code) == hexcode and t32.code_of_fhs(hexcode) == code
        assert Faults.parse("fhs=%s" % hexcode.lower()).hangup == code
        # the Class 2 phase of the same meaning is the same (4 and 5 are not in Table 5-5)
        if code not in (4, 5) and phase is not None:
            assert params.hangup_phase(code) == phase.replace("dial_now", "dial"), hexcode
    # T.32 renumbered receive phase D (100-103 -> A0-A3) and bad CRC (94 -> 92)
    assert t32.fhs_text(100) == "A0" and t32.fhs_text(103) == "A3" and t32.fhs_text(94) == "92"
    for bad in ("99", "A4", "FF", "zz", ""):
        with pytest.raises(ValueError):
            t32.code_of_fhs(bad)
    assert t32.code_of_fhs("0") == 0


INJECTED = [row for row in t32.FHS if row[2] is not None]


@pytest.mark.parametrize("hexcode,code,phase", [r[:3] for r in INJECTED], ids=[r[0] for r in INJECTED])
def test_every_fhs_code_is_reported_at_its_phase(env, tmp_path, hexcode, code, phase):
    want = ["+FHS:%s" % hexcode, "OK"]
    line, m, r, d = env(faults="fhs=%s" % hexcode)
    if phase in ("answer", "dial_now", "dial"):
        assert d.cmd("ATD200") == want
    elif phase == "tx_b":
        assert d.cmd("ATD200") == ["+FCO", "OK"]
        assert d.cmd("AT+FDT") == want
    elif phase in ("tx_c", "tx_d"):
        d.cmd("ATD200")
        assert d.cmd("AT+FDT") == ["CONNECT"]
        assert _send(d, _page(tmp_path), b",") == want
        assert "send PPM" not in m.transcript           # the page never reached phase D
    else:
        _incoming(r, d, tmp_path)
        assert d.cmd("ATA") == ["+FCO", "OK"]
        if phase == "rx_b":
            assert d.cmd("AT+FDR") == want
        else:
            assert d.cmd("AT+FDR") == ["CONNECT"]
            d.write(bytes((DC2,)))
            data = d.read_page()
            if phase == "rx_c":
                assert 900 <= len(data) <= 1100                   # cut after 1000 bytes
            assert d.responses() == want
    assert d.cmd("AT+FHS?") == [hexcode, "OK"]                    # the last status, read back
    assert line.calls[0].summary()["hangups"].get("100") == code
    assert "+FHNG" not in m.transcript


# ---------------------------------------------------------------- codes the simulator produces itself

def test_normal_end_is_fhs_00_on_both_sides(env, tmp_path):
    line, m, r, d = env()
    d.cmd("ATD200")
    d.cmd("AT+FDT")
    assert _send(d, _page(tmp_path), b".") == ["+FHS:00", "OK"]
    assert d.cmd("AT+FHS?") == ["00", "OK"]


def test_fks_in_a_call_is_fhs_02(env):
    line, m, r, d = env()
    assert d.cmd("ATD200") == ["+FCO", "OK"]
    assert d.cmd("AT+FKS") == ["+FHS:02", "OK"]
    assert d.cmd("AT+FDT") == ["ERROR"]


def test_remote_that_cannot_receive_is_fhs_21(tmp_path):
    line = fast_line(tmp_path).start()
    try:
        a = line.add_modem("100", config=ModemConfig(fclass="2.0"))
        b = line.add_modem("101", config=ModemConfig(fclass="2.0"))
        da, db = Dte(a.path), Dte(b.path)
        da.cmd("ATE0")
        db.cmd("ATE0")
        da.cmd("AT+FCLASS=2.0")
        db.cmd("AT+FCLASS=2.0;S0=1")                          # +FCR stays 0
        assert da.cmd("ATD101") == ["+FCO", "OK"]
        assert da.cmd("AT+FDT") == ["+FHS:21", "OK"]
        da.close()
        db.close()
    finally:
        line.stop()


def test_dte_silent_in_page_data_is_fhs_43(env):
    line, m, r, d = env()
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["CONNECT"]
    assert d.responses(timeout=10) == ["+FHS:43", "OK"]


def test_no_dc2_after_fdr_connect_is_fhs_90(env, tmp_path):
    line, m, r, d = env()
    _incoming(r, d, tmp_path)
    d.cmd("ATA")
    assert d.cmd("AT+FDR") == ["CONNECT"]
    assert d.read_page(timeout=10) == b""                 # DLE ETX at once, no data was asked for
    assert d.responses(timeout=10) == ["+FHS:90", "OK"]


def test_dte_holding_xoff_is_fhs_93(env, tmp_path):
    line, m, r, d = env()
    _incoming(r, d, tmp_path, rows=100)
    line.timeouts["dte_data"] = 0.5
    d.cmd("ATA")
    assert d.cmd("AT+FDR") == ["CONNECT"]
    d.write(bytes((DC2,)))
    d.read_bytes(10)
    d.write(bytes((XOFF,)))
    d.read_page(timeout=5)
    assert d.responses() == ["+FHS:93", "OK"]


def test_line_drop_while_sending_is_fhs_40_and_while_receiving_90(env, tmp_path):
    line, m, r, d = env(faults="drop=1500@1")
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["CONNECT"]
    assert _send(d, _page(tmp_path, rows=100), b".") == ["+FHS:40", "OK"]
    line2, m2, r2, d2 = env(faults="drop=1200")
    _incoming(r2, d2, tmp_path, rows=100)
    d2.cmd("ATA")
    assert d2.cmd("AT+FDR") == ["CONNECT"]
    d2.write(bytes((DC2,)))
    assert len(d2.read_page()) <= 1200
    assert d2.responses() == ["+FHS:90", "OK"]


@pytest.mark.parametrize("ppm,hexcode", [(b",", "52"), (b".", "54"), (b";", "56")])
def test_no_post_page_response_is_fhs_52_54_56(tmp_path, ppm, hexcode):
    """Modem to modem: the receiving DTE never sends the +FDR that releases the post-page
    response, so the sender's T.30 wait for it runs out."""
    line = fast_line(tmp_path).start()
    try:
        a = line.add_modem("100", config=ModemConfig(fclass="2.0"))
        b = line.add_modem("101", config=ModemConfig(fclass="2.0"))
        da, db = Dte(a.path), Dte(b.path)
        da.cmd("ATE0")
        db.cmd("ATE0")
        da.cmd("AT+FCLASS=2.0")
        db.cmd("AT+FCLASS=2.0;+FCR=1;S0=1")
        assert da.cmd("ATD101") == ["+FCO", "OK"]
        assert da.cmd("AT+FDT") == ["CONNECT"]
        assert db.responses() == ["RING", "+FCO", "OK"]      # B reports the call once DCS came
        da.write(dle_stuff(_page(tmp_path, rows=20)) + bytes((DLE,)) + ppm)
        assert db.cmd("AT+FDR") == ["CONNECT"]
        db.write(bytes((DC2,)))
        db.read_page()
        assert db.responses()[-1] == "OK"                 # +FPS:, +FET:, OK ... and no +FDR
        assert da.responses(timeout=10) == ["+FHS:%s" % hexcode, "OK"]
        da.close()
        db.close()
    finally:
        line.stop()


# ---------------------------------------------------------------- the other switches, in Class 2.0

@pytest.mark.parametrize("spec,result", [("busy", "BUSY"), ("no_answer", "NO ANSWER"), ("no_carrier", "NO CARRIER"),
                                         ("voice", "VOICE"), ("no_dialtone", "NO DIALTONE")])
def test_dial_results(env, spec, result):
    line, m, r, d = env(faults=spec)
    assert d.cmd("ATD200") == [result]


def test_noise_before_fco_and_page_noise(env, tmp_path):
    line, m, r, d = env(faults="noise=9,page_noise=40")
    d.write(b"ATD200\r")
    resp = d.responses()
    assert resp[1:] == ["+FCO", "OK"] and len(resp[0].encode("latin-1")) == 9
    d.cmd("AT+FDT")
    _send(d, _page(tmp_path, rows=60))
    assert r.wait_pages(1, 5)[0]["bad_lines"] > 0


def test_fdt_ok_first_append_rtc_and_dead(env, tmp_path):
    line, m, r, d = env(fdt_ok_first=1, modem_faults="dead=+FKS")
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["OK"]                      # the quirk: OK before CONNECT
    assert d.cmd("AT+FDT") == ["CONNECT"]
    no_rtc = _page(tmp_path)[:-12]
    assert _send(d, no_rtc) == ["+FHS:00", "OK"]
    assert "append RTC" in m.transcript and r.wait_pages(1, 5)[0]["rtc"]
    d.write(b"AT+FKS\r")
    with pytest.raises(TimeoutError):
        d.read_line(timeout=0.5)
    assert m.state == "DEAD"


def test_xoff_fault_holds_the_dte_in_class20(env, tmp_path):
    line, m, r, d = env(faults="xoff=1.0")
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["CONNECT"]
    t0 = time.monotonic()
    assert d.wait_byte(XOFF, timeout=2) == b""
    d.wait_byte(0x11, timeout=5)
    assert time.monotonic() - t0 >= 0.9
    assert _send(d, _page(tmp_path)) == ["+FHS:00", "OK"]
