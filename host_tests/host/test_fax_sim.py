"""The Class 2 driver against the modem simulator, with the firmware's code running on CPython
and on the MicroPython unix port (tools/faxdrive.py over a pty): a three-page send, receptions,
every fault the simulator injects and the real-modem quirks of issue 7 item 8, and a fax that
efax receives from our driver through two simulated modems, compared pixel for pixel."""
import os
import subprocess
import threading
import time

import pytest

from fax_sim_helpers import (Faults, Sim, drive, efax_rows, fitted, final, g3_rows, need,
                             pattern_rows, write_pbm)

from faxbridge.core.fax import textpage  # noqa: E402

RUNTIMES = ("cpython", "micropython")
# Short timeouts so that faults end quickly (the defaults are minutes).
FAST = ["dial_timeout=6", "connect_timeout=4", "hangup_timeout=2", "reset_timeout=2",
        "xoff_limit=3", "page_end_timeout=6", "fet_timeout=4", "reset_backoff=3"]


def text_rows(path, index=0):
    with open(path, "rb") as f:
        doc = textpage.TextPages(f.read(), fine=True)
    rows = doc.page(index)
    out = []
    row = bytearray(216)
    while rows.readrow(row):
        out.append(bytes(row))
    return out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_three_page_send_arrives_pixel_exact(runtime):
    with Sim(speedup=16) as s:
        r1 = pattern_rows(200, 1728, 1)
        r2 = pattern_rows(150, 900, 2)         # narrower: padded with white to 1728
        write_pbm(s.path("p1.pbm"), r1, 1728)
        write_pbm(s.path("p2.pbm"), r2, 900)
        with open(s.path("p3.txt"), "w") as f:
            f.write("faxbridge Class 2 driver\nthird page, text\n\x10 DLE and \x11 XON bytes\n")
        rc, ev, err = drive(runtime, s, ["send", "5551234", s.path("p1.pbm"), s.path("p2.pbm"),
                                             s.path("p3.txt")])
        assert rc == 0, (ev, err, s.log())
        f = final(ev)
        assert f["code"] == 0 and f["pages"] == 3 and f["pprs"] == [1, 1, 1], f
        assert f["hangup"] == [0, "call", "Normal and proper end of connection"]
        assert f["remote_id"] == "+1 555 0100" and f["params"]["coding"] == "MH"
        codes = [e["code"] for e in ev if e["event"] == "status"]
        assert codes == [-1, -2, -3, 0]
        got = sorted(p["path"] for p in s.remote.received)
        assert len(got) == 3
        assert g3_rows(got[0]) == fitted(r1, 1728)
        assert g3_rows(got[1]) == fitted(r2, 900)
        assert g3_rows(got[2]) == text_rows(s.path("p3.txt"))
        assert not s.ignored_xoff()


def _receive(runtime, config="", sets=()):
    with Sim(speedup=16, config=config) as s:
        r1 = pattern_rows(120, 1728, 3)
        r2 = pattern_rows(80, 1000, 5)
        write_pbm(s.path("p1.pbm"), r1, 1728)
        write_pbm(s.path("p2.pbm"), r2, 1000)
        os.makedirs(s.path("in"))
        job = []

        def call():
            time.sleep(1.0)
            job.append(s.remote.send_fax("5550101", [s.path("p1.pbm"), s.path("p2.pbm")]))
        th = threading.Thread(target=call)
        th.start()
        rc, ev, err = drive(runtime, s, ["recv", s.path("in")], sets, timeout=60)
        th.join()
        assert rc == 0, (ev, err, s.log())
        end = [e for e in ev if e["event"] == "end"][-1]
        assert end["dir"] == "rx" and end["code"] == 0 and end["pages"] == 2, end
        assert end["remote_id"] == "+1 555 0100" and end["hangup"][0] == 0
        assert end["params"]["vr_lpi"] in (98, 196)
        pages = [e for e in ev if e["event"] == "page"]
        assert [(p["lines"], p["bad_lines"], p["ppr"]) for p in pages] == [(120, 0, 1), (80, 0, 1)]
        assert job[0].wait(10) == "OK" and job[0].pprs == [1, 1]
        assert g3_rows(s.path("in/page1.g3")) == fitted(r1, 1728)
        assert g3_rows(s.path("in/page2.g3")) == fitted(r2, 1000)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_receive_two_pages_pixel_exact(runtime):
    _receive(runtime)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_receive_from_lsb_first_dc1_modem_per_config(runtime):
    _receive(runtime, "rx_bit_order=lsb,rx_trigger=dc1", ["rx_msb_first=False", "rx_start=DC1"])


