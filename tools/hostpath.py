"""Put the firmware and the CPython shims on sys.path for host tools and tests."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
SHIM = os.path.join(ROOT, "tools", "shim")

for _p in (SHIM, FIRMWARE):
    if _p not in sys.path:
        sys.path.insert(0, _p)
