"""boot.py's safe mode reaches main.py on MicroPython (a builtin set by boot.py must be seen)."""
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
    r = _run(tmp_path, "import builtins\nbuiltins.FAXBRIDGE_SAFE = True\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "config error" not in r.stdout and "starting" not in r.stdout


def test_without_safe_mode_main_runs_and_refuses_missing_config(tmp_path):
    r = _run(tmp_path, "")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "faxbridge: config error:" in r.stdout
