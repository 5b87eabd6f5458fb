"""pytest's one place for sys.path: tools/hostpath.py, and the core tests' helpers."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_here), "tools"))
import hostpath  # noqa: E402,F401  (firmware/, the shims, tools/ and tools/bench on sys.path)

sys.path.insert(0, os.path.join(_here, "core"))
