"""The Class 2.0 (T.32) personality's AT command set over the pty: the personality switch,
every Class 2.0 command's =?, ? and = forms with their ranges, Class 2 names refused, +FNR
switching the negotiation reports, and the T.32 data conventions (+FBO both ways, no XON,
<DLE><ppm> page ends, DC2, hex +FPS counts)."""
import time

import pytest
from modemsim_helpers import Dte, fast_line, make_pbm, need, wire_of_pbm

from modemsim import ModemConfig
from modemsim.bits import DC1, DC2, DLE, ETX, XON, dle_stuff, reverse_bits
from modemsim.cli import parse_args


@pytest.fixture
def env(tmp_path):
    made = []

    def make(fclass="2.0", remote_faults=None, **cfg):
        line = fast_line(tmp_path).start()
        m = line.add_modem("100", config=ModemConfig(fclass=fclass, **cfg))
        r = line.add_remote("200", out_dir=str(tmp_path / "rx"), faults=remote_faults)
        d = Dte(m.path)
        made.append((line, d))
        assert d.cmd("ATE0") == ["ATE0", "OK"]
        return line, m, r, d
    yield make
    for line, d in made:
        d.close()
        line.stop()


@pytest.mark.parametrize("fclass,listed,ok,refused", [
    ("2", "0,2", ["0", "2"], ["2.0", "1", "2.1"]),
    ("2.0", "0,2.0", ["0", "2.0"], ["2", "1", "2.1", "20"]),
    ("both", "0,2,2.0", ["0", "2", "2.0"], ["1", "2.1", "2.00"]),
])
def test_personality_lists_and_accepts_its_classes(env, fclass, listed, ok, refused):
    line, m, r, d = env(fclass=fclass)
    assert d.cmd("AT+FCLASS=?") == [listed, "OK"]
    assert d.cmd("AT+FCLASS?") == ["0", "OK"]
    for v in ok:
        assert d.cmd("AT+FCLASS=%s" % v) == ["OK"]
        assert d.cmd("AT+FCLASS?") == [v, "OK"]
    for v in refused:
        assert d.cmd("AT+FCLASS=%s" % v) == ["ERROR"], v


def test_personality_from_the_command_line_spec():
    assert ModemConfig.from_spec("fclass=2.0").fclass == "2.0"
    assert ModemConfig.from_spec("fclass=both,rx_bit_order=msb").rx_bit_order == "msb"
    assert ModemConfig().fclass == "2"
    with pytest.raises(AssertionError):
        ModemConfig(fclass="2.1")
    assert parse_args(["--modem", "1", "--config", "1:fclass=2.0"]).config == ["1:fclass=2.0"]


# name: (=? answer, ? answer (the default)), all in +FCLASS=2.0
READS = {
    "+FCC": ("(0,1),(0-5),(0),(0-2),(0),(0),(0),(0-7)", "1,5,0,2,0,0,0,0"),
    "+FIS": ("(0,1),(0-5),(0),(0-2),(0),(0),(0),(0-7)", "1,5,0,2,0,0,0,0"),
    "+FCS": ("(0,1),(0-5),(0),(0-2),(0),(0),(0),(0-7)", "0,0,0,0,0,0,0,0"),
    "+FLI": ("(20),(32-127)", '""'),
    "+FPI": ("(20),(32-127)", '""'),
    "+FNR": ("(0,1),(0,1),(0,1),(0,1)", "0,0,0,0"),
    "+FCR": ("(0-1)", "0"),
    "+FAA": ("(0-1)", "0"),
    "+FBO": ("(0-3)", "0"),
    "+FLO": ("(0-2)", "1"),
    "+FPS": ("(1-5)", "1"),
    "+FCT": ("(0-255)", "30"),
    "+FMS": ("(0-5)", "0"),
    "+FEA": ("(0-1)", "0"),
    "+FIE": ("(0-1)", "0"),
    "+FPP": ("(0)", "0"),
    "+FBU": ("(0)", "0"),
    "+FRY": ("(0-255)", "0"),
    "+FCQ": ("(0),(0)", "0,0"),
    "+FSP": ("(0-1)", "0"),
    "+FLP": ("(0-1)", "0"),
}


@pytest.mark.parametrize("name", sorted(READS))
def test_class20_parameter_reads(env, name):
    line, m, r, d = env()
    assert d.cmd("AT+FCLASS=2.0") == ["OK"]
    rng, default = READS[name]
    assert d.cmd("AT%s=?" % name) == [rng, "OK"]
    assert d.cmd("AT%s?" % name) == [default, "OK"]


