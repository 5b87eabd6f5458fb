"""The simulated modem's AT interpreter, driven over its pseudo-terminal."""
import os

import pytest
from modemsim_helpers import Dte, fast_line

from modemsim import ModemConfig


@pytest.fixture
def modem(tmp_path):
    line = fast_line(tmp_path).start()
    m = line.add_modem("100", link=str(tmp_path / "ttyFAX0"))
    d = Dte(str(tmp_path / "ttyFAX0"))
    yield line, m, d
    d.close()
    line.stop()


def test_pty_link_points_at_the_pty_and_is_removed_on_stop(tmp_path):
    line = fast_line(tmp_path).start()
    m = line.add_modem("100", link=str(tmp_path / "ttyX"))
    assert os.path.realpath(str(tmp_path / "ttyX")) == m.path and m.path.startswith("/dev/pts/")
    line.stop()
    assert not os.path.lexists(str(tmp_path / "ttyX"))


def test_echo_verbose_quiet_and_numeric_results(modem):
    _, _, d = modem
    assert d.cmd("AT") == ["AT", "OK"]              # E1 by default: the command comes back
    assert d.cmd("ATE0") == ["ATE0", "OK"]          # echoed before it takes effect
    assert d.cmd("AT") == ["OK"]
    d.write(b"ATV0\r")
    assert d.read_line() == "0"
    d.write(b"ATFOO\r")
    assert d.read_line() == "4"


def test_always_echo_switch_ignores_ate0(tmp_path):
    line = fast_line(tmp_path).start()
    m = line.add_modem("100", config=ModemConfig.from_spec("always_echo=1"))
    d = Dte(m.path)
    try:
        assert d.cmd("ATE0") == ["ATE0", "OK"]
        assert d.cmd("AT+FCLASS=2") == ["AT+FCLASS=2", "OK"]     # still echoing
        assert d.cmd("ATZ") == ["ATZ", "OK"]
        assert "ATE0 ignored" in m.transcript
    finally:
        d.close()
        line.stop()


def test_ring_in_command_switch_puts_ring_inside_a_response(tmp_path):
    line = fast_line(tmp_path).start()
    m = line.add_modem("100", config=ModemConfig.from_spec("ring_in_command=2"))
    d = Dte(m.path)
    try:
        assert d.cmd("ATE0") == ["ATE0", "OK"]                   # command 1
        assert d.cmd("AT+FCLASS?") == ["RING", "0", "OK"]        # command 2: RING before the answer
        assert d.cmd("AT") == ["OK"]
        assert d.cmd("AT+FMFR?") == ["RING", "FAXBRIDGE LAB", "OK"]
        assert m.state == "IDLE"                                 # no call came with it
    finally:
        d.close()
        line.stop()


def test_result_codes_v0_and_q1(modem):
    _, _, d = modem
    d.cmd("ATE0")
    d.write(b"ATV0\r")
    assert d.read_line() == "0"
    d.write(b"ATX9Z\r")                              # Z restores V1 (and E1)
    assert d.responses() == ["OK"]
    d.write(b"ATE0Q1\r")
    assert d.read_line() == "ATE0Q1"
    d.write(b"AT+FCLASS?\r")                         # info text still comes, result codes do not
    assert d.read_line() == "0"
    d.write(b"ATQ0\r")
    assert d.responses() == ["OK"]


def test_identity_and_fax_class(modem):
    _, _, d = modem
    d.cmd("ATE0")
    assert d.cmd("ATI3") == ["FAXBRIDGE MODEMSIM Class 2 simulator", "OK"]
    assert d.cmd("AT+FMFR?") == ["FAXBRIDGE LAB", "OK"]
    assert d.cmd("AT+FMDL?") == ["MODEMSIM CLASS2", "OK"]
    assert d.cmd("AT+FCLASS=?") == ["0,2", "OK"]
    assert d.cmd("AT+FCLASS?") == ["0", "OK"]
    assert d.cmd("AT+FCLASS=1") == ["ERROR"]
    assert d.cmd("AT+FCLASS=2.0") == ["ERROR"]
    assert d.cmd("AT+FCLASS=2") == ["OK"]
    assert d.cmd("AT+FCLASS?") == ["2", "OK"]


def test_session_parameters_advertise_only_mh(modem):
    _, _, d = modem
    d.cmd("ATE0")
    assert d.cmd("AT+FDCC=?") == ["(0,1),(0-5),(0),(0-2),(0),(0),(0),(0-7)", "OK"]
    assert d.cmd("AT+FDIS=?") == ["(0,1),(0-5),(0),(0-2),(0),(0),(0),(0-7)", "OK"]
    assert d.cmd("AT+FDIS?") == ["1,5,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FDCS?") == ["0,0,0,0,0,0,0,0", "OK"]
    assert d.cmd("AT+FDIS=0,3") == ["OK"]
    assert d.cmd("AT+FDIS?") == ["0,3,0,2,0,0,0,0", "OK"]      # unspecified subparameters unchanged
    assert d.cmd("AT+FDCC=1,4,0,2,0,0,0,1") == ["OK"]
    assert d.cmd("AT+FDIS?") == ["1,4,0,2,0,0,0,1", "OK"]      # +FDCC copies into +FDIS
    assert d.cmd("AT+FDCC=1,5,0,2,1,0,0,0") == ["ERROR"]       # DF=1: 2-D not offered
    assert d.cmd("AT+FDIS=0,6") == ["ERROR"]
    assert d.cmd("AT+FDCS=1") == ["ERROR"]


