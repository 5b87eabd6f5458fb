"""Monotonic time from ticks_ms, immune to its wrap-around (the drivers' `now`).
The unit's one clock; on CPython (host tests of the MQTT link) it runs on time.monotonic.

Kept in integer milliseconds: a float sum of small steps stops advancing once the sum is large
(the ESP32's floats are single precision: past about 1.5 days a step under 8 ms rounds to
nothing), and every float is a heap object there. ms() allocates nothing until the count
passes the small-int range (2**30 ms, 12 days on the ESP32); seconds are derived from it.
"""
try:
    from time import ticks_diff as _diff, ticks_ms as _ticks_ms   # MicroPython
except ImportError:
    from time import monotonic

    def _ticks_ms():
        return int(monotonic() * 1000)

    def _diff(a, b):
        return a - b


class Monotonic:
    def __init__(self, ticks_ms=None):
        self._ticks = ticks_ms or _ticks_ms
        self._last = self._ticks()
        self._ms = 0

    def __call__(self):
        """Seconds (a float) since the clock was made."""
        return self.ms() / 1000

    def ms(self):
        """The same clock in integer milliseconds (the MQTT session's time)."""
        t = self._ticks()
        self._ms += _diff(t, self._last)
        self._last = t
        return self._ms
