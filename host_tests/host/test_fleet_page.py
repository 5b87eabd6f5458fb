"""The fleet page (tools/fleet, docs/fleet.md) in Debian's headless Chromium: the demo of
`make run` runs against a real Mosquitto with a WebSockets listener, the page connects to it
with the npm `mqtt` client and must show the unit, its jobs with their final codes, the
verdicts and the received fax, its page as a thumbnail decoded in the page (tools/fleet/mh.js)
pixel-equal to what the remote machine sent. A screenshot is written to build/fleet/fleet.png."""
import os
import re

from chromium import Chromium
from modemsim import Line
from modemsim_helpers import pbm_rows
from unit_helpers import Lab, demo_scenario

import fleetpage
import unitlab

SHOT = os.path.join(unitlab.ROOT, "build", "fleet", "fleet.png")

# what the page shows, read back from its DOM
UNIT_JS = "document.querySelector('[data-unit=\"%s\"]')" % unitlab.UNIT
JOBS_JS = ("Array.from(%s.querySelectorAll('tr[data-job]')).map(r => [r.dataset.job, r.dataset.code,"
           " r.querySelector('[data-field=meaning]').textContent])" % UNIT_JS)


def test_fleet_page_shows_the_demo(tmp_path):
    folder = fleetpage.fleet_ready()
    line = Line(speedup=40.0, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05, result_delay=0.1,
                log_dir=str(tmp_path / "logs"))
    page = fleetpage.StaticServer(folder).start()
    try:
        with Lab(tmp_path, line, ws=True) as lab, Chromium() as b:
            b.goto(page.url(lab.broker.ws_port))
            assert b.wait("document.getElementById('conn').dataset.state === 'up'", 30), \
                "the page never connected: " + str(b.eval("document.getElementById('conn').textContent"))
            summary = demo_scenario(lab, str(tmp_path))
            # the page caught every final status live (it subscribes before the demo starts)
            want = {"text": "0", "bitmap": "0", "busy": "263"}
            got = b.wait("(() => { const u = %s; if (!u) return null; const j = %s;"
                         " return j.filter(r => ['text','bitmap','busy'].includes(r[0]) && r[1] !== '-3'"
                         " && r[1] !== '-2' && r[1] !== '-1').length === 3 ? j : null })()" % (UNIT_JS, JOBS_JS), 30)
            assert got, b.eval(JOBS_JS if b.eval(UNIT_JS + " !== null") else "'no unit shown'")
            shown = {j: (c, m) for j, c, m in got}
            for job, code in want.items():
                assert shown[job][0] == code, (job, shown[job])
            assert shown["text"][1] == "success" and shown["busy"][1] == "busy", shown
            assert b.eval(UNIT_JS + ".querySelector('.badge').dataset.online") == "online"
            n_verdicts = b.eval(UNIT_JS + ".querySelectorAll('tr[data-verdict]').length")
            assert n_verdicts == min(10, summary["verdicts"]), (n_verdicts, summary)
            kinds = set(b.eval("Array.from(%s.querySelectorAll('tr[data-verdict]')).map(r => r.dataset.verdict)"
                               % UNIT_JS))
            assert "accept" in kinds and "abnormal_report" in kinds, kinds
            rx = b.wait(UNIT_JS + ".querySelectorAll('tr[data-fax]').length", 10)
            assert rx == 1, rx
            # the received page's thumbnail: decoded from fax/page in the browser, read back
            # from its canvas (one hex string per row, 1 = black) and compared with the sent PBM
            thumb = UNIT_JS + ".querySelector('tr[data-fax] canvas[data-page=\"1\"]')"
            assert b.wait(thumb + " !== null", 20), "no thumbnail shown"
            assert b.eval(thumb + ".dataset.bad") == "0"
            rows = b.eval("(() => { const c = %s; const d = c.getContext('2d').getImageData(0, 0, c.width,"
                          " c.height).data; const out = []; for (let y = 0; y < c.height; y++) { let h = '';"
                          " for (let x = 0; x < c.width; x += 8) { let v = 0; for (let k = 0; k < 8; k++)"
                          " v = (v << 1) | (d[((y * c.width) + x + k) * 4] < 128 ? 1 : 0);"
                          " h += v.toString(16).padStart(2, '0'); } out.push(h); } return out; })()" % thumb)
            _w, _h, want = pbm_rows(str(tmp_path / "in.pbm"))      # what demo_scenario sent
            assert [bytes.fromhex(r) for r in rows] == want, (len(rows), len(want))
            assert b.wait(UNIT_JS + ".querySelector('[data-field=uptime]').textContent !== '–'", 15), \
                "no telemetry shown"
            b.screenshot(SHOT)
    finally:
        page.stop()
    assert os.path.getsize(SHOT) > 10000


def test_the_pages_mh_tables_are_the_firmwares():
    """tools/fleet/mh.js carries the T.4 code words as strings: the same as mhcodes.py."""
    from faxbridge.core.fax import mhcodes
    with open(os.path.join(unitlab.ROOT, "tools", "fleet", "mh.js")) as f:
        js = f.read()
    got = dict(re.findall(r'^  (\w\w): "([01 ]+)"', js, re.M))
    want = {"wt": mhcodes.WHITE_TERM, "bt": mhcodes.BLACK_TERM, "wm": mhcodes.WHITE_MAKEUP,
            "bm": mhcodes.BLACK_MAKEUP, "xm": mhcodes.EXT_MAKEUP}
    assert {k: " ".join(v.split()) for k, v in want.items()} == got
