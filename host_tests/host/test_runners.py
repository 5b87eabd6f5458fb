"""The test machinery itself: a failing core test fails both runners; MicroPython-only syntax
problems fail the mpy-cross check (issue 2, acceptance)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def _suite(tmp_path, body):
    d = tmp_path / "core"
    d.mkdir()
    (d / "test_demo_sample.py").write_text(
        "def test_ok():\n    assert 1 + 1 == 2\n\n" + body)
    return str(d)


def _mprun(interp, folder):
    return subprocess.run([interp, os.path.join(ROOT, "host_tests", "mprun.py"), folder],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_failing_core_test_fails_micropython_runner(tmp_path):
    folder = _suite(tmp_path, "def test_bad():\n    assert [1, 2] == [2, 1]\n")
    r = _mprun(os.path.join(BIN, "micropython"), folder)
    assert r.returncode == 1
    assert "micropython: 1 passed, 1 failed" in r.stdout
    assert "FAILED test_demo_sample.test_bad" in r.stdout


def test_failing_core_test_fails_pytest(tmp_path):
    folder = _suite(tmp_path, "def test_bad():\n    assert [1, 2] == [2, 1]\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", folder],
                       capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert r.returncode == 1 and "1 failed, 1 passed" in r.stdout


def test_runner_counts_and_passes_on_both(tmp_path):
    folder = _suite(tmp_path, "")
    for interp in (os.path.join(BIN, "micropython"), sys.executable):
        r = _mprun(interp, folder)
        assert r.returncode == 0 and ": 1 passed, 0 failed" in r.stdout, r.stdout


def test_runner_with_no_tests_fails(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    r = _mprun(os.path.join(BIN, "micropython"), str(d))
    assert r.returncode == 1 and "0 passed, 0 failed" in r.stdout


def test_import_error_counts_as_failure(tmp_path):
    folder = _suite(tmp_path, "import dataclasses\n")   # not in MicroPython
    r = _mprun(os.path.join(BIN, "micropython"), folder)
    assert r.returncode == 1 and "ERROR importing test_demo_sample" in r.stdout


def test_syntax_micropython_lacks_fails_mpy_cross(tmp_path):
    import mpycheck
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "good.py").write_text("x = 1\n")
    (fw / "bad.py").write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    assert mpycheck.compile_all("xtensawin", str(tmp_path / "out"), base=str(fw), quiet=True) == 1
    (fw / "bad.py").unlink()
    assert mpycheck.compile_all("xtensawin", str(tmp_path / "out"), base=str(fw), quiet=True) == 0
