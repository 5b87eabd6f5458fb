"""Class 2.0 (T.32) personality proved with mgetty's real programs from Debian: `sendfax -C
c2.0` (package mgetty-fax) sends two pages to the simulated remote machine pixel for pixel
(and sends a refused page again), and `mgetty -C c2.0` (package mgetty) receives two pages
from it pixel for pixel. Both open modems by name under /dev, so the tests link the
simulator's pty there (needs root, as CI runs) and remove the link after. Fails (never
skips) when a tool is missing.
"""
import os
import subprocess

from modemsim_helpers import dev_link, dte_text, fast_line, make_pbm, need, pbm_of_g3, pbm_rows

from modemsim import ModemConfig

SENDFAX = "/usr/sbin/sendfax"




def _tail(path, n=80):
    with open(path, "rb") as f:
        return "\n".join(f.read().decode("latin-1").splitlines()[-n:])


def _sendfax(tmp_path, config, faults=None, npages=2):
    """Run sendfax -C c2.0 against a simulated modem; returns (rc, log, modem transcript, remote, pbms)."""
    if not os.path.exists(SENDFAX):
        raise AssertionError("%s not found: install the Debian package mgetty-fax" % SENDFAX)
    need("pbmtog3", "netpbm")
    need("g3topbm", "netpbm")
    pbms, g3s = [], []
    for k in range(1, npages + 1):
        pbm = make_pbm(str(tmp_path / ("src%d.pbm" % k)), rows=(90, 60, 50)[k - 1], seed=20 + k)
        g3 = str(tmp_path / ("p%d.g3" % k))
        with open(g3, "wb") as f:
            subprocess.run(["pbmtog3", pbm], stdout=f, stderr=subprocess.DEVNULL, check=True, timeout=30)
        pbms.append(pbm)
        g3s.append(g3)
    with fast_line(tmp_path) as line:
        m = line.add_modem("5550101", config=config)
        r = line.add_remote("5551234", out_dir=str(tmp_path / "rx"), faults=faults)
        tty = dev_link(m.path, "ttyC20sim")
        log = str(tmp_path / "sendfax.log")
        try:
            p = subprocess.Popen([SENDFAX, "-v", "-x", "5", "-l", tty, "-C", "c2.0", "5551234"] + g3s,
                                 stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=str(tmp_path))
            try:
                rc = p.wait(120)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        finally:
            os.remove("/dev/" + tty)
        text = m.transcript
        calls = [c.summary() for c in line.calls]
    return rc, log, text, r, pbms, calls


def test_sendfax_c20_sends_two_pages_to_the_remote_machine_pixel_exact(tmp_path):
    rc, log, text, r, pbms, calls = _sendfax(tmp_path, ModemConfig(fclass="2.0"))
    assert rc == 0, "sendfax returned %d; log:\n%s\nmodem:\n%s" % (rc, _tail(log), text[-3000:])
    # it really spoke Class 2.0: +FCLASS=2.0, +FBO=0 (mgetty 1.2 reverses the file's MSB-first
    # bytes itself), <DLE>, and <DLE>. page ends, +FHS:00 at the end
    assert "AT+FCLASS=2.0<CR>" in dte_text(text) and "AT+FBO=0" in dte_text(text), text[:3000]
    assert "end of page data, MPS" in text and "end of page data, EOP" in text and "+FHS:00" in text
    assert "+FHNG" not in text and "AT+FET" not in text
    got = r.received
    assert [g["ppr"] for g in got] == [1, 1] and all(g["bad_lines"] == 0 for g in got), got
    assert calls[0]["hangups"] == {"5550101": 0}, calls
    for g, src in zip(got, pbms):
        assert pbm_rows(pbm_of_g3(g["path"], g["path"] + ".pbm"))[2] == pbm_rows(src)[2]


