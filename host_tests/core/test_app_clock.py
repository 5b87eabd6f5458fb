"""The unit's monotonic clock (app/clock.py): integer milliseconds over ticks_ms's wrap-around,
exact however long the unit runs, and nothing allocated per reading. Both runtimes."""
import gc
import time

from support import allocated

from faxbridge.app.clock import Monotonic

# Where ticks_ms wraps: 2**30 on the ESP32 (and on CPython here), 2**62 on the 64-bit unix port
PERIOD = time.ticks_add(0, -1) + 1 if hasattr(time, "ticks_add") else 1 << 30


def _ticks():
    """A ticks_ms stand-in: t[0] is the current raw tick count (wrapped)."""
    t = [PERIOD - 5]
    return t, lambda: t[0] % PERIOD


def _step(t, ms):
    t[0] += ms


def test_wraps_and_counts_every_millisecond_after_fifty_days():
    t, ticks = _ticks()
    if hasattr(time, "ticks_diff"):
        c = Monotonic(ticks)
    else:                                   # CPython: the ticks_diff the board has
        import faxbridge.app.clock as clock
        save = clock._diff
        clock._diff = lambda a, b: ((a - b + PERIOD // 2) % PERIOD) - PERIOD // 2
        c = Monotonic(ticks)
    try:
        for _ in range(16):                 # 16 * (2**28 - 1) ms: about 50 days, wrapping at the first
            _step(t, (1 << 28) - 1)
            c.ms()
        base = c.ms()
        assert base == 16 * ((1 << 28) - 1), base
        for i in range(1, 2001):            # then one millisecond at a time, each one counted
            _step(t, 1)
            assert c.ms() == base + i, (i, c.ms() - base)
        _step(t, 1500)
        assert c() == (base + 3500) / 1000
    finally:
        if not hasattr(time, "ticks_diff"):
            clock._diff = save


def test_reading_the_milliseconds_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return
    t = [0]
    c = Monotonic(lambda: t[0])
    c.ms()

    def run():
        for _ in range(100):
            _step(t, 7)
            c.ms()
    used, _ = allocated(run)
    assert used == 0, used
