"""`python tools/modemsim`: the command line runs a line, prints the ptys, obeys stdin commands."""
import json
import os
import select
import subprocess
import sys
import time

from modemsim_helpers import Dte, make_pbm, wire_of_pbm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "tools", "modemsim")


_pending = {}


def read_until(proc, word, timeout=10.0):
    """Lines of modemsim's stdout up to the first starting with word (raw fd reads: no buffering)."""
    lines = []
    buf = _pending.setdefault(proc.pid, bytearray())
    fd = proc.stdout.fileno()
    end = time.monotonic() + timeout
    while True:
        while b"\n" in buf:
            k = buf.index(b"\n")
            line = buf[:k].decode()
            del buf[:k + 1]
            lines.append(line)
            if line.startswith(word):
                return lines
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], min(left, 0.1))
        if r:
            data = os.read(fd, 4096)
            if not data:
                break
            buf += data
    raise AssertionError("no %r from modemsim within %.0f s: %r" % (word, timeout, lines))


def start(*args):
    return subprocess.Popen([sys.executable, CLI] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_help():
    out = subprocess.run([sys.executable, CLI, "--help"], capture_output=True, timeout=30)
    assert out.returncode == 0 and b"--modem" in out.stdout and b"--fault" in out.stdout


def test_cli_line_with_a_modem_and_a_remote_machine(tmp_path):
    link = str(tmp_path / "ttyFAX0")
    proc = start("--modem", "100:" + link, "--remote", "200:" + str(tmp_path / "rx"), "--fault", "300:busy",
                 "--remote", "300", "--speedup", "40", "--ring-interval", "0.2", "--log-dir", str(tmp_path / "logs"))
    try:
        lines = read_until(proc, "READY")
        assert any(line.startswith("modem 100 /dev/pts/") and line.endswith(link) for line in lines), lines
        d = Dte(link)
        d.cmd("ATE0")
        d.cmd("AT+FCLASS=2")
        assert d.cmd("ATD300") == ["BUSY"]
        assert d.cmd("ATD200")[-1] == "OK"
        assert d.cmd("AT+FDT")[-1] == "CONNECT"
        d.send_page(wire_of_pbm(make_pbm(str(tmp_path / "p.pbm"), rows=20)))
        assert d.responses() == ["OK"]
        assert d.cmd("AT+FET=2") == ["+FPTS:1", "+FHNG:0", "OK"]
        d.close()
        proc.stdin.write(b"status\n")
        proc.stdin.flush()
        calls = [json.loads(x) for x in read_until(proc, '{"id": 2')[-1:]]
        assert calls[0]["number"] == "200" and calls[0]["pages"][0]["ppr"] == 1
        assert os.listdir(str(tmp_path / "rx")) == ["rx-002-01.g3"]
        assert os.path.exists(str(tmp_path / "logs" / "modem-100.log"))
        proc.stdin.write(b"quit\n")
        proc.stdin.flush()
        assert proc.wait(10) == 0
        assert not os.path.lexists(link)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_cli_remote_machine_calls_a_modem(tmp_path):
    link = str(tmp_path / "ttyFAX1")
    pbm = make_pbm(str(tmp_path / "p.pbm"), rows=20)
    proc = start("--modem", "100:" + link, "--remote", "200", "--speedup", "40", "--ring-interval", "0.2",
                 "--call", "200:100:" + pbm, "--call-after", "1.0", "--no-stdin", "--duration", "20")
    try:
        read_until(proc, "modem 100")
        d = Dte(link)
        d.cmd("ATE0")
        d.cmd("AT+FCLASS=2;+FCR=1")
        assert d.read_line(timeout=10) == "RING"
        assert d.cmd("ATA")[-1] == "OK"
        assert d.cmd("AT+FDR")[-1] == "CONNECT"
        d.write(b"\x12")
        assert len(d.read_page()) > 100
        assert d.responses() == ["+FPTS:1,20", "+FET:2", "OK"]
        assert d.cmd("AT+FDR") == ["+FHNG:0", "OK"]
        assert read_until(proc, "fax 100: OK")
        d.close()
    finally:
        proc.terminate()
        proc.wait(10)