def test_plain_parameters_and_ranges(modem):
    _, _, d = modem
    d.cmd("ATE0")
    assert d.cmd("AT+FCR?") == ["0", "OK"]
    assert d.cmd("AT+FCR=1;+FBOR=1;+FAA=1") == ["OK"]
    assert d.cmd("AT+FCR?;+FBOR?;+FAA?") == ["1", "1", "1", "OK"]
    assert d.cmd("AT+FBOR=?") == ["(0-3)", "OK"]
    assert d.cmd("AT+FBOR=4") == ["ERROR"]
    assert d.cmd("AT+FBUF?") == ["2048,1536,256,0", "OK"]
    assert d.cmd("AT+FBUF=1") == ["ERROR"]
    assert d.cmd("AT+FPTS=?") == ["(1-5)", "OK"]
    assert d.cmd("AT+FPTS=2") == ["OK"]
    assert d.cmd("AT+FPTS?") == ["2", "OK"]
    assert d.cmd("AT+FPTS=9") == ["ERROR"]
    assert d.cmd("AT+FET=?") == ["(0-2)", "OK"]
    assert d.cmd("AT+FET?") == ["0", "OK"]
    assert d.cmd("AT+FLID=?") == ["(20),(32-127)", "OK"]
    assert d.cmd('AT+FLID="  +49 30 1234"') == ["OK"]
    assert d.cmd("AT+FLID?") == ["  +49 30 1234", "OK"]
    assert d.cmd('AT+FLID="123456789012345678901"') == ["ERROR"]
    assert d.cmd("AT+FXYZ=1") == ["ERROR"]
    assert d.cmd("AT+FAXERR?") == ["0", "OK"]


def test_actions_out_of_a_session_are_errors_and_fk_is_harmless(modem):
    _, _, d = modem
    d.cmd("ATE0")
    assert d.cmd("AT+FDT") == ["ERROR"]
    assert d.cmd("AT+FDR") == ["ERROR"]
    assert d.cmd("AT+FET=0") == ["ERROR"]
    assert d.cmd("AT+FK") == ["OK"]
    assert d.cmd("ATH") == ["OK"]
    assert d.cmd("ATD") == ["ERROR"]
    assert d.cmd("ATDT55X5") == ["ERROR"]


def test_s_registers_backspace_repeat_and_garbage(modem):
    _, _, d = modem
    d.cmd("ATE0")
    assert d.cmd("ATS7?") == ["060", "OK"]
    assert d.cmd("ATS7=30S0=2") == ["OK"]
    assert d.cmd("ATS7?S0?") == ["030", "002", "OK"]
    assert d.cmd("ATS7=300") == ["ERROR"]
    d.write(b"ATS7=44\x085\r")                          # backspace edits the line
    assert d.responses() == ["OK"]
    assert d.cmd("ATS7?") == ["045", "OK"]
    d.write(b"A/")                                   # repeats the last command line at once
    assert d.responses() == ["045", "OK"]
    d.write(b"\x11\x13\r\nnoise\r")                  # no AT: ignored, like a real modem
    assert d.cmd("AT&F&C1&D2") == ["OK"]
    assert d.cmd("ATS7?") == ["ATS7?", "060", "OK"]  # &F restored the factory profile (E1 too)


def test_transcript_logs_both_directions(modem, tmp_path):
    _, m, d = modem
    d.cmd("ATE0")
    d.cmd("AT+FCLASS=2")
    text = m.transcript
    assert 'DTE->DCE "AT+FCLASS=2<CR>"' in text
    assert 'DCE->DTE "<CR><LF>OK<CR><LF>"' in text
    with open(str(tmp_path / "logs" / "modem-100.log")) as f:
        assert 'DTE->DCE "ATE0<CR>"' in f.read()


def test_config_switches_from_a_spec():
    c = ModemConfig.from_spec("rx_bit_order=lsb,xon_after_connect=0,rx_trigger=dc1,fdt_ok_first=2,caps=0:3:0:2:0:0:0:0")
    assert (c.rx_bit_order, c.xon_after_connect, c.rx_trigger, c.fdt_ok_first, c.caps) == \
        ("lsb", False, "dc1", 2, (0, 3, 0, 2, 0, 0, 0, 0))


def test_garbage_never_kills_the_modem(modem):
    import random
    line, m, d = modem
    rnd = random.Random(5)
    alphabet = b"AT+FDCSR=?;,\"0123456789EQVZHIS&/\x10\x03\x11\x13\x12\r\n\x00\xff"
    for _ in range(300):
        d.write(bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 30))))
    d.write(b"\r")
    import time
    time.sleep(0.5)
    d._fill(0.1)
    d.buf.clear()
    d.write(b"\rATZ\r")
    time.sleep(0.3)
    d._fill(0.1)
    d.buf.clear()
    assert d.cmd("ATE0")[-1] == "OK"
    assert d.cmd("AT") == ["OK"]
    assert line.loop.errors == []
