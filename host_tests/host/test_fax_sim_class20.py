"""Our driver in Class 2.0 (T.32), on CPython and on the MicroPython unix port
(tools/faxdrive.py --class 2.0 over a pty), against the simulator's Class 2.0 personality: a
three-page send and a two-page reception pixel for pixel, faults named by their +FHS codes,
fclass auto against the personalities "2", "2.0" and "both", and established software on the
other end: efax -o0 receiving from us and sending to us, mgetty's sendfax -C c2.0 sending to us.
Fails (never skips) when a tool is missing."""
import os
import subprocess
import threading
import time

import pytest

from fax_sim_helpers import (Sim, drive, efax_rows, fitted, final, g3_rows, need,
                             pattern_rows, write_pbm)
from modemsim_helpers import dev_link

RUNTIMES = ("cpython", "micropython")
C20 = "fclass=2.0"
FAST = ["dial_timeout=6", "connect_timeout=4", "hangup_timeout=2", "reset_timeout=2",
        "xoff_limit=3", "page_end_timeout=6", "fet_timeout=4", "reset_backoff=3"]
SENDFAX = "/usr/sbin/sendfax"


def transcript(s, number="5550101"):
    with open(s.path("log/modem-%s.log" % number)) as f:
        return f.read()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_three_page_send_in_class20_pixel_exact(runtime):
    with Sim(speedup=16, config=C20) as s:
        r1 = pattern_rows(200, 1728, 1)
        r2 = pattern_rows(150, 900, 2)
        r3 = pattern_rows(90, 1728, 3)
        for n, rows, w in (("p1", r1, 1728), ("p2", r2, 900), ("p3", r3, 1728)):
            write_pbm(s.path(n + ".pbm"), rows, w)
        rc, ev, err = drive(runtime, s, ["--class", "2.0", "send", "5551234"] +
                            [s.path(n + ".pbm") for n in ("p1", "p2", "p3")])
        assert rc == 0, (ev, err, s.log())
        f = final(ev)
        assert f["code"] == 0 and f["pages"] == 3 and f["pprs"] == [1, 1, 1], f
        assert f["hangup"] == ["00", "call", "Normal and proper end of connection"], f
        assert f["remote_id"] == "+1 555 0100" and f["params"]["coding"] == "MH", f
        got = sorted(p["path"] for p in s.remote.received)
        assert [g3_rows(g) for g in got] == [fitted(r1, 1728), fitted(r2, 900), fitted(r3, 1728)]
        assert [p["bad_lines"] for p in s.remote.received] == [0, 0, 0]
        text = transcript(s)
        assert "AT+FCLASS=2.0" in text and "end of page data, MPS" in text and "end of page data, EOP" in text
        assert "AT+FET" not in text and "+FHNG" not in text and "ERROR" not in text, text[-3000:]
        assert not s.ignored_xoff()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_receive_two_pages_in_class20_pixel_exact(runtime):
    with Sim(speedup=16, config=C20) as s:
        r1 = pattern_rows(120, 1728, 3)
        r2 = pattern_rows(80, 1000, 5)
        write_pbm(s.path("p1.pbm"), r1, 1728)
        write_pbm(s.path("p2.pbm"), r2, 1000)
        os.makedirs(s.path("in"))
        job = []
        pages = [s.path("p1.pbm"), s.path("p2.pbm")]
        th = threading.Timer(1.0, lambda: job.append(s.remote.send_fax("5550101", pages)))
        th.start()
        rc, ev, err = drive(runtime, s, ["--class", "2.0", "recv", s.path("in")], timeout=60)
        th.join()
        assert rc == 0, (ev, err, s.log())
        end = [e for e in ev if e["event"] == "end"][-1]
        assert end["dir"] == "rx" and end["code"] == 0 and end["pages"] == 2, end
        assert end["remote_id"] == "+1 555 0100" and end["hangup"][0] == "00", end
        pages = [e for e in ev if e["event"] == "page"]
        assert [(p["lines"], p["bad_lines"], p["ppr"]) for p in pages] == [(120, 0, 1), (80, 0, 1)]
        assert job[0].wait(10) == "OK" and job[0].pprs == [1, 1]
        assert g3_rows(s.path("in/page1.g3")) == fitted(r1, 1728)
        assert g3_rows(s.path("in/page2.g3")) == fitted(r2, 1000)
        text = transcript(s)
        assert "AT+FBO=0" in text and "+FPS:1,78,0,0,0" in text   # 120 lines = 0x78: hex


