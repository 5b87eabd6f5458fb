"""Proof with real fax software: efax (Class 2) sends through simulated modem A to modem B,
where a second efax receives; the pages must arrive pixel for pixel. And a busy number
makes efax report busy. Fails (never skips) when efax/efix are missing.
"""
import os
import subprocess
import time

from modemsim_helpers import make_pbm, need, pbm_of_g3, pbm_rows

from modemsim import Line

EFAX_HEADER_ROWS = 20   # efax puts a 20-line header band (HDRSPCE) on top of every page it sends


def _tools():
    need("efax", "efax")
    need("efix", "efax")


def _efix(args, out_path):
    with open(out_path, "wb") as f:
        subprocess.run(["efix"] + args, check=True, stdout=f, stderr=subprocess.PIPE, timeout=60)
    return out_path


def _line(tmp_path):
    # Real time at the line rate: efax divides by the page's duration and must see > 1 s.
    return Line(speedup=1.0, t30_delay=0.1, ring_interval=0.5, dial_delay=0.2,
                log_dir=str(tmp_path / "logs"), timeouts={"answer": 60.0})


def _efax(args, log_path):
    return subprocess.Popen(["efax", "-o2", "-v", "ewinchamr"] + args, stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT)


def _wait(proc, timeout, what, log_path):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise AssertionError("%s did not finish within %d s; log:\n%s" % (what, timeout, _tail(log_path)))


def _tail(path, n=60):
    with open(path, "rb") as f:
        return "\n".join(f.read().decode("latin-1").splitlines()[-n:])


def test_efax_sends_two_pages_through_a_to_b_and_efax_receives_them_pixel_for_pixel(tmp_path):
    _tools()
    pages = []
    for k in (1, 2):
        pbm = make_pbm(str(tmp_path / ("src%d.pbm" % k)), rows=72, seed=k)
        tif = _efix(["-i", "pbm", "-o", "tiffg3", pbm], str(tmp_path / ("p%d.tif" % k)))
        pages.append((pbm, tif))
    t0 = time.monotonic()
    with _line(tmp_path) as line:
        a = line.add_modem("5550101", link=str(tmp_path / "ttyA"))
        b = line.add_modem("5550102", link=str(tmp_path / "ttyB"))
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
            for p in (recv,):
                if p.poll() is None:
                    p.kill()
        wall = time.monotonic() - t0
        assert src == 0, "sending efax returned %d; log:\n%s\nmodem A:\n%s" % (src, _tail(slog), a.transcript[-3000:])
        assert rrc == 0, "receiving efax returned %d; log:\n%s" % (rrc, _tail(rlog))
        calls = [c.summary() for c in line.calls]
    print("efax-to-efax wall time: %.1f s" % wall)
    assert len(calls) == 1 and [p["ppr"] for p in calls[0]["pages"]] == [1, 1], calls
    assert calls[0]["hangups"] == {"5550101": 0, "5550102": 0}, calls
    for k, (pbm, tif) in enumerate(pages, 1):
        rx = str(tmp_path / ("rx.%03d" % k))
        assert os.path.exists(rx), "efax did not write %s" % rx
        got = pbm_rows(_efix(["-o", "pbm", rx], str(tmp_path / ("got%d.pbm" % k))))
        sent = pbm_rows(_efix(["-o", "pbm", tif], str(tmp_path / ("sent%d.pbm" % k))))
        orig = pbm_rows(pbm)
        assert sent[:2] == orig[:2] and sent[2] == orig[2], "efix round trip changed page %d" % k
        w, h, rows = got
        assert (w, h) == (orig[0], orig[1] + EFAX_HEADER_ROWS), (w, h, orig[:2])
        assert not any(any(r) for r in rows[:EFAX_HEADER_ROWS]), "header band not blank on page %d" % k
        bad = [i for i, (x, y) in enumerate(zip(rows[EFAX_HEADER_ROWS:], orig[2])) if x != y]
        assert not bad, "page %d: %d rows differ, first %r" % (k, len(bad), bad[:5])


def test_efax_reports_busy_when_the_number_is_busy(tmp_path):
    _tools()
    pbm = make_pbm(str(tmp_path / "src.pbm"), rows=40, seed=3)
    tif = _efix(["-i", "pbm", "-o", "tiffg3", pbm], str(tmp_path / "p.tif"))
    with _line(tmp_path) as line:
        line.add_modem("5550101", link=str(tmp_path / "ttyA"))
        line.add_remote("5550177", out_dir=str(tmp_path / "rx"), faults="busy")
        slog = str(tmp_path / "efax-send.log")
        send = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-t", "5550177", tif], slog)
        rc = _wait(send, 60, "sending efax", slog)
        calls = [c.summary() for c in line.calls]
    log = _tail(slog, 200)
    # efax man page, RETURN VALUES: 1 = the dialed number was busy or the modem device was in use
    assert rc == 1, "efax returned %d, want 1 (busy); log:\n%s" % (rc, log)
    assert "number is busy" in log, log
    assert [c["result"] for c in calls] == ["BUSY"], calls


def test_efax_sends_to_the_remote_machine_and_receives_from_it(tmp_path):
    """The built-in remote fax machine against real efax, both directions."""
    _tools()
    need("g3topbm", "netpbm")
    pbm = make_pbm(str(tmp_path / "src.pbm"), rows=72, seed=7)
    tif = _efix(["-i", "pbm", "-o", "tiffg3", pbm], str(tmp_path / "p.tif"))
    orig = pbm_rows(pbm)
    with _line(tmp_path) as line:
        line.add_modem("5550101", link=str(tmp_path / "ttyA"))
        r = line.add_remote("5551234", out_dir=str(tmp_path / "rx"))
        slog = str(tmp_path / "efax-send.log")
        send = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-h", "",
                      "-t", "5551234", tif], slog)
        assert _wait(send, 60, "sending efax", slog) == 0, _tail(slog)
        rec = r.wait_pages(1, 5)[0]
        got = pbm_rows(pbm_of_g3(rec["path"], str(tmp_path / "remote-got.pbm")))
        assert got[2][EFAX_HEADER_ROWS:] == orig[2] and rec["ppr"] == 1 and rec["bad_lines"] == 0

        rlog = str(tmp_path / "efax-recv.log")
        m = line.modem("5550101")
        recv = _efax(["-d", str(tmp_path / "ttyA"), "-x", str(tmp_path / "LCK..A"), "-r", str(tmp_path / "in")], rlog)
        assert m.wait_state("ANSWER_WAIT", 20), _tail(rlog)
        job = r.send_fax("5550101", [pbm])
        assert _wait(recv, 60, "receiving efax", rlog) == 0, _tail(rlog)
        assert job.wait(10) == "OK" and job.pprs == [1]
    got = pbm_rows(_efix(["-o", "pbm", str(tmp_path / "in.001")], str(tmp_path / "efax-got.pbm")))
    assert got[:2] == orig[:2] and got[2] == orig[2]
