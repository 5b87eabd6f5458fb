"""For the scripts in tools/bench (both runtimes): tools/ on sys.path, then tools/hostpath.py
puts the rest there. Each script imports this first."""
import sys

sys.path.insert(0, (__file__.rsplit("/", 1)[0] if "/" in __file__ else ".") + "/..")
import hostpath  # noqa: E402,F401
