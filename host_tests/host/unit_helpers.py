"""End-to-end test helpers: re-exports tools/unitlab.py (the harness shared with `make run`
and tools/bench/unit.py)."""
from unitlab import (Lab, blocky_pbm, codes_in_order, compile_mpy, pbmz, UNIT,  # noqa: F401
                     UNIT_NUMBER, demo_scenario)
