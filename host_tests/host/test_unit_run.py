"""`make run` non-interactively: tools/run.py --exit-after-demo runs the whole demo and stops
everything it started."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("modem_class", (None, "2.0"), ids=("class2", "class2.0"))
def test_unit_make_run_demo_completes_and_cleans_up(tmp_path, modem_class):
    work = str(tmp_path / "run")
    extra = ["--modem-class", modem_class] if modem_class else []    # make run RUN_ARGS=--modem-class 2.0
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "run.py"), "--exit-after-demo",
                        "--speedup", "8", "--workdir", work, "--timeout", "120"] + extra,
                       capture_output=True, text=True, timeout=240)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "(Class %s)" % (modem_class or "2") in out, out[:2000]
    for want in ("fax text-1", "fax bitmap-1", "263  busy", "6002  refused number",
                 "abnormal_report  code=C58", "abnormal_report  code=C03", "command refused: fax bad_json",
                 "fax received", "stopped: broker, simulated line and firmware",
                 "reached the host through MQTT", "the TIFF saved from MQTT is pixel-equal to the page",
                 "the unit's flash holds no received page any more"):
        assert want in out, (want, out[-4000:])
    assert re.search(r"fax text-1 +0  success", out), out[-4000:]
    pngs = re.findall(r"page the (?:remote fax machine|unit) received: (\S+\.png)", out)
    from PIL import Image
    assert len(pngs) >= 3, pngs
    for p in pngs:
        with Image.open(p) as im:
            assert im.size[0] == 1728 and im.size[1] >= 100, (p, im.size)
    assert "gap in seq" not in out
    # nothing left running: the firmware's flash folder is no longer in use by any process
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert work not in ps, [line for line in ps.splitlines() if work in line]
