"""Files on flash that can grow are parsed as they are read, never read whole (issue 13): the
CAFIS registry file (docs/cafis.md) and config.json. Shown on MicroPython with a heap smaller
than the file: a whole-file read cannot fit, a streamed parse does."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")
PAD = 1000000        # leading whitespace: valid JSON, larger than the heap below
HEAP = "512K"        # enough for the imports and the parsed objects


def _run(tmp_path, code):
    script = tmp_path / "load.py"
    script.write_text(code)
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "firmware") + ":.frozen")
    return subprocess.run([MP, "-X", "heapsize=" + HEAP, str(script)], capture_output=True,
                          text=True, env=env, timeout=120, cwd=str(tmp_path))


def test_registry_file_is_streamed(tmp_path):
    with open(os.path.join(ROOT, "docs", "cafis-registry.example.json")) as f:
        reg = json.load(f)
    (tmp_path / "reg.json").write_text(" " * PAD + json.dumps(reg))
    r = _run(tmp_path, "from faxbridge.app import deepcheck\n"
                       "cfg = {'cafis': {'registry': 'reg.json', 'layouts': None}}\n"
                       "print('loaded', deepcheck.load_registry(cfg, %r) is not None)\n" % (str(tmp_path) + "/"))
    assert r.returncode == 0 and "loaded True" in r.stdout, r.stdout + r.stderr


def test_config_file_is_streamed(tmp_path):
    (tmp_path / "config.json").write_text(" " * PAD + json.dumps({"unit_id": "u1", "mqtt": {"host": "h"}}))
    r = _run(tmp_path, "from faxbridge.app import config\n"
                       "cfg, errors = config.load(%r)\n"
                       "print('errors', errors, cfg['unit_id'])\n" % str(tmp_path / "config.json"))
    assert r.returncode == 0 and "errors [] u1" in r.stdout, r.stdout + r.stderr
