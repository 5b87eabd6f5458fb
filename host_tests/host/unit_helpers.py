"""End-to-end test helpers: re-exports tools/unitlab.py (the harness shared with `make run`
and tools/bench/unit.py)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools")]
from unitlab import (Lab, blocky_pbm, codes_in_order, compile_mpy, pbmz, UNIT,  # noqa: E402,F401
                     UNIT_NUMBER, demo_scenario)
