"""Monotonic seconds from ticks_ms, immune to its wrap-around (the drivers' `now`).
The unit's one clock; on CPython (host tests of the MQTT link) it runs on time.monotonic."""
import time

if hasattr(time, "ticks_ms"):
    _ticks_ms = time.ticks_ms
    _diff = time.ticks_diff
else:
    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b


class Monotonic:
    def __init__(self, ticks_ms=None):
        self._ticks = ticks_ms or _ticks_ms
        self._last = self._ticks()
        self._t = 0.0

    def __call__(self):
        t = self._ticks()
        self._t += _diff(t, self._last) / 1000
        self._last = t
        return self._t

    def ms(self):
        """The same clock in integer milliseconds (the MQTT session's time)."""
        return int(self() * 1000)