# Faults named by their T.32 code (the simulator's fhs=), with the final code and +FHS; every
# row of the table has its InterFAX code in host_tests/core/test_fax_class20.py.
FAULTS20 = (
    ("busy", 263, None, []),
    ("fhs=11", 9001, "11", []),
    ("fhs=25", 3224, "25", []),
    ("fhs=27", 3233, "27", []),
    ("fhs=43", 205001, "43", []),
    ("fhs=54", 3268, "54", [None]),          # injected at the first post-page message
    ("ppr=2", 3268, "02", [2, 2]),            # ERROR to <DLE>,: RTN, sent again, RTN: +FKS
    ("ppr=2@1/1", 0, "00", [2, 1, 1]),        # refused once, then confirmed
    ("drop=3000", 3268, None, []),
)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("spec,code,fhs,pprs", FAULTS20, ids=[f[0] for f in FAULTS20])
def test_class20_fault_ends_with_the_right_code(runtime, spec, code, fhs, pprs):
    with Sim(speedup=16, config=C20, faults=spec) as s:
        write_pbm(s.path("p.pbm"), pattern_rows(150, 1728, 1), 1728)
        rc, ev, err = drive(runtime, s, ["--class", "2.0", "send", "5551234", s.path("p.pbm"), s.path("p.pbm")],
                            FAST, timeout=60)
        assert rc == 0, ("no final status", ev, err, s.log())
        f = final(ev)
        assert f["code"] == code, (spec, f, s.log())
        if fhs is not None:
            assert f["hangup"][0] == fhs, (spec, f)
        if pprs:
            assert f["pprs"] == pprs, (spec, f)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("personality,order,want", (("2", "2.0,2", "2"), ("2.0", "2.0,2", "2.0"),
                                                    ("both", "2.0,2", "2.0"), ("both", "2,2.0", "2")))
