"""End-to-end test helpers: re-exports tools/unitlab.py (the harness shared with `make run`
and tools/bench/unit.py) and the page makers of tools/unitdemo.py."""
from unitdemo import blocky_pbm, pbmz  # noqa: F401
from unitlab import Lab, codes_in_order, compile_mpy, UNIT, UNIT_NUMBER, demo_scenario  # noqa: F401
