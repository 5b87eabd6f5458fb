"""mgetty-fax's `sendfax` (Class 2, the real program from Debian) against the simulated modem:
it sends to the simulated remote machine, and to our own Class 2 driver on both runtimes;
every page arrives pixel for pixel. sendfax opens modems by their name under /dev, so each test
links the simulator's pty there (root, as in CI) and removes the link after."""
import os
import subprocess

import pytest
from fax_sim_helpers import RUNTIMES, Sim, drive, fitted, g3_rows, need, pattern_rows, write_pbm
from modemsim_helpers import dev_link, fast_line, pbm_of_g3, pbm_rows




def _g3(pbm, g3):
    """pbm -> G3 (MSB-first, what sendfax reads) with netpbm's pbmtog3."""
    with open(g3, "wb") as f:
        subprocess.run([need("pbmtog3"), pbm], stdout=f, stderr=subprocess.DEVNULL, check=True, timeout=30)
    return g3


def _sendfax(tty, number, pages, log, cls="cls2"):
    need("sendfax")
    return subprocess.Popen([need("sendfax"), "-v", "-x", "5", "-l", tty, "-C", cls, number] + pages,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=os.path.dirname(log))


def _tail(path, n=80):
    with open(path, "rb") as f:
        return "\n".join(f.read().decode("latin-1").splitlines()[-n:])


def test_sendfax_sends_two_pages_to_the_remote_machine_pixel_exact(tmp_path):
    need("g3topbm")
    line = fast_line(tmp_path)
    srcs = []
    for k, rows in ((1, 90), (2, 60)):
        p = str(tmp_path / ("src%d.pbm" % k))
        write_pbm(p, pattern_rows(rows, 1728, k), 1728)
        srcs.append(p)
    g3s = [_g3(p, str(tmp_path / ("p%d.g3" % k))) for k, p in enumerate(srcs, 1)]
    with line:
        m = line.add_modem("5550101", link=str(tmp_path / "ttyA"))
        r = line.add_remote("5551234", out_dir=str(tmp_path / "rx"))
        tty = dev_link(m.path, "ttyFBsim")
        try:
            log = str(tmp_path / "sendfax.log")
            p = _sendfax(tty, "5551234", g3s, log)
            try:
                rc = p.wait(120)
            finally:
                if p.poll() is None:
                    p.kill()
        finally:
            os.remove("/dev/" + tty)
        assert rc == 0, _tail(log)
        got = r.wait_pages(2, 10)
    assert [g["ppr"] for g in got] == [1, 1] and all(g["bad_lines"] == 0 for g in got), got
    for g, src in zip(got, srcs):
        assert pbm_rows(pbm_of_g3(g["path"], g["path"] + ".pbm"))[2] == pbm_rows(src)[2]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_we_receive_sendfax_pixel_exact(runtime):
    with Sim(speedup=8, remote=False, modem_b=True) as s:
        rows = [pattern_rows(120, 1728, 3), pattern_rows(70, 1728, 4)]
        g3s = []
        for k, r in enumerate(rows, 1):
            write_pbm(s.path("p%d.pbm" % k), r, 1728)
            g3s.append(_g3(s.path("p%d.pbm" % k), s.path("p%d.g3" % k)))
        os.makedirs(s.path("in"))
        tty = dev_link(s.tty_b, "ttyFBsim")
        log = s.path("sendfax.log")
        try:
            sf = subprocess.Popen(["sh", "-c", 'sleep 2; exec "$@"', "sh", need("sendfax"), "-v", "-x", "5",
                                   "-l", tty, "-C", "cls2", "5550101"] + g3s,
                                  stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=s.dir)
            try:
                rc, ev, err = drive(runtime, s, ["recv", s.path("in")], timeout=120)
                src = sf.wait(60)
            finally:
                if sf.poll() is None:
                    sf.kill()
                    sf.wait()
        finally:
            os.remove("/dev/" + tty)
        assert rc == 0, (ev, err, _tail(log))
        assert src == 0, _tail(log)
        end = [e for e in ev if e["event"] == "end"][-1]
        assert end["code"] == 0 and end["pages"] == 2, (end, _tail(log))
        for k, r in enumerate(rows, 1):
            assert g3_rows(s.path("in/page%d.g3" % k)) == fitted(r, 1728)