@pytest.mark.parametrize("bad", [
    "+FCC=2", "+FCC=,6", "+FCC=1,5,0,2,0,0,0,0,0", "+FCC=x", "+FIS=,,1", "+FNR=2", "+FNR=1,1,1,1,1",
    "+FNR=a", "+FBO=4", "+FLO=3", "+FPS=0", "+FPS=6", "+FLI=\"123456789012345678901\"", "+FIP=1",
    "+FHS=1", "+FHS", "+FBS=1", "+FCQ=1", "+FCQ=0,0,0", "+FCT=256", "+FCS=1,5", "+FPP=1", "+FDT", "+FDR",
])
def test_class20_values_out_of_range_are_errors(env, bad):
    line, m, r, d = env()
    d.cmd("AT+FCLASS=2.0")
    assert d.cmd("AT" + bad) == ["ERROR"], bad


@pytest.mark.parametrize("class2_only", ["+FDCC=?", "+FDIS?", "+FDCS?", "+FLID?", "+FCIG?", "+FPTS?", "+FET=?",
                                         "+FK", "+FBOR?", "+FAXERR?", "+FBUF?", "+FPHCTO?", "+FMINSP?",
                                         "+FMFR?", "+FMDL?", "+FREV?", "+FREL?", "+FSPL?", "+FECM?"])
def test_class2_names_are_refused_in_class20(env, class2_only):
    line, m, r, d = env(fclass="both")
    assert d.cmd("AT+FCLASS=2") == ["OK"]
    assert d.cmd("AT" + class2_only)[-1] == "OK"            # a Class 2 modem knows it ...
    assert d.cmd("AT+FCLASS=2.0") == ["OK"]
    assert d.cmd("AT" + class2_only) == ["ERROR"]           # ... in Class 2.0 it is unknown


def test_class20_settings_copy_reset_and_identify(env):
    line, m, r, d = env()
    d.cmd("AT+FCLASS=2.0")
    assert d.cmd("AT+FCC=0,3") == ["OK"]
    assert d.cmd("AT+FCC?") == ["0,3,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FIS?") == ["0,3,0,2,0,0,0,0", "OK"]             # +FCC copies into +FIS
    assert d.cmd('AT+FLI="+1 555 0100";+FNR=1,,1;+FBO=1;+FLO=2') == ["OK"]
    assert d.cmd("AT+FLI?;+FNR?;+FBO?;+FLO?") == ['"+1 555 0100"', "1,0,1,0", "1", "2", "OK"]
    assert d.cmd("AT+FIP") == ["OK"]                                    # T.32: back to the defaults
    assert d.cmd("AT+FCC?;+FLI?;+FNR?;+FBO?") == ["1,5,0,2,0,0,0,0", '""', "0,0,0,0", "0", "OK"]
    assert d.cmd("AT+FCLASS?") == ["2.0", "OK"]                         # the class stays
    assert d.cmd("AT+FMI?;+FMM?;+FMR?") == ["FAXBRIDGE LAB", "MODEMSIM CLASS2", "1.0", "OK"]
    assert d.cmd("AT+FHS?;+FBS?") == ["00", "800,800", "OK"]


def _page(tmp_path, rows=30, seed=1):
    return wire_of_pbm(make_pbm(str(tmp_path / ("p%d.pbm" % seed)), rows=rows, seed=seed))


def _idle(r, timeout=5.0):
    """Wait until the remote machine has put the phone down after a call."""
    end = time.monotonic() + timeout
    while r.busy() and time.monotonic() < end:
        time.sleep(0.02)
    assert not r.busy(), "remote machine still in a call"


def _send(d, wire_bytes, ppm=b"."):
    d.write(dle_stuff(wire_bytes) + bytes((DLE,)) + ppm)
    return d.responses(timeout=20)


def test_fnr_switches_the_negotiation_reports(env, tmp_path):
    line, m, r, d = env()
    assert d.cmd("AT+FCLASS=2.0;+FCR=1") == ["OK"]
    assert d.cmd("ATD200") == ["+FCO", "OK"]                            # +FNR=0,0,0,0: no reports
    assert d.cmd("AT+FDT") == ["CONNECT"]
    assert _send(d, _page(tmp_path)) == ["+FHS:00", "OK"]
    assert d.cmd("AT+FNR=1,1,1,0") == ["OK"]
    _idle(r)
    assert d.cmd("ATD200") == ["+FCO", '+FCI:"+1 555 0100"', "+FIS:1,5,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FDT") == ["+FCS:1,5,0,2,0,0,0,0", "CONNECT"]
    assert _send(d, _page(tmp_path)) == ["+FHS:00", "OK"]
    assert d.cmd("AT+FNR=0,1,0,0") == ["OK"]
    _idle(r)
    job = r.send_fax("100", [make_pbm(str(tmp_path / "in.pbm"), rows=20)])
    assert d.read_line() == "RING"
    assert d.cmd("ATA") == ["+FCO", "+FCS:1,5,0,2,0,0,0,0", "OK"]       # tpr only: no +FTI:
    assert d.cmd("AT+FDR") == ["CONNECT"]                               # no +FCFR in T.32
    d.write(bytes((DC2,)))
    d.read_page()
    assert d.responses() == ["+FPS:1,14,0,0,0", "+FET:2", "OK"]         # 20 lines = 0x14
    assert d.cmd("AT+FDR") == ["+FHS:00", "OK"]
    assert job.wait(10) == "OK"