# (fault spec, final code, evidence checks) -- every fault of tools/modemsim/faults.py
FAULTS = (
    ("busy", 263, {"result": "BUSY", "hangup": None}),
    ("no_answer", 8021, {"result": "NO ANSWER"}),
    ("no_carrier", 3912, {"result": "NO CARRIER"}),
    ("voice", 3936, {"result": "VOICE"}),
    ("no_dialtone", 205001, {"result": "NO DIALTONE"}),
    ("hangup=11", 9001, {"hangup": [11, "A", "No Answer (T.30 T1 timeout)"]}),
    ("hangup=25", 3224, {"hangup": [25, "B", "DCS sent three times without response."]}),
    ("hangup=27", 3233, {"hangup": [27, "B", "Failure to train at 2400 bps or +FMINSP value."]}),
    ("hangup=21", 3211, {"hangup": [21, "B", "Remote cannot receive or send"]}),
    ("hangup=43", 205001, {"hangup": [43, "C", "DTE to DCE data underflow"]}),
    ("hangup=54", 3268, {"hangup": [54, "D", "No response to EOP repeated 3 times."]}),
    ("hangup=3", 205001, {"hangup": [3, "call", "No Loop Current"]}),
    ("hangup=1", 488, {"hangup": [1, "call", "Ring Detect without successful handshake"]}),
    ("ppr=2", 3268, {"pprs": [2, 2], "pages": 0}),                 # RTN, sent again, RTN: give up
    ("ppr=2@2", 3268, {"pprs": [1, 2, 2], "pages": 1}),
    ("ppr=3", 0, {"pprs": [3, 3], "pages": 2}),                    # RTP: good, retrain
    ("drop=3000", 3268, {"pages": 0}),
    ("drop=3000@2", 3268, {"pages": 1, "pprs": [1]}),
    ("noise=20", 0, {"pages": 2}),
    ("page_noise=50", 0, {"pages": 2}),
    ("dead=D", 205001, {}),
    ("dead=+FDT", 205001, {}),
    ("dead=+FET", 205001, {}),
    ("xoff=inf", 205001, {}),
    ("xoff=2", 0, {"pages": 2}),
)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("spec,code,evidence", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_ends_with_the_right_code_and_evidence(runtime, spec, code, evidence):
    with Sim(speedup=16, faults=spec) as s:
        write_pbm(s.path("p.pbm"), pattern_rows(150, 1728, 1), 1728)
        t0 = time.monotonic()
        rc, ev, err = drive(runtime, s, ["send", "5551234", s.path("p.pbm"), s.path("p.pbm")], FAST,
                            timeout=60)
        assert rc == 0, ("no final status", ev, err, s.log())
        assert time.monotonic() - t0 < 45
        f = final(ev)
        assert f["code"] == code, (spec, f, s.log())
        for k, v in evidence.items():
            assert f[k] == v, (spec, k, f)
        if spec.startswith("dead"):
            assert "reset" in [e.get("state") for e in ev if e["event"] == "modem"]
        if spec.startswith("hangup") or spec.startswith("drop"):
            assert f["hangup"] is not None and f["hangup"][2]


# Faults on calls coming in to our modem: (spec, code, kept pages, +FHNG code or None).
RX_FAULTS = (
    ("drop=3000", 7200, 0, 90),        # line drops mid-page: the cut page is not kept
    ("page_noise=50", 0, 2, 0),        # a few bad lines: still within rx_bad_pct
    ("hangup=70", 7200, 0, 70),
    ("hangup=91", 7200, 0, 91),
    ("hangup=100", 7200, 0, 100),      # page data complete, but no +FET: not confirmed
    ("ppr=2", 0, 2, 0),                # the modem's verdict is RTN, ours (line counts) wins
    ("noise=20", 0, 2, 0),
    ("dead=+FDR", 205001, 0, None),
    ("dead=A", 205001, 0, None),       # the modem dies at ATA (the call rings on unanswered)
)
RX_FAST = ["hangup_timeout=2", "reset_timeout=2", "rx_idle_timeout=4", "fdr_timeout=6",
           "answer_timeout=6", "fet_timeout=4"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("spec,code,pages,hsc", RX_FAULTS, ids=[f[0] for f in RX_FAULTS])
def test_receive_fault_ends_with_the_right_code(runtime, spec, code, pages, hsc):
    with Sim(speedup=16) as s:
        s.line.set_faults("5550101", Faults.parse(spec))
        write_pbm(s.path("p.pbm"), pattern_rows(300, 1728, 3), 1728)
        os.makedirs(s.path("in"))
        th = threading.Timer(1.0, lambda: s.remote.send_fax("5550101", [s.path("p.pbm")] * 2))
        th.start()
        rc, ev, err = drive(runtime, s, ["recv", s.path("in")], RX_FAST, timeout=60)
        th.join()
        assert rc == 0, ("no end of the reception", ev, err, s.log())
        end = [e for e in ev if e["event"] == "end"]
        assert len(end) == 1, ev
        end = end[0]
        assert end["dir"] == "rx" and end["code"] == code and end["pages"] == pages, (spec, end)
        assert (end["hangup"] or [None])[0] == hsc, (spec, end)
        if spec.startswith("dead"):
            assert "reset" in [e.get("state") for e in ev if e["event"] == "modem"]


# (switch, a transcript line that proves the quirk happened, or None)
QUIRKS = (
    ("fdt_ok_first=1", "switch: OK instead of CONNECT"),
    ("xon_after_connect=0", None),
    ("fpts_on_last=0", "switch: no +FPTS on the last page"),
    ("fpts_fields=4", None),
    ("always_echo=1", 'DCE->DTE "AT+FDT<CR>"'),       # echo left on: ATE0 ignored
    ("ring_in_command=3", 'DCE->DTE "<CR><LF>RING<CR><LF>"'),   # RING while a command is answered
)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("config,proof", QUIRKS, ids=[q[0] for q in QUIRKS])
def test_real_modem_quirks(runtime, config, proof):
    with Sim(speedup=16, config=config) as s:
        write_pbm(s.path("p.pbm"), pattern_rows(100, 1728, 4), 1728)
        rc, ev, err = drive(runtime, s, ["send", "5551234"] + [s.path("p.pbm")] * 3, timeout=60)
        assert rc == 0, (ev, err)
        f = final(ev)
        assert f["code"] == 0 and f["pages"] == 3, (config, f)
        assert len(s.remote.received) == 3
        if proof:
            assert proof in s.a.transcript, (config, s.a.transcript[-3000:])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cancel_during_page_data(runtime):
    with Sim(speedup=1) as s:
        write_pbm(s.path("p.pbm"), pattern_rows(1500, 1728, 6), 1728)
        # default timeouts: a pty takes page data far faster than a UART, so the modem may
        # hold many kilobytes to drain at line rate after the cancel's DLE ETX
        rc, ev, err = drive(runtime, s, ["--cancel-after", "1.0", "send", "5551234", s.path("p.pbm")],
                            timeout=90)
        assert rc == 0, (ev, err)
        f = final(ev)
        assert f["code"] == 403 and f["pages"] == 0 and f["hangup"], (f, s.log())
        assert f["hangup"][0] == 2, f
        assert not s.ignored_xoff()
        assert "phase" in str([e for e in ev if e["event"] == "progress"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_efax_receives_our_fax_pixel_exact(runtime):
    need("efax")
    with Sim(speedup=1, remote=False, modem_b=True) as s:
        r1 = pattern_rows(150, 1728, 7)
        r2 = pattern_rows(100, 1200, 8)
        write_pbm(s.path("p1.pbm"), r1, 1728)
        write_pbm(s.path("p2.pbm"), r2, 1200)
        os.makedirs(s.path("efax"))
        ef = subprocess.Popen(["efax", "-d", s.tty_b, "-o2", "-iS0=1", "-w", "-r", s.path("efax/fax")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(2.0)
            rc, ev, err = drive(runtime, s, ["send", "5550202", s.path("p1.pbm"), s.path("p2.pbm")],
                                timeout=90)
            out, _ = ef.communicate(timeout=30)
        finally:
            if ef.poll() is None:
                ef.kill()
                ef.communicate()
        assert rc == 0, (ev, err)
        f = final(ev)
        assert f["code"] == 0 and f["pages"] == 2, (f, out)
        assert ef.returncode == 0, out
        assert "0 errors" in out
        assert efax_rows(s.path("efax/fax.001")) == fitted(r1, 1728)
        assert efax_rows(s.path("efax/fax.002")) == fitted(r2, 1200)
        assert not s.ignored_xoff()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_we_receive_efax_pixel_exact(runtime):
    need("efax")
    with Sim(speedup=1, remote=False, modem_b=True) as s:
        r1 = pattern_rows(150, 1728, 9)
        write_pbm(s.path("p1.pbm"), r1, 1728)
        tif = subprocess.run([need("efix"), "-i", "pbm", "-o", "tiffg3", s.path("p1.pbm")],
                             capture_output=True, check=True, timeout=60).stdout
        with open(s.path("p1.tif"), "wb") as f:
            f.write(tif)
        os.makedirs(s.path("in"))
        # efax puts a 20-line header on the page; -h "" makes it blank
        ef = subprocess.Popen(["sh", "-c", 'sleep 2; exec efax -d "$0" -o2 -h "" -t 5550101 "$1"',
                               s.tty_b, s.path("p1.tif")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            rc, ev, err = drive(runtime, s, ["recv", s.path("in")], timeout=90)
            out, _ = ef.communicate(timeout=60)
        finally:
            if ef.poll() is None:
                ef.kill()
                ef.communicate()
        assert rc == 0, (ev, err)
        end = [e for e in ev if e["event"] == "end"][-1]
        assert end["code"] == 0 and end["pages"] == 1, (end, out)
        assert "returning 0" in out, out
        got = g3_rows(s.path("in/page1.g3"))
        assert len(got) == 170 and got[:20] == [bytes(216)] * 20
        assert got[20:] == fitted(r1, 1728)
