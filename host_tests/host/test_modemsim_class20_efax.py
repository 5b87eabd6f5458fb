"""Class 2.0 (T.32) personality proved with real software: efax -o0 (its Class 2.0 mode)
sends two pages through simulated modem A to modem B where a second efax -o0 receives them,
pixel for pixel; efax -o0 sends to and receives from the remote machine. Fails (never skips)
when efax/efix are missing.
"""
import os
import time

from modemsim_helpers import dte_text, make_pbm, need, pbm_of_g3, pbm_rows
from test_modemsim_efax import EFAX_HEADER_ROWS, _efix, _line, _tail, _wait

from modemsim import ModemConfig

C20 = ModemConfig(fclass="2.0")


def _tools():
    need("efax", "efax")
    need("efix", "efax")


def _efax(args, log_path):
    import subprocess
    return subprocess.Popen(["efax", "-o0", "-v", "ewinchamr"] + args, stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT)


def _pages(tmp_path, n, rows=72):
    out = []
    for k in range(1, n + 1):
        pbm = make_pbm(str(tmp_path / ("src%d.pbm" % k)), rows=rows, seed=10 + k)
        out.append((pbm, _efix(["-i", "pbm", "-o", "tiffg3", pbm], str(tmp_path / ("p%d.tif" % k)))))
    return out


def _same_below_header(got_path, pbm, tmp_path, k):
    got = pbm_rows(_efix(["-o", "pbm", got_path], str(tmp_path / ("got%d.pbm" % k))))
    orig = pbm_rows(pbm)
    w, h, rows = got
    assert (w, h) == (orig[0], orig[1] + EFAX_HEADER_ROWS), (w, h, orig[:2])
    assert not any(any(r) for r in rows[:EFAX_HEADER_ROWS]), "header band not blank on page %d" % k
    bad = [i for i, (x, y) in enumerate(zip(rows[EFAX_HEADER_ROWS:], orig[2])) if x != y]
    assert not bad, "page %d: %d rows differ, first %r" % (k, len(bad), bad[:5])


def test_efax_o0_sends_two_pages_through_a_to_b_and_efax_o0_receives_them_pixel_for_pixel(tmp_path):
    _tools()
    pages = _pages(tmp_path, 2)
    with _line(tmp_path) as line:
        a = line.add_modem("5550101", link=str(tmp_path / "ttyA"), config=C20)
        b = line.add_modem("5550102", link=str(tmp_path / "ttyB"), config=C20)
        rlog, slog = str(tmp_path / "efax-recv.log"), str(tmp_path / "efax-send.log")
        recv = _efax(["-d", str(tmp_path / "ttyB"), "-x", str(tmp_path / "LCK..B"), "-l", "5550102",
                      "-r", str(tmp_path / "rx")], rlog)
        try:
            assert b.wait_state("ANSWER_WAIT", 20), "receiving efax never sent ATA; log:\n" + _tail(rlog)
            send = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-l", "5550101",
                          "-h", "", "-t", "5550102", pages[0][1], pages[1][1]], slog)
            src = _wait(send, 90, "sending efax", slog)
            rrc = _wait(recv, 30, "receiving efax", rlog)
        finally:
            if recv.poll() is None:
                recv.kill()
        assert src == 0, "sending efax returned %d; log:\n%s\nmodem A:\n%s" % (src, _tail(slog), a.transcript[-3000:])
        assert rrc == 0, "receiving efax returned %d; log:\n%s\nmodem B:\n%s" % (rrc, _tail(rlog), b.transcript[-3000:])
        calls = [c.summary() for c in line.calls]
        ta, tb = a.transcript, b.transcript
    assert len(calls) == 1 and [p["ppr"] for p in calls[0]["pages"]] == [1, 1], calls
    assert calls[0]["hangups"] == {"5550101": 0, "5550102": 0}, calls
    # the dialogue really was Class 2.0: efax chose it, the modems spoke it
    assert "AT+FCLASS=2.0<CR>" in dte_text(ta) and "AT+FCLASS=2.0<CR>" in dte_text(tb)
    assert "+FCO<CR>" in ta and "+FCO<CR>" in tb and "+FHS:00" in ta and "+FHS:00" in tb
    assert "end of page data, MPS" in ta and "end of page data, EOP" in ta     # <DLE>, and <DLE>.
    assert "+FHNG" not in ta + tb and "+FCON" not in ta + tb
    for k, (pbm, tif) in enumerate(pages, 1):
        rx = str(tmp_path / ("rx.%03d" % k))
        assert os.path.exists(rx), "efax did not write %s" % rx
        _same_below_header(rx, pbm, tmp_path, k)


