"""Helpers for the Class 2 driver's integration tests: the modem simulator (tools/modemsim),
tools/faxdrive.py on CPython or on the MicroPython unix port, PBM pages compared pixel by pixel."""
import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from modemsim import Faults, Line, ModemConfig  # noqa: E402,F401

VENV = os.path.join(ROOT, ".venv", "bin")
RUNTIMES = {"cpython": os.path.join(VENV, "python"), "micropython": os.path.join(VENV, "micropython")}
DRIVE = os.path.join(ROOT, "tools", "faxdrive.py")
WIDTH = 1728


def need(tool):
    path = shutil.which(tool)
    pkg = {"g3topbm": "netpbm", "efix": "efax"}.get(tool, tool)
    assert path, "%s is not installed: apt-get install %s" % (tool, pkg)
    return path


def write_pbm(path, rows, width):
    """rows: list of bytes (width // 8 each, 1 = black)."""
    with open(path, "wb") as f:
        f.write(b"P4\n%d %d\n" % (width, len(rows)))
        for r in rows:
            f.write(r)


def pattern_rows(n, width, seed):
    """A test picture: stripes, a diagonal, solid blocks and a DLE/XON-rich region."""
    nb = (width + 7) // 8
    rows = []
    for y in range(n):
        r = bytearray(nb)
        for x in range(nb):
            v = ((x * 7 + y * 3 + seed) % 23)
            if v < 3:
                r[x] = 0xFF
            elif v == 5:
                r[x] = 0x10       # wire bytes equal to DLE appear often
            elif v == 7:
                r[x] = 0x11
        d = (y + seed) % (nb * 8)
        r[d // 8] |= 0x80 >> (d % 8)
        if width % 8:
            r[-1] &= (0xFF << (8 - width % 8)) & 0xFF
        rows.append(bytes(r))
    return rows


def read_pbm(path_or_bytes):
    """(width, height, rows) of a P4 PBM."""
    data = path_or_bytes
    if isinstance(data, str):
        with open(data, "rb") as f:
            data = f.read()
    assert data[:2] == b"P4", data[:20]
    fields = []
    i = 2
    while len(fields) < 2:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            while data[i:i + 1] != b"\n":
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(int(data[i:j]))
        i = j
    i += 1
    w, h = fields
    nb = (w + 7) // 8
    return w, h, [data[i + k * nb:i + (k + 1) * nb] for k in range(h)]


def fitted(rows, width, to=WIDTH):
    """Rows as the driver sends them: cut or padded with white to `to` pixels."""
    nb = to // 8
    out = []
    for r in rows:
        r = bytearray(r[:nb]) + bytearray(max(0, nb - len(r)))
        if width < to and width % 8:
            r[width // 8] &= (0xFF << (8 - width % 8)) & 0xFF
        out.append(bytes(r))
    return out


def g3_rows(path):
    """Rows of a MSB-first .g3 file, decoded by netpbm's g3topbm."""
    out = subprocess.run([need("g3topbm"), path], check=True, capture_output=True, timeout=60).stdout
    w, h, rows = read_pbm(out)
    assert w == WIDTH, w
    return rows


def efax_rows(path):
    """Rows of a page efax received (TIFF/G3), decoded by efix."""
    out = subprocess.run([need("efix"), "-i", "fax", "-o", "pbm", path], check=True,
                         capture_output=True, timeout=60).stdout
    return read_pbm(out)[2]


def drive(runtime, sim, args, sets=(), timeout=180):
    """Run tools/faxdrive.py on sim's modem A; returns (returncode, events, stderr).

    Page data is paced like a UART at sim.baud (a pty would take it far faster than the
    modem's XOFF could stop it)."""
    cmd = [RUNTIMES[runtime], DRIVE, "--tty", sim.tty, "--timeout", str(timeout), "--baud", str(sim.baud)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout + 30, cwd=ROOT)
    events = []
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
        else:
            raise AssertionError("faxdrive printed %r\nstderr: %s" % (line, p.stderr))
    return p.returncode, events, p.stderr


def final(events):
    fs = [e for e in events if e["event"] == "status" and e["final"]]
    assert len(fs) == 1, events
    return fs[0]


class Sim:
    """A line with our modem (A, 5550101) and a remote fax machine (5551234) or a second modem."""

    def __init__(self, speedup=8.0, remote=True, modem_b=False, config=None, faults=None, timeouts=None,
                 config_b=None):
        self.dir = tempfile.mkdtemp(prefix="faxsim-")
        # a UART three times faster than the (sped-up) 14400 bit/s line, at least 115200 baud
        self.baud = max(115200, int(speedup * 14400 * 3))
        self.line = Line(speedup=speedup, log_dir=os.path.join(self.dir, "log"), timeouts=timeouts)
        self.tty = os.path.join(self.dir, "ttyA")
        self.line.start()
        self.a = self.line.add_modem("5550101", link=self.tty,
                                     config=ModemConfig.from_spec(config or ""))
        self.remote = None
        if remote:
            self.rx = os.path.join(self.dir, "remote")
            self.remote = self.line.add_remote("5551234", out_dir=self.rx)
        if modem_b:
            self.tty_b = os.path.join(self.dir, "ttyB")
            self.b = self.line.add_modem("5550202", link=self.tty_b,
                                         config=ModemConfig.from_spec(config_b or ""))
        if faults:
            self.line.set_faults("5551234", Faults.parse(faults))

    def path(self, name):
        return os.path.join(self.dir, name)

    def log(self):
        out = []
        d = os.path.join(self.dir, "log")
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n)) as f:
                out.append("== %s\n%s" % (n, f.read()[-4000:]))
        return "\n".join(out)

    def ignored_xoff(self):
        """True when the simulator noted that our side kept sending after its XOFF."""
        d = os.path.join(self.dir, "log")
        for n in os.listdir(d):
            with open(os.path.join(d, n)) as f:
                if "keeps sending after XOFF" in f.read():
                    return True
        return False

    def close(self):
        self.line.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
