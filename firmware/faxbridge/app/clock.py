"""Monotonic seconds from ticks_ms, immune to its wrap-around (the drivers' `now`)."""
import time


class Monotonic:
    def __init__(self, ticks_ms=None):
        self._ticks = ticks_ms or time.ticks_ms
        self._last = self._ticks()
        self._t = 0.0

    def __call__(self):
        t = self._ticks()
        self._t += time.ticks_diff(t, self._last) / 1000
        self._last = t
        return self._t