@pytest.mark.parametrize("fbo", [0, 1, 2, 3])
def test_fbo_sets_phase_c_bit_order_both_ways(env, tmp_path, fbo):
    """+FBO bit 0 reverses phase C data in both directions (Table 27/T.32); 2 is the
    frame-report bit only, so it sends direct (LSB-first) data like 0."""
    need("pbmtog3", "netpbm")
    line, m, r, d = env()
    assert d.cmd("AT+FCLASS=2.0;+FCR=1;+FBO=%d" % fbo) == ["OK"]
    lsb = _page(tmp_path, rows=25, seed=fbo + 3)
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["CONNECT"]
    assert _send(d, reverse_bits(lsb) if fbo & 1 else lsb) == ["+FHS:00", "OK"]
    got = r.wait_pages(1, 5)[0]
    assert got["lines"] >= 25 and got["bad_lines"] == 0, got
    _idle(r)
    job = r.send_fax("100", [got["path"]])
    assert d.read_line() == "RING"
    d.cmd("ATA")
    assert d.cmd("AT+FDR") == ["CONNECT"]
    d.write(bytes((DC2,)))
    page = d.read_page()
    sent = open(got["path"], "rb").read()               # MSB-first .g3 as the remote sent it
    assert page[:len(sent) - 4] == (sent if fbo & 1 else reverse_bits(sent))[:len(sent) - 4]
    d.responses()
    d.cmd("AT+FDR")
    assert job.wait(10) == "OK"


def test_no_xon_after_connect_in_class20_unless_switched(env, tmp_path):
    for xon in (None, True):
        line, m, r, d = env(xon_after_connect=xon)
        d.cmd("AT+FCLASS=2.0")
        d.cmd("ATD200")
        assert d.cmd("AT+FDT") == ["CONNECT"]
        if xon:
            d.wait_byte(XON, timeout=2)
        else:
            with pytest.raises(TimeoutError):
                d.wait_byte(XON, timeout=0.5)
        assert _send(d, _page(tmp_path)) == ["+FHS:00", "OK"]


def test_page_ends_mps_eom_and_dle_etx(env, tmp_path):
    line, m, r, d = env()
    d.cmd("AT+FCLASS=2.0;+FNR=0,1,0,0")
    d.cmd("ATD200")
    assert d.cmd("AT+FDT") == ["+FCS:1,5,0,2,0,0,0,0", "CONNECT"]
    assert _send(d, _page(tmp_path), b",") == ["OK"]                     # MPS: same DCS
    assert d.cmd("AT+FDT") == ["CONNECT"]
    assert _send(d, _page(tmp_path), b";") == ["OK"]                     # EOM: phase B again
    assert d.cmd("AT+FDT") == ["+FCS:1,5,0,2,0,0,0,0", "CONNECT"]
    d.write(dle_stuff(_page(tmp_path)) + bytes((DLE, ETX)))               # DLE ETX: taken as EOP
    assert d.responses(timeout=20) == ["+FHS:00", "OK"]
    assert "DLE ETX taken as EOP" in m.transcript
    assert [p["ppr"] for p in r.received] == [1, 1, 1]


def test_rtn_answers_error_and_fps_reads_it_then_the_page_is_sent_again(env, tmp_path):
    line, m, r, d = env(remote_faults="ppr=2@1/1")
    d.cmd("AT+FCLASS=2.0;+FNR=0,1,0,0")
    d.cmd("ATD200")
    page = _page(tmp_path)
    assert d.cmd("AT+FDT")[-1] == "CONNECT"
    assert _send(d, page, b".") == ["ERROR"]              # T.32: the remote refused the page
    assert d.cmd("AT+FPS?") == ["2", "OK"]                # ... and +FPS? says RTN
    assert d.cmd("AT+FDT") == ["+FCS:1,5,0,2,0,0,0,0", "CONNECT"]     # retrain before the retry
    assert _send(d, page, b".") == ["+FHS:00", "OK"]
    assert [x["ppr"] for x in r.received] == [2, 1]