def test_auto_detects_the_class(runtime, personality, order, want):
    with Sim(speedup=16, config="fclass=" + personality) as s:
        r1 = pattern_rows(60, 1728, 4)
        write_pbm(s.path("p.pbm"), r1, 1728)
        rc, ev, err = drive(runtime, s, ["--class", "auto", "--class-order", order, "send", "5551234",
                                         s.path("p.pbm")], timeout=60)
        assert rc == 0, (ev, err, s.log())
        assert {"event": "modem", "state": "class", "class": want} in ev, ev
        f = final(ev)
        assert f["code"] == 0 and f["pages"] == 1, f
        assert g3_rows(s.remote.received[0]["path"]) == fitted(r1, 1728)
        assert ('"AT+FCLASS=%s<CR>"' % want) in transcript(s)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_efax_o0_receives_our_class20_fax_pixel_exact(runtime):
    need("efax")
    with Sim(speedup=1, remote=False, modem_b=True, config=C20, config_b=C20) as s:
        r1 = pattern_rows(150, 1728, 7)
        r2 = pattern_rows(100, 1200, 8)
        write_pbm(s.path("p1.pbm"), r1, 1728)
        write_pbm(s.path("p2.pbm"), r2, 1200)
        os.makedirs(s.path("efax"))
        ef = subprocess.Popen(["efax", "-d", s.tty_b, "-o0", "-iS0=1", "-w", "-r", s.path("efax/fax")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(2.0)
            rc, ev, err = drive(runtime, s, ["--class", "2.0", "send", "5550202", s.path("p1.pbm"),
                                             s.path("p2.pbm")], timeout=90)
            out, _ = ef.communicate(timeout=30)
        finally:
            if ef.poll() is None:
                ef.kill()
                ef.communicate()
        assert rc == 0, (ev, err)
        f = final(ev)
        assert f["code"] == 0 and f["pages"] == 2, (f, out)
        assert ef.returncode == 0, out
        assert efax_rows(s.path("efax/fax.001")) == fitted(r1, 1728)
        assert efax_rows(s.path("efax/fax.002")) == fitted(r2, 1200)
        assert "AT+FCLASS=2.0" in transcript(s, "5550202")      # efax spoke Class 2.0 too


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_we_receive_efax_o0_in_class20_pixel_exact(runtime):
    need("efax")
    with Sim(speedup=1, remote=False, modem_b=True, config=C20, config_b=C20) as s:
        r1 = pattern_rows(150, 1728, 9)
        r2 = pattern_rows(90, 1728, 10)
        tifs = []
        for k, rows in ((1, r1), (2, r2)):
            write_pbm(s.path("p%d.pbm" % k), rows, 1728)
            tif = subprocess.run([need("efix"), "-i", "pbm", "-o", "tiffg3", s.path("p%d.pbm" % k)],
                                 capture_output=True, check=True, timeout=60).stdout
            with open(s.path("p%d.tif" % k), "wb") as f:
                f.write(tif)
            tifs.append(s.path("p%d.tif" % k))
        os.makedirs(s.path("in"))
        ef = subprocess.Popen(["sh", "-c", 'sleep 2; exec efax -d "$0" -o0 -h "" -t 5550101 "$1" "$2"',
                               s.tty_b] + tifs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            rc, ev, err = drive(runtime, s, ["--class", "2.0", "recv", s.path("in")], timeout=120)
            out, _ = ef.communicate(timeout=60)
        finally:
            if ef.poll() is None:
                ef.kill()
                ef.communicate()
        assert rc == 0, (ev, err)
        end = [e for e in ev if e["event"] == "end"][-1]
        assert end["code"] == 0 and end["pages"] == 2, (end, out)
        assert ef.returncode == 0, out
        for k, rows in ((1, r1), (2, r2)):
            got = g3_rows(s.path("in/page%d.g3" % k))
            # efax's 20-line header, blank with -h ""
            assert got[:20] == [bytes(216)] * 20 and got[20:] == fitted(rows, 1728), k
        assert "AT+FCLASS=2.0" in transcript(s, "5550202")




@pytest.mark.parametrize("runtime", RUNTIMES)
def test_sendfax_c20_sends_to_us_pixel_exact(runtime):
    assert os.path.exists(SENDFAX), "%s not found: install the Debian package mgetty-fax" % SENDFAX
    need("pbmtog3")
    with Sim(speedup=1, remote=False, modem_b=True, config=C20, config_b=C20) as s:
        rows = (pattern_rows(90, 1728, 11), pattern_rows(60, 1728, 12))
        g3s = []
        for k, r in enumerate(rows):
            write_pbm(s.path("s%d.pbm" % k), r, 1728)
            with open(s.path("s%d.g3" % k), "wb") as f:
                subprocess.run([need("pbmtog3"), s.path("s%d.pbm" % k)], stdout=f,
                               stderr=subprocess.DEVNULL, check=True, timeout=30)
            g3s.append(s.path("s%d.g3" % k))
        os.makedirs(s.path("in"))
        tty = dev_link(s.tty_b, "ttyC20drv")
        log = s.path("sendfax.log")
        try:
            sf = subprocess.Popen(["sh", "-c", 'sleep 2; exec "$0" "$@"', SENDFAX, "-v", "-x", "5", "-l", tty,
                                   "-C", "c2.0", "5550101"] + g3s,
                                  stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=s.dir)
            try:
                rc, ev, err = drive(runtime, s, ["--class", "2.0", "recv", s.path("in")], timeout=120)
                src = sf.wait(60)
            finally:
                if sf.poll() is None:
                    sf.kill()
                    sf.wait()
        finally:
            os.remove("/dev/" + tty)
        with open(log, "rb") as f:
            slog = f.read().decode("latin-1")[-3000:]
        assert rc == 0, (ev, err, slog)
        end = [e for e in ev if e["event"] == "end"][-1]
        assert end["code"] == 0 and end["pages"] == 2, (end, slog)
        assert src == 0, slog
        for k, r in enumerate(rows):
            assert g3_rows(s.path("in/page%d.g3" % (k + 1))) == fitted(r, 1728), k
        assert "AT+FCLASS=2.0" in transcript(s, "5550202")
