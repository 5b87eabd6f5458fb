"""A tiny test runner for the core suite that runs on MicroPython and CPython alike.

Usage: micropython host_tests/mprun.py [DIR] [-k SUBSTRING]
Imports every test_*.py in DIR (default: host_tests/core), calls every function named
test_* with no arguments, and prints a closing line `N passed, N failed`. Exit status 1 if
anything failed or nothing ran.
"""
import sys
import os


def _print_exc(e):
    if hasattr(sys, "print_exception"):
        sys.print_exception(e)
    else:
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__)


def main(argv):
    here = argv[0].rsplit("/", 1)[0] if "/" in argv[0] else "."
    root = here + "/.."
    folder = here + "/core"
    pattern = None
    args = argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "-k":
            pattern = args[i + 1]
            i += 2
            continue
        folder = args[i]
        i += 1
    for p in (root + "/tools/shim", root + "/firmware", folder):
        if p not in sys.path:
            sys.path.insert(0, p)
    if sys.implementation.name == "micropython":
        # the shim is for CPython only; MicroPython has the real module built in
        sys.path.remove(root + "/tools/shim")
    files = sorted(n for n in os.listdir(folder) if n.startswith("test_") and n.endswith(".py"))
    passed = failed = 0
    failures = []
    for fn in files:
        modname = fn[:-3]
        try:
            mod = __import__(modname)
        except Exception as e:
            print("ERROR importing", modname)
            _print_exc(e)
            failed += 1
            failures.append(modname)
            continue
        names = sorted(n for n in dir(mod) if n.startswith("test_"))
        for n in names:
            f = getattr(mod, n)
            if not callable(f):
                continue
            full = modname + "." + n
            if pattern and pattern not in full:
                continue
            try:
                f()
                passed += 1
            except Exception as e:
                failed += 1
                failures.append(full)
                print("FAIL", full)
                _print_exc(e)
        if hasattr(sys.modules.get(modname, None), "__name__"):
            del sys.modules[modname]
        try:
            import gc
            gc.collect()
        except ImportError:
            pass
    for f in failures:
        print("FAILED", f)
    print("%s: %d passed, %d failed" % (sys.implementation.name, passed, failed))
    return 1 if (failed or not passed) else 0


sys.exit(main(sys.argv))
