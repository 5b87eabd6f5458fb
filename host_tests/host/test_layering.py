"""The layers of docs/architecture.md, checked on the imports of every firmware module (ast):
core/* imports core/* and I/O-free MicroPython built-ins only; app/* imports core/* and app/*;
ports/* nothing from app; nothing in firmware/ imports a host tool. The host code's sys.path is
set in one place (tools/hostpath.py). And the repository stands alone: no file links to the
specifications outside it (a relative link up to a shared folder)."""
import ast
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")

# MicroPython built-in modules the firmware may use (unix port and ESP32); anything else would
# come from the host (tools/, site-packages) and is not on the board.
BUILTINS = {"array", "asyncio", "asyncio.stream", "binascii", "builtins", "collections", "deflate",
            "errno", "esp", "esp32", "gc", "hashlib", "io", "json", "machine", "math", "micropython",
            "network", "ntptime", "os", "random", "re", "select", "socket", "ssl", "struct", "sys",
            "termios", "time"}
# a core has no UART, socket, clock, file or event loop (docs/architecture.md)
CORE_BUILTINS = {"array", "binascii", "collections", "errno", "gc", "io", "json", "math",
                 "micropython", "re", "struct", "sys"}


def _modules():
    """(dotted name, path) of every firmware module."""
    for d, _dirs, files in os.walk(FIRMWARE):
        for f in sorted(files):
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(d, f), FIRMWARE)[:-3].replace(os.sep, ".")
                yield (rel[:-9] if rel.endswith(".__init__") else rel), os.path.join(d, f)


def imports(name, path):
    """Every module `name` imports (top level and inside functions), relative ones resolved."""
    pkg = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    out = set()
    for n in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                parts = pkg.split(".")
                up = ".".join(parts[:len(parts) - n.level + 1])
                base = up + ("." + base if base else "")
            for a in n.names:     # `from p import m` names module p.m; `from m import f`, m
                sub = base + "." + a.name
                out.add(sub if _is_module(sub) else base)
    return out


def _is_module(dotted):
    p = os.path.join(FIRMWARE, *dotted.split("."))
    return os.path.exists(p + ".py") or os.path.exists(os.path.join(p, "__init__.py"))


def violations():
    bad = []
    for name, path in _modules():
        layer = name.split(".")[1] if name.startswith("faxbridge.") and name.count(".") else "top"
        for m in sorted(imports(name, path)):
            if m == "faxbridge":
                continue          # the package itself (VERSION): every layer may read it
            ours = m.startswith("faxbridge.")
            if ours and not _is_module(m):
                bad.append("%s imports %s: no such firmware module" % (name, m))
            if not ours and m not in BUILTINS:
                bad.append("%s imports %s: not a MicroPython built-in" % (name, m))
            if layer == "core" and not (m.startswith("faxbridge.core") or m in CORE_BUILTINS):
                bad.append("%s (core) imports %s" % (name, m))
            if layer == "app" and ours and not m.startswith(("faxbridge.core", "faxbridge.app")):
                bad.append("%s (app) imports %s" % (name, m))
            if layer == "ports" and m.startswith("faxbridge.app"):
                bad.append("%s (ports) imports %s" % (name, m))
    return bad


def test_every_import_stays_in_its_layer():
    assert len(list(_modules())) > 60       # the walk found the firmware
    assert violations() == []


def test_the_check_sees_a_hop_going_back_up(tmp_path, monkeypatch):
    """The checker itself: a core importing app, a relative import climbing out of core, a
    core reading the clock, an app importing a port, a port importing app, a host tool."""
    fw = tmp_path / "firmware"
    for rel, text in (
            ("faxbridge/__init__.py", ""),
            ("faxbridge/core/__init__.py", ""),
            ("faxbridge/core/a.py", "def f():\n    from faxbridge.app import b\n"),
            ("faxbridge/core/c.py", "from ..app import b\nimport time\n"),
            ("faxbridge/core/d.py", "from . import a\nfrom .a import f\nimport binascii\n"),
            ("faxbridge/app/__init__.py", ""),
            ("faxbridge/app/b.py", "from faxbridge.ports.unix import port\nimport hostpath\n"),
            ("faxbridge/ports/__init__.py", ""),
            ("faxbridge/ports/unix/__init__.py", ""),
            ("faxbridge/ports/unix/port.py", "from faxbridge.app import b\n")):
        p = fw / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    monkeypatch.setattr(__import__(__name__), "FIRMWARE", str(fw))
    assert sorted(violations()) == sorted([
        "faxbridge.core.a (core) imports faxbridge.app.b",
        "faxbridge.core.c (core) imports faxbridge.app.b",
        "faxbridge.core.c (core) imports time",
        "faxbridge.app.b (app) imports faxbridge.ports.unix.port",
        "faxbridge.app.b imports hostpath: not a MicroPython built-in",
        "faxbridge.ports.unix.port (ports) imports faxbridge.app.b",
    ])


def _tracked():
    """(path, bytes) of every file git tracks."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for f in files.decode().split("\0"):
        p = os.path.join(ROOT, f)
        if f and os.path.isfile(p) and not os.path.islink(p):
            with open(p, "rb") as fh:
                yield f, fh.read()


def test_nothing_links_outside_the_repository():
    needle = b"../" + b"shared"           # spelt in two pieces so this file is no hit itself
    assert [f for f, data in _tracked() if needle in data] == []


# The places that may change sys.path: the one place for host code and its bridge for
# tools/bench, pytest's conftest, the MicroPython core runner, modemsim run as a folder
# (python tools/modemsim), and a MicroPython subprocess given a folder of compiled .mpy files.
PATH_SETTERS = {"tools/hostpath.py", "tools/bench/_path.py", "host_tests/conftest.py",
                "host_tests/mprun.py", "tools/modemsim/__main__.py",
                "host_tests/core/test_mqtt_faxcmd.py", "host_tests/core/faxcmd_big.py",
                "host_tests/core/test_t4_memory.py"}


def test_sys_path_is_set_in_one_place():
    pat = re.compile(rb"sys\.path(\.(insert|append|extend|remove)|\[[^\]]*\]\s*=)")
    hits = [f for f, data in _tracked() if (f.endswith(".py") or data.startswith(b"#!/usr/bin/env python"))
            and pat.search(data)]
    assert sorted(set(hits) - PATH_SETTERS) == []
    assert "tools/hostpath.py" in hits



# Issue 15: each part in a module a newcomer can hold, under ~400 lines: the firmware, the boards
# and the host tools (tests are lists of cases and may run longer). The bound is 440: four modules
# run to 424-431 lines where a split would cost the board RAM (a module's dict and names stay in
# heap even frozen; docs/architecture.md "Small modules").
MAX_LINES = 440


def big_modules(files):
    """(path, lines) of each Python module of firmware/, boards/ or tools/ over MAX_LINES."""
    return [(f, data.count(b"\n")) for f, data in files
            if f.endswith(".py") and f.startswith(("firmware/", "tools/", "boards/"))
            and data.count(b"\n") > MAX_LINES]


def test_every_module_is_small():
    assert big_modules(_tracked()) == []


def test_the_size_check_sees_a_big_module():
    files = [("tools/x.py", b"x\n" * 441), ("tools/y.py", b"x\n" * 440),
             ("host_tests/core/test_z.py", b"x\n" * 900), ("docs/a.py.md", b"x\n" * 900)]
    assert big_modules(files) == [("tools/x.py", 441)]