def test_receiving_dte_refuses_a_page_with_fps(env, tmp_path):
    line, m, r, d = env(rx_trigger="dc1")
    d.cmd("AT+FCLASS=2.0;+FCR=1")
    job = r.send_fax("100", [make_pbm(str(tmp_path / "in.pbm"), rows=20)] * 2)
    assert d.read_line() == "RING"
    assert d.cmd("ATA") == ["+FCO", "OK"]
    assert d.cmd("AT+FDR") == ["CONNECT"]
    d.write(bytes((DC2,)))                                # the rx_trigger=dc1 switch: DC2 does not start it
    with pytest.raises(TimeoutError):
        d.read_page(timeout=0.5)
    d.write(bytes((DC1,)))
    d.read_page()
    assert d.responses() == ["+FPS:1,14,0,0,0", "+FET:0", "OK"]
    assert d.cmd("AT+FPS=2") == ["OK"]                    # the DTE asks for the page again (RTN)
    assert d.cmd("AT+FDR") == ["CONNECT"]
    d.write(bytes((DC1,)))
    d.read_page()
    assert d.responses()[-2:] == ["+FET:0", "OK"]
    assert d.cmd("AT+FPS=1;+FDR") == ["CONNECT"]
    d.write(bytes((DC1,)))
    d.read_page()
    assert d.responses()[-2:] == ["+FET:2", "OK"]
    assert d.cmd("AT+FDR") == ["+FHS:00", "OK"]
    assert job.wait(10) == "OK" and job.pprs == [2, 1, 1], job.pprs


def test_both_personality_speaks_class2_in_fclass_2(env, tmp_path):
    line, m, r, d = env(fclass="both")
    d.cmd("AT+FCLASS=2")
    assert d.cmd("ATD200") == ["+FCON", "+FCSI:+1 555 0100", "+FDIS:1,5,0,2,0,0,0,0", "OK"]
    assert d.cmd("AT+FDT") == ["+FDCS:1,5,0,2,0,0,0,0", "CONNECT"]
    d.wait_byte(XON)
    d.send_page(_page(tmp_path))
    assert d.responses() == ["OK"]
    assert d.cmd("AT+FET=2") == ["+FPTS:1", "+FHNG:0", "OK"]


def test_cli_config_selects_the_class20_personality(tmp_path):
    from test_modemsim_cli import read_until, start
    link = str(tmp_path / "ttyC20")
    proc = start("--modem", "100:" + link, "--config", "100:fclass=2.0", "--remote", "200",
                 "--fault", "200:fhs=27", "--speedup", "40")
    try:
        read_until(proc, "READY")
        d = Dte(link)
        try:
            d.cmd("ATE0")
            assert d.cmd("AT+FCLASS=?") == ["0,2.0", "OK"]
            assert d.cmd("AT+FCLASS=2.0") == ["OK"]
            assert d.cmd("ATD200") == ["+FCO", "OK"]
            assert d.cmd("AT+FDT") == ["+FHS:27", "OK"]          # --fault NUMBER:fhs=<hex>
        finally:
            d.close()
    finally:
        proc.stdin.write(b"quit\n")
        proc.stdin.flush()
        proc.wait(10)


def test_fuzzed_class20_command_lines_get_exactly_one_answer(env):
    """Random Class 2.0 (and Class 2) names with random arguments, off-hook or not: every
    line gets one final result code, and nothing raises inside the simulator."""
    import random
    rnd = random.Random(20)
    line, m, r, d = env()
    d.cmd("AT+FCLASS=2.0")
    names = sorted(set(READS) | {"+FIP", "+FHS", "+FBS", "+FKS", "+FDT", "+FDR", "+FDCC", "+FET", "+FMI"})
    args = ["", "=?", "?", "=", "=0", "=1", "=2,", "=,,,", "=1,1,1,1,1", "=-1", "=ff", '="x"', "=99999999"]
    for _ in range(300):
        cmds = ";".join(rnd.choice(names) + rnd.choice(args) for _ in range(rnd.randint(1, 3)))
        resp = d.cmd("AT" + cmds, timeout=5)
        assert resp[-1] in ("OK", "ERROR"), (cmds, resp)
        assert sum(x in ("OK", "ERROR", "CONNECT") for x in resp) == 1, (cmds, resp)
    assert d.cmd("AT+FCLASS?") == ["2.0", "OK"]
    assert line.loop.errors == []