def test_sendfax_c20_sends_a_refused_page_again(tmp_path):
    """The remote machine answers RTN to page 1's first transmission: in Class 2.0 the modem
    answers the <DLE><ppm> with ERROR (T.32 8.3.3.7), and sendfax sends the page again."""
    rc, log, text, r, pbms, calls = _sendfax(tmp_path, ModemConfig(fclass="2.0"), faults="ppr=2@1/1")
    assert rc == 0, "sendfax returned %d; log:\n%s\nmodem:\n%s" % (rc, _tail(log), text[-3000:])
    got = r.received
    assert [(g["page"], g["ppr"]) for g in got] == [(1, 2), (1, 1), (2, 1)], got
    assert '"<CR><LF>ERROR<CR><LF>"' in text
    for g, src in zip(got[1:], pbms):
        assert pbm_rows(pbm_of_g3(g["path"], g["path"] + ".pbm"))[2] == pbm_rows(src)[2]


MGETTY = "/usr/sbin/mgetty"
SPOOL_IN = "/var/spool/fax/incoming"       # mgetty's compiled-in fax-spool-in


def test_mgetty_c20_receives_two_pages_from_the_remote_machine_pixel_exact(tmp_path):
    """mgetty (Debian package mgetty) as the receiving getty with -C c2.0: it answers, sends
    +FBO=1 (MSB-first data, stored as it comes) and DC2, and writes each page to its spool.
    Pages have at least 50 lines: mgetty's fax_get_pages refuses shorter ones with +FPS=2
    once +FPS reports line counts."""
    import glob
    import time
    if not os.path.exists(MGETTY):
        raise AssertionError("%s not found: install the Debian package mgetty" % MGETTY)
    if not os.access(SPOOL_IN, os.W_OK):
        raise AssertionError("mgetty writes received faxes to %s, which is not writable here" % SPOOL_IN)
    need("g3topbm", "netpbm")
    pbms = [make_pbm(str(tmp_path / ("in%d.pbm" % k)), rows=rows, seed=30 + k) for k, rows in ((1, 90), (2, 60))]
    before = set(glob.glob(SPOOL_IN + "/*"))
    got = []
    with fast_line(tmp_path, speedup=8.0) as line:
        m = line.add_modem("5550101", config=ModemConfig(fclass="2.0"))
        r = line.add_remote("5551234")
        tty = dev_link(m.path, "ttyC20sim")
        log = str(tmp_path / "mgetty.out")
        try:
            p = subprocess.Popen([MGETTY, "-x", "5", "-C", "c2.0", "-F", "-n", "1", tty],
                                 stdout=open(log, "wb"), stderr=subprocess.STDOUT)
            try:
                end = time.monotonic() + 30
                while "AT+FCC=" not in m.transcript and time.monotonic() < end and p.poll() is None:
                    time.sleep(0.1)
                assert "AT+FCC=" in m.transcript, "mgetty did not initialise the modem:\n" + m.transcript
                time.sleep(0.5)
                job = r.send_fax("5550101", pbms)
                result = job.wait(60)
                rc = p.wait(30)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        finally:
            os.remove("/dev/" + tty)
            got = sorted(set(glob.glob(SPOOL_IN + "/*")) - before)
            for path in glob.glob("/var/log/mgetty/mg_%s.log" % tty):
                os.replace(path, str(tmp_path / "mgetty.log"))      # mgetty's own log, kept with the test
        text = m.transcript
    try:
        assert result == "OK" and job.pprs == [1, 1], (result, job.pprs, text[-3000:])
        assert rc == 0, "mgetty returned %d:\n%s" % (rc, _tail(log))
        assert "AT+FCLASS=2.0<CR>" in dte_text(text) and "AT+FBO=1" in dte_text(text) and "+FHS:00" in text
        assert "+FPS:1,5A,0,0,0" in text          # 90 lines, in hex
        assert len(got) == 2, got
        for path, src in zip(got, pbms):
            assert pbm_rows(pbm_of_g3(path, str(tmp_path / (os.path.basename(path) + ".pbm"))))[2] == pbm_rows(src)[2]
    finally:
        for path in got:
            os.remove(path)
