"""boot.py's safe mode: the window after boot (GPIO0 at reset is the ROM download mode), and the
__main__ global it sets reaches main.py on MicroPython (both run in __main__ on the board)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")


def _run(tmp_path, prelude):
    script = tmp_path / "boot_then_main.py"
    # what boot.py does when BOOT is held, then main.py as the board runs it
    script.write_text(prelude + "exec(open(%r).read())\n" % os.path.join(ROOT, "firmware", "main.py"))
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "firmware") + ":.frozen",
               FAXBRIDGE_FLASH=str(tmp_path / "noflash"))
    return subprocess.run([MP, str(script)], capture_output=True, text=True, env=env, timeout=60)


def test_safe_mode_skips_the_unit_on_micropython(tmp_path):
    r = _run(tmp_path, "FAXBRIDGE_SAFE = True\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "config error" not in r.stdout and "starting" not in r.stdout


def test_without_safe_mode_main_runs_and_refuses_missing_config(tmp_path):
    r = _run(tmp_path, "")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "faxbridge: config error:" in r.stdout


def _boot_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("fb_boot", os.path.join(ROOT, "firmware", "boot.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)          # not esp32: only defines safe_window
    return mod


def _press(at_ms, until_ms=10 ** 9):
    """A button pressed from at_ms to until_ms of the window, and a clock the sleeps advance."""
    t = [0]
    return (lambda: at_ms <= t[0] < until_ms), (lambda ms: t.__setitem__(0, t[0] + ms)), t


def test_safe_window_press_within_the_window_enters_safe_mode():
    boot = _boot_module()
    for at in (0, 500, 1900, 1950):
        pressed, sleep, _t = _press(at)
        assert boot.safe_window(pressed, sleep, 2000, 50) is True, at


def test_safe_window_without_a_press_boots_the_unit_after_the_window():
    boot = _boot_module()
    pressed, sleep, t = _press(10 ** 9)
    assert boot.safe_window(pressed, sleep, 2000, 50) is False
    assert t[0] == 2000                    # the whole window waited, not more


def test_safe_window_ignores_a_glitch_and_a_late_press():
    boot = _boot_module()
    pressed, sleep, _t = _press(400, 440)  # one poll low: a bounce, not a press
    assert boot.safe_window(pressed, sleep, 2000, 50) is False
    pressed, sleep, _t = _press(2050)      # after the window
    assert boot.safe_window(pressed, sleep, 2000, 50) is False


def test_boot_py_does_nothing_off_the_board_on_micropython(tmp_path):
    r = subprocess.run([MP, os.path.join(ROOT, "firmware", "boot.py")], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_boot_on_the_board_leaves_none_of_its_names_in_main(monkeypatch):
    # boot.py runs in __main__, which main.py and the unit share for their whole life: on the
    # board (sys.platform "esp32", its machine modules stood in for) it must leave only the
    # modules it imported, not its functions, board dict or pins
    import types
    pins = []

    class Pin:
        IN, OUT, PULL_UP = 1, 2, 3

        def __init__(self, n, mode, pull=None):
            pins.append(self)

        def value(self, v=None):
            return 1                       # BOOT not pressed (pulled up)

    with open(os.path.join(ROOT, "firmware", "boot.py")) as f:
        code = compile(f.read(), "boot.py", "exec")
    fake = {"sys": types.SimpleNamespace(platform="esp32"),
            "esp": types.SimpleNamespace(osdebug=lambda x: None),
            "machine": types.SimpleNamespace(Pin=Pin),
            "time": types.SimpleNamespace(sleep_ms=lambda ms: None)}
    for k, v in fake.items():
        monkeypatch.setitem(sys.modules, k, v)
    monkeypatch.setattr("builtins.open", lambda *a, **k: _board_json(), raising=True)
    ns = {"__name__": "__main__"}
    exec(code, ns)
    left = sorted(k for k in ns if not k.startswith("__"))
    assert left == ["esp", "machine", "sys", "time"], left
    assert len(pins) == 2                  # the button and the LED were set up, then dropped


def _board_json():
    import io
    return io.StringIO('{"safe_mode": {"pin": 0, "window_ms": 100}, "status_led": {"pin": 2}}')
