"""`python tools/modemsim --help`: run the simulated line from the command line."""
import os
import sys

if __package__ in (None, ""):
    # Run as a folder (python tools/modemsim): import the package from tools/, and keep
    # tools/modemsim itself off sys.path so its module names cannot shadow anything.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(_here))
    from modemsim.cli import main
else:
    from .cli import main

if __name__ == "__main__":
    sys.exit(main())
