"""The bench wrapper (`benchwrap`): the unit's imports measured, then firmware/main.py, in one
MicroPython interpreter, with the bench hook (_hook.py, compiled as `benchhook`) installed.
docs/bench.md ("The bench wrapper"). Not a benchmark itself (the leading underscore)."""
import os
import subprocess


def compile_into(mpy_dir, mpy_cross):
    """benchwrap.mpy, benchhook.mpy and the audit's two for this host into mpy_dir (beside the firmware's .mpy)."""
    src = os.path.join(mpy_dir, "benchwrap.py")
    with open(src, "w") as f:
        f.write(wrapper_source(unit_modules()))
    here = os.path.dirname(os.path.abspath(__file__))
    for name, path in (("benchwrap", src), ("benchhook", os.path.join(here, "_hook.py")),
                       ("benchaudit", os.path.join(here, "_audit.py")),
                       ("benchauditmodel", os.path.join(here, "_auditmodel.py"))):
        r = subprocess.run([mpy_cross, "-march=x64", "-s", name + ".py", "-o", os.path.join(mpy_dir, name + ".mpy"),
                            path], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("mpy-cross %s: %s" % (name, r.stderr.strip()))
    os.remove(src)


def unit_modules():
    """What the unit imports on the unix port: tools/build.py's module set for the unix port
    (the import graph of main.py), without the entry points, plus asyncio (frozen in the port,
    its module and functions in the heap like the unit's own when frozen) and the asyncio
    submodules the unit loads on first use (asyncio's __getattr__ imports them: wait_for,
    Event, Stream), ~2 KB that were counted in the working set before."""
    import build
    mods, _ext = build.module_set("unix")
    return ASYNCIO + [m for m in mods if m not in build.ENTRIES]


ASYNCIO = ["asyncio", "asyncio.event", "asyncio.funcs", "asyncio.stream"]


def wrapper_source(modules):
    """benchwrap.py: in one interpreter, the hook, then every module the unit imports (the heap
    they hold printed as `bench: imported code N B`), then firmware/main.py as the board runs
    it. `--imports-only`: stop after the imports and print the frozen residue estimate.
    Explicit import statements (__import__ in a loop crashed MicroPython 1.2x: uncaught NLR)."""
    lines = ["import gc", "import sys", "import benchhook", "gc.collect()", "_a0 = gc.mem_alloc()"]
    lines += ["import %s" % m for m in modules]
    lines += ["gc.collect()",
              'print("bench: imported code %d B" % (gc.mem_alloc() - _a0))',
              'if "--imports-only" in sys.argv:',
              "    benchhook.residue()",
              "    sys.exit(0)",
              'if benchhook.os.getenv("BENCH_PLUG"):',
              "    benchhook.plug(_a0)",
              "benchhook.install()",
              "import main  # noqa: E402,F401  (runs the unit; its sys.exit ends the process)"]
    return "\n".join(lines) + "\n"


def code_heap(heap="4M"):
    """(imported code bytes, frozen residue estimate bytes, residue line) of the unit's imports
    on this 64-bit port: the wrapper with --imports-only."""
    import _unit
    mpy = _unit.compile_mpy()
    r = subprocess.run([_unit.unitlab.MICROPYTHON, "-X", "heapsize=%s" % heap, "-m", "benchwrap", "--imports-only"],
                       capture_output=True, text=True, timeout=60, cwd=mpy,
                       env=dict(os.environ, MICROPYPATH=mpy + ":.frozen"))
    code = res = None
    line = ""
    for ln in r.stdout.splitlines():
        if ln.startswith("bench: imported code "):
            code = int(ln.split()[3])
        elif ln.startswith("bench: residue "):
            res = int(ln.split()[2])
            line = ln[len("bench: residue "):]
    if r.returncode or code is None or res is None:
        raise RuntimeError("benchwrap --imports-only failed: %s" % (r.stdout + r.stderr)[-600:])
    return code, res, line
