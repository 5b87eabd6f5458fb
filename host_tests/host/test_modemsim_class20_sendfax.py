"""Class 2.0 (T.32) personality proved with mgetty-fax's real `sendfax -C c2.0` (Debian
package mgetty-fax): two pages to the simulated remote machine, pixel for pixel. sendfax
opens modems by name under /dev, so the test links the simulator's pty there (needs root,
as CI runs) and removes the link after. Fails (never skips) when a tool is missing.
"""
import os
import subprocess

from modemsim_helpers import fast_line, make_pbm, need, pbm_of_g3, pbm_rows

from modemsim import ModemConfig

SENDFAX = "/usr/sbin/sendfax"


def _dev_link(target):
    """/dev/ttyC20sim<pid><n> -> target; returns the tty name sendfax takes with -l."""
    for n in range(100):
        name = "ttyC20sim%d%d" % (os.getpid(), n)
        path = "/dev/" + name
        if not os.path.lexists(path):
            try:
                os.symlink(os.path.realpath(target), path)
            except PermissionError:
                raise AssertionError("sendfax needs its modem under /dev: run the tests as root (CI does)")
            return name
    raise AssertionError("no free /dev/ttyC20sim name")


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
        tty = _dev_link(m.path)
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
    assert 'DTE->DCE "AT+FCLASS=2.0<CR>"' in text and "AT+FBO=0" in text, text[:3000]
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
