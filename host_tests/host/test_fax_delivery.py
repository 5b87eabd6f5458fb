"""Received faxes delivered over MQTT (issue 16 item 1; docs/mqtt.md "Received pages"): the unit
on the MicroPython unix port receives a fax from the simulated remote machine, publishes each
page on fax/page/<id>/<n> streamed from flash, and deletes it once the broker has it. Checked
as an operator would: pages decoded by netpbm's g3topbm and by `faxctl received` (PNG + TIFF,
read back with Pillow and netpbm) equal what the remote machine sent, pixel for pixel; and a
broker restart in the middle of a page's PUBLISH loses nothing."""
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

from modemsim_helpers import fast_line, need, pbm_rows
from mqtt_broker import Broker, Consumer
from unit_helpers import UNIT, UNIT_NUMBER, Lab, blocky_pbm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAXCTL = os.path.join(ROOT, "tools", "faxctl.py")
CALLER = "5557777"


def _pbm_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def _noise_pbm(rows, seed, width=1728):
    """A page of short random runs: MH codes it at ~4 bits a run, so 300 rows are ~125 KB."""
    rnd = random.Random(seed)
    body = bytes(rnd.getrandbits(8) for _ in range(width // 8 * rows))
    return b"P4\n%d %d\n" % (width, rows) + body


def _rows_of_pbm_bytes(data, tmp, name):
    return pbm_rows(_pbm_file(os.path.join(tmp, name), data))


def _g3topbm(g3, tmp, name):
    """netpbm's decoder on a page payload: (width, height, rows)."""
    src = os.path.join(tmp, name + ".g3")
    with open(src, "wb") as f:
        f.write(g3)
    out = os.path.join(tmp, name + ".pbm")
    with open(out, "wb") as f:
        subprocess.run(["g3topbm", src], stdout=f, stderr=subprocess.PIPE, check=True)
    return pbm_rows(out)


def _image_rows(img):
    """Packed PBM rows (1 = black) of a Pillow mode "1" image."""
    w, h = img.size
    raw = img.convert("1").tobytes()
    nb = (w + 7) // 8
    return [bytes(0xFF ^ b for b in raw[i * nb:(i + 1) * nb]) for i in range(h)]


def _pages(c, fid, heads=None):
    """{n: the page's T.4 bytes} of fax fid seen by consumer c (its JSON head line split off;
    the heads go to the dict `heads` when given)."""
    got = {}
    with c.lock:
        for t, p, _r in c.msgs:
            if "/fax/page/%s/" % fid in t:
                i = p.index(b"\n")
                n = int(t.rsplit("/", 1)[1])
                got[n] = p[i + 1:]
                if heads is not None:
                    heads[n] = json.loads(p[:i])
    return got


def _wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def _modem_ready(lab):
    """The unit's modem initialised: a call that rings during the init is hung up by its AT+FK
    (the unit comes online over MQTT before that, sooner on a loaded machine)."""
    _wait(lambda: "modem: ready" in lab.fw.log(), 30, "the unit's modem ready")


def _rx_files(flash):
    out = []
    for dp, _dn, fns in os.walk(os.path.join(flash, "rx")):
        out += [os.path.join(dp, f) for f in fns]
    return out


def _received(c):
    return [m for _t, m in c.events("fax/received")]


def test_received_pages_arrive_over_mqtt_pixel_equal_and_leave_the_flash(tmp_path):
    need("g3topbm", "netpbm")
    need("tifftopnm", "netpbm")
    from PIL import Image
    tmp = str(tmp_path)
    line = fast_line(tmp_path)
    sent = [blocky_pbm(100, seed=5), blocky_pbm(140, seed=6)]
    with Lab(tmp_path, line) as lab:
        caller = line.add_remote(CALLER)
        c = Consumer(lab.broker.port, ("faxbridge/%s/fax/#" % UNIT,), client_id="rxtest")
        out = os.path.join(tmp, "saved")
        ctl = subprocess.Popen([sys.executable, FAXCTL, "--port", str(lab.broker.port), "received",
                                "--unit", UNIT, "--out", out, "--count", "1", "--wait", "90"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(1.0)   # faxctl subscribed (its session then keeps the pages anyway)
            _modem_ready(lab)
            caller.send_fax(UNIT_NUMBER, [_pbm_file(os.path.join(tmp, "in%d.pbm" % i), p)
                                          for i, p in enumerate(sent)])
            rec = _wait(lambda: _received(c), 90, "fax/received")[0]
            fid = rec["id"]
            assert rec["page_topic"] == "fax/page/%s/" % fid and len(rec["page_bytes"]) == 2, rec
            pages = _wait(lambda: len(_pages(c, fid)) == 2 and _pages(c, fid), 30, "two pages")
            assert [len(pages[n]) for n in (1, 2)] == rec["page_bytes"], rec
            heads = {}
            _pages(c, fid, heads)
            # each page is an event of its own: seqs gap-free up to fax/received
            assert [heads[1]["seq"], heads[2]["seq"], rec["seq"]] == list(range(rec["seq"] - 2, rec["seq"] + 1))
            assert heads[2] == {"unit": UNIT, "seq": rec["seq"] - 1, "id": fid, "page": 2, "of": 2,
                                "width": 1728, "bytes": rec["page_bytes"][1]}, heads
            ctl_out, _ = ctl.communicate(timeout=60)
        finally:
            if ctl.poll() is None:
                ctl.kill()
            c.close()
        assert ctl.returncode == 0, ctl_out
        # delivered: deleted from the unit's flash once the broker acknowledged each page
        _wait(lambda: not _rx_files(lab.fw.flash), 15, "the flash to drop the pages: %s" % _rx_files(lab.fw.flash))
        assert "MemoryError" not in lab.fw.log()
    tif = os.path.join(out, UNIT, fid + ".tif")
    assert "saved " + tif in ctl_out, ctl_out
    for n, want_pbm in enumerate(sent, 1):
        sw, sh, want = _rows_of_pbm_bytes(want_pbm, tmp, "sent%d.pbm" % n)
        gw, gh, got = _g3topbm(pages[n], tmp, "mqtt%d" % n)           # netpbm, from MQTT
        assert (gw, gh) == (sw, sh) and got == want, (n, gw, gh, sw, sh)
        png = Image.open(os.path.join(out, UNIT, fid, "p%d.png" % n))  # faxctl's PNG
        assert png.size == (sw, sh) and _image_rows(png) == want, n
    t = Image.open(tif)                                                # faxctl's TIFF: G3, 2 pages
    assert t.n_frames == 2 and t.info.get("compression") == "group3", t.info
    for n in (1, 2):
        t.seek(n - 1)
        assert _image_rows(t) == _rows_of_pbm_bytes(sent[n - 1], tmp, "s%d.pbm" % n)[2], n
    pnm = os.path.join(tmp, "tiff1.pbm")                               # and netpbm reads it too
    with open(pnm, "wb") as f:
        subprocess.run(["tifftopnm", tif], stdout=f, stderr=subprocess.PIPE, check=True)
    assert pbm_rows(pnm)[2] == _rows_of_pbm_bytes(sent[0], tmp, "s1b.pbm")[2]


class Throttle:
    """A TCP proxy between the unit and the broker that forwards the unit's bytes at `rate`
    bytes/s (so a 100 KB page is on the wire for seconds) and counts them; a connection ends
    when either side closes (a broker restart ends the unit's)."""

    def __init__(self, rate):
        self.rate = rate
        self.upstream = None
        self.sent = 0
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                a, _ = self.ls.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.upstream), 2)
                b.settimeout(None)
            except OSError:
                a.close()
                continue
            threading.Thread(target=self._pipe, args=(a, b, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(b, a, False), daemon=True).start()

    def _pipe(self, src, dst, slow):
        try:
            while True:
                d = src.recv(1024 if slow else 65536)
                if not d:
                    break
                dst.sendall(d)
                if slow:
                    self.sent += len(d)
                    time.sleep(len(d) / self.rate)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.stopping = True
        self.ls.close()


def test_a_broker_restart_in_the_middle_of_a_page_loses_no_page(tmp_path):
    need("g3topbm", "netpbm")
    tmp = str(tmp_path)
    line = fast_line(tmp_path)
    px = Throttle(40000)
    big = _noise_pbm(300, seed=11)
    small = blocky_pbm(80, seed=12)
    lab = Lab(tmp_path, line, config={"mqtt": {"port": px.port}})
    # the lab's broker, with persistence on (a restart keeps the sessions and their queues)
    port = lab.broker.port
    lab.broker.stop()
    lab.broker = Broker(os.path.join(tmp, "pbroker"), port=port).start()
    px.upstream = port
    try:
        with lab:
            caller = line.add_remote(CALLER)
            c = Consumer(port, ("faxbridge/%s/fax/#" % UNIT,), client_id="rxrestart")
            mark = px.sent
            _modem_ready(lab)
            caller.send_fax(UNIT_NUMBER, [_pbm_file(os.path.join(tmp, "big.pbm"), big),
                                          _pbm_file(os.path.join(tmp, "small.pbm"), small)])
            # the first page (> 100 KB) is half through the proxy: restart the broker
            _wait(lambda: px.sent - mark > 60000, 120, "the big page on the wire")
            assert not _pages(c, "") and not _received(c), "a page was complete before the restart"
            files = _rx_files(lab.fw.flash)
            assert len(files) == 2 and max(os.path.getsize(f) for f in files) > 100 * 1024, files
            lab.broker.restart()
            rec = _wait(lambda: _received(c), 120, "fax/received after the restart")[0]
            fid = rec["id"]
            pages = _wait(lambda: len(_pages(c, fid)) == 2 and _pages(c, fid), 60, "both pages")
            assert rec["page_bytes"][0] > 100 * 1024, rec
            assert [len(pages[1]), len(pages[2])] == rec["page_bytes"], rec
            _wait(lambda: not _rx_files(lab.fw.flash), 30, "the flash to drop the pages")
            c.close()
            # the page was re-streamed from flash after the restart: a DUP PUBLISH, whole
            resent = [x for x in lab.broker.log().splitlines() if "Received PUBLISH" in x
                      and "fax/page/%s/1'" % fid in x]
            assert resent and "(d1, q1" in resent[-1], resent
            log = lab.fw.log()
            assert "MemoryError" not in log
    finally:
        px.close()
    for n, want_pbm in ((1, big), (2, small)):
        sw, sh, want = _rows_of_pbm_bytes(want_pbm, tmp, "w%d.pbm" % n)
        gw, gh, got = _g3topbm(pages[n], tmp, "r%d" % n)
        assert (gw, gh) == (sw, sh) and got == want, (n, gw, gh, sw, sh)


def _run_faxctl(port, out, *extra):
    return subprocess.run([sys.executable, FAXCTL, "--port", str(port), "received", "--unit", "u9",
                           "--out", out] + list(extra), capture_output=True, text=True, timeout=60)


def _page_payload(seq, fid, n, of, g3, nbytes=None):
    head = {"unit": "u9", "seq": seq, "id": fid, "page": n, "of": of, "width": 1728,
            "bytes": len(g3) if nbytes is None else nbytes}
    return json.dumps(head).encode() + b"\n" + g3


def test_faxctl_received_keeps_its_session_and_reports_an_incomplete_fax(tmp_path):
    """A page published while faxctl is not running is kept for it (persistent session); a
    page whose size is not what its head says is ignored; a fax still missing a page when
    faxctl stops is reported and exits 1."""
    need("pbmtog3", "netpbm")
    import paho.mqtt.client as paho
    from PIL import Image
    tmp = str(tmp_path)
    b = Broker(os.path.join(tmp, "broker")).start()
    out = os.path.join(tmp, "out")
    try:
        r = _run_faxctl(b.port, out, "--wait", "1")          # registers the session, nothing yet
        assert r.returncode == 0 and "no received fax" in r.stdout, r.stdout + r.stderr
        src = _pbm_file(os.path.join(tmp, "p.pbm"), blocky_pbm(60, seed=3))
        g3 = subprocess.run(["pbmtog3", src], capture_output=True, check=True).stdout
        pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="fakeunit")
        pub.connect("127.0.0.1", b.port, 30)
        pub.loop_start()
        root = "faxbridge/u9/"
        for topic, payload in (
                (root + "fax/page/rx1-1/1", _page_payload(1, "rx1-1", 1, 1, g3)),
                (root + "fax/received", json.dumps({"unit": "u9", "seq": 2, "id": "rx1-1", "pages": 1,
                                                     "page_topic": "fax/page/rx1-1/", "page_bytes": [len(g3)],
                                                     "page_width": [1728]})),
                (root + "fax/page/rx1-2/1", _page_payload(3, "rx1-2", 1, 2, g3)),
                (root + "fax/page/rx1-2/2", _page_payload(4, "rx1-2", 2, 2, g3[:-5], len(g3))),  # cut
                (root + "fax/received", json.dumps({"unit": "u9", "seq": 5, "id": "rx1-2", "pages": 2,
                                                     "page_topic": "fax/page/rx1-2/",
                                                     "page_bytes": [len(g3), len(g3)]}))):
            pub.publish(topic, payload, 1).wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        r = _run_faxctl(b.port, out, "--wait", "2")          # the broker kept them for faxctl
        assert r.returncode == 1, r.stdout + r.stderr
        assert "fax rx1-1 from unit u9: 1 page" in r.stdout, r.stdout
        assert "fax rx1-2 from unit u9: incomplete (pages [1] of [1, 2])" in r.stdout, r.stdout
        png = Image.open(os.path.join(out, "u9", "rx1-1", "p1.png"))
        assert _image_rows(png) == pbm_rows(src)[2]
        assert not os.path.exists(os.path.join(out, "u9", "rx1-2.tif"))
    finally:
        b.stop()
