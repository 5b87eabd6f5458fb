"""The one place that puts the repository's folders on sys.path for code run on the host.

Who imports it first: every entry script in tools/ (Python puts the script's folder, tools/,
on sys.path itself); the scripts in tools/bench through tools/bench/_path.py; pytest through
host_tests/conftest.py. Nothing else touches sys.path (docs/architecture.md).

CPython: tools/shim (stand-ins for MicroPython's built-in `micropython` and `deflate`),
firmware/ (the faxbridge package) and tools/ (unitlab, modemsim, ...) in front; tools/bench at
the end (its modules are found by name only where nothing else has that name).
MicroPython (tools/faxdrive.py, the bench workers): firmware/ and tools/; it has the real
built-ins.
"""
import sys

if sys.implementation.name == "micropython":
    TOOLS = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    ROOT = TOOLS + "/.."
    FIRMWARE = ROOT + "/firmware"
    _FRONT = (TOOLS, FIRMWARE)
    _BACK = ()
else:
    import os
    TOOLS = os.path.dirname(os.path.abspath(__file__))
    ROOT = os.path.dirname(TOOLS)
    FIRMWARE = os.path.join(ROOT, "firmware")
    SHIM = os.path.join(TOOLS, "shim")
    BENCH = os.path.join(TOOLS, "bench")
    _FRONT = (TOOLS, SHIM, FIRMWARE)
    _BACK = (BENCH,)

for _p in _FRONT:
    if _p not in sys.path:
        sys.path.insert(0, _p)
for _p in _BACK:
    if _p not in sys.path:
        sys.path.append(_p)