def test_efax_o0_sends_to_the_remote_machine_and_receives_from_it(tmp_path):
    _tools()
    need("g3topbm", "netpbm")
    (pbm, tif), (pbm2, _) = _pages(tmp_path, 2)
    orig, orig2 = pbm_rows(pbm), pbm_rows(pbm2)
    with _line(tmp_path) as line:
        m = line.add_modem("5550101", link=str(tmp_path / "ttyA"), config=C20)
        r = line.add_remote("5551234", out_dir=str(tmp_path / "rx"))
        slog = str(tmp_path / "efax-send.log")
        send = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-h", "",
                      "-t", "5551234", tif], slog)
        assert _wait(send, 60, "sending efax", slog) == 0, _tail(slog) + "\n" + m.transcript[-3000:]
        rec = r.wait_pages(1, 5)[0]
        got = pbm_rows(pbm_of_g3(rec["path"], str(tmp_path / "remote-got.pbm")))
        assert got[2][EFAX_HEADER_ROWS:] == orig[2] and rec["ppr"] == 1 and rec["bad_lines"] == 0

        rlog = str(tmp_path / "efax-recv.log")
        recv = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-r", str(tmp_path / "in")], rlog)
        assert m.wait_state("ANSWER_WAIT", 20), _tail(rlog)
        t0 = time.monotonic()
        job = r.send_fax("5550101", [pbm, pbm2])
        assert _wait(recv, 90, "receiving efax", rlog) == 0, _tail(rlog) + "\n" + m.transcript[-3000:]
        assert job.wait(10) == "OK" and job.pprs == [1, 1], (job.result, job.pprs)
        text = m.transcript
    print("remote -> efax -o0: %.1f s" % (time.monotonic() - t0))
    assert "+FPS:1,48,0,0,0" in text      # 72 lines = 0x48: T.32 reports counts in hex
    for k, o in ((1, orig), (2, orig2)):
        got = pbm_rows(_efix(["-o", "pbm", str(tmp_path / ("in.%03d" % k))], str(tmp_path / ("efax-got%d.pbm" % k))))
        assert got[:2] == o[:2] and got[2] == o[2], "page %d differs" % k


def test_efax_o0_reports_busy_and_sends_a_refused_page_again(tmp_path):
    _tools()
    need("g3topbm", "netpbm")
    ((pbm, tif),) = _pages(tmp_path, 1, rows=40)
    with _line(tmp_path) as line:
        m = line.add_modem("5550101", link=str(tmp_path / "ttyA"), config=C20)
        line.add_remote("5550177", faults="busy")
        r = line.add_remote("5551234", out_dir=str(tmp_path / "rx"), faults="ppr=2@1/1")
        slog = str(tmp_path / "efax-busy.log")
        send = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-t", "5550177", tif], slog)
        rc = _wait(send, 60, "sending efax", slog)
        # efax man page, RETURN VALUES: 1 = the dialed number was busy
        assert rc == 1 and "number is busy" in _tail(slog, 200), (rc, _tail(slog))

        slog = str(tmp_path / "efax-send.log")
        send = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-h", "",
                      "-t", "5551234", tif], slog)
        assert _wait(send, 90, "sending efax", slog) == 0, _tail(slog) + "\n" + m.transcript[-3000:]
        got = r.wait_pages(2, 5)
        text = m.transcript
    # the modem answered the first <DLE>. with ERROR (RTN); efax sent the page again
    assert [(g["page"], g["ppr"]) for g in got] == [(1, 2), (1, 1)], got
    assert '"<CR><LF>ERROR<CR><LF>"' in text and text.count("end of page data, EOP") == 2
    rows = pbm_rows(pbm_of_g3(got[1]["path"], str(tmp_path / "got.pbm")))[2]
    assert rows[EFAX_HEADER_ROWS:] == pbm_rows(pbm)[2]


def test_efax_o0_reads_fhs_as_decimal_so_a0_passes_for_success(tmp_path):
    """A known quirk of real software, kept visible: efax reads +FHS:<code> with %d (efaxio.c
    sresponse, "Class 2.0 status responses are in hex"). +FHS:70 reads as Class 2's 70 (the
    same meaning: T.32 kept the digits) and efax fails with it; +FHS:A0 (receive phase D
    error) does not parse, and efax returns 0 although the call ended in an error."""
    _tools()
    results = {}
    for fhs in ("70", "A0"):
        d = tmp_path / fhs
        d.mkdir()
        with _line(d) as line:
            m = line.add_modem("5550101", link=str(d / "ttyA"), config=C20)
            r = line.add_remote("5551234", faults="fhs=%s" % fhs)
            rlog = str(d / "efax-recv.log")
            recv = _efax(["-d", str(d / "ttyA"), "-x", str(d / "LCK..A"), "-r", str(d / "in")], rlog)
            assert m.wait_state("ANSWER_WAIT", 20), _tail(rlog)
            job = r.send_fax("5550101", [make_pbm(str(d / "p.pbm"), rows=30)])
            results[fhs] = (_wait(recv, 60, "receiving efax", rlog), _tail(rlog, 400))
            assert job.wait(10).startswith("FAILED")
            assert ("+FHS:%s" % fhs) in m.transcript
    rc, log = results["70"]
    assert rc == 2 and "abnormal termination (code 70)" in log, log
    rc, log = results["A0"]
    assert rc == 0 and "abnormal termination" not in log, log
