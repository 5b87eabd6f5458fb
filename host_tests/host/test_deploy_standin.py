"""`make build` + `make deploy` against a stand-in board: the unix port behind a pty (issue 2)."""
import os
import shutil
import subprocess
import sys
import time


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def test_build_esp32_writes_xtensawin_mpy():
    r = subprocess.run([sys.executable, "tools/build.py", "--board", "esp32_spiram"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = os.path.join(ROOT, "build", "esp32_spiram")
    mpy = os.path.join(out, "faxbridge", "core", "fax", "status.mpy")
    with open(mpy, "rb") as f:
        head = f.read(4)
    assert head[0:2] == b"M\x06"        # .mpy magic, version 6 (MicroPython >= 1.22)
    assert os.path.exists(os.path.join(out, "board.json"))
    # tools-only modules stay on the host; the other port too
    assert not os.path.exists(os.path.join(out, "faxbridge", "core", "cafis", "engine.mpy"))
    assert not os.path.exists(os.path.join(out, "faxbridge", "ports", "unix"))


def test_build_frozen_board_lists_the_import_graph_for_its_manifest():
    r = subprocess.run([sys.executable, "tools/build.py", "--board", "esp32_devkitc"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = os.path.join(ROOT, "build", "esp32_devkitc")
    assert sorted(os.listdir(out)) == ["board.json"]        # the code is frozen, not copied
    with open(os.path.join(ROOT, "build", "frozen", "esp32_devkitc.py")) as f:
        listed = f.read()
    assert '"core/fax/status.py"' in listed and '"ports/esp32/port.py"' in listed
    assert "engine.py" not in listed and "ports/unix" not in listed
    with open(os.path.join(ROOT, "boards", "esp32_devkitc", "manifest.py")) as f:
        manifest = f.read()
    assert 'include("../../build/frozen/esp32_devkitc.py")' in manifest and "metadata(" in manifest


def test_unknown_board_is_named():
    r = subprocess.run([sys.executable, "tools/build.py", "--board", "nope"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "no board 'nope'" in r.stderr


def test_deploy_to_unix_port_behind_pty(tmp_path):
    socat = shutil.which("socat")
    assert socat, "socat is missing: apt-get install -y socat (make test installs it as root)"
    link = str(tmp_path / "tty")
    dev = tmp_path / "dev"
    dev.mkdir()
    p = subprocess.Popen([socat, "pty,raw,echo=0,link=" + link,
                          "EXEC:%s,pty,raw,echo=0,stderr" % os.path.join(BIN, "micropython")],
                         cwd=str(dev))
    try:
        for _ in range(100):
            if os.path.exists(link):
                break
            time.sleep(0.05)
        assert os.path.exists(link), "socat made no pty"
        r = subprocess.run(["make", "-s", "deploy", "BOARD=unix_pty", "PORT=" + link, "RESUME=1"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (dev / "faxbridge" / "core" / "fax" / "status.mpy").exists()
        code = "from faxbridge.core.fax import status; print('got', status.from_hangup(25), status.__file__)"
        r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", link, "resume", "exec", code],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "got 3224 faxbridge/core/fax/status.mpy" in r.stdout
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_deploy_to_a_frozen_board_removes_a_shadowing_faxbridge_folder(tmp_path):
    """On MicroPython the filesystem comes before .frozen in sys.path: a faxbridge/ folder left by
    an earlier .mpy deploy would shadow the frozen firmware. The script deploy runs first removes it."""
    import deploy
    (tmp_path / "faxbridge" / "core" / "fax").mkdir(parents=True)
    (tmp_path / "faxbridge" / "__init__.mpy").write_bytes(b"M")
    (tmp_path / "faxbridge" / "core" / "fax" / "status.mpy").write_bytes(b"M")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "rm.py").write_text(deploy.RM_SHADOW)
    r = subprocess.run([os.path.join(BIN, "micropython"), "rm.py"], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["config.json", "rm.py"]
