import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_here), "tools"))
import hostpath  # noqa: E402,F401  (puts firmware/ and the shims on sys.path)

sys.path.insert(0, os.path.join(_here, "core"))
