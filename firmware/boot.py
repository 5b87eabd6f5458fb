"""Runs first on the board: keep it tiny so that a broken main.py still leaves a REPL.

Safe mode (main.py does not start the unit, the REPL stays free for mpremote): press and hold
the BOOT button (GPIO0, board.json "safe_mode") while the status LED is lit, the 2 s after
the log line `faxbridge: hold BOOT now for safe mode`. Holding BOOT *during* reset does not
work: the ESP32's ROM samples GPIO0 at reset and enters its serial download mode, so boot.py
never runs.
"""
import sys


def safe_window(pressed, sleep_ms, window_ms=2000, step_ms=50, hold=2):
    """True when pressed() is true at `hold` consecutive polls (debounce) within window_ms;
    polls every step_ms. Pure: the pin and the sleep are passed in (tested on the host)."""
    run = 0
    t = 0
    while True:
        run = run + 1 if pressed() else 0
        if run >= hold:
            return True
        if t >= window_ms:
            return False
        sleep_ms(step_ms)
        t += step_ms


def _board():
    try:
        import json
        with open("/board.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


if sys.platform == "esp32":
    import esp
    import machine
    import time

    esp.osdebug(None)
    b = _board()
    s = b.get("safe_mode") or {}
    led = b.get("status_led")
    btn = machine.Pin(s.get("pin", 0), machine.Pin.IN, machine.Pin.PULL_UP)
    if led:
        lp = machine.Pin(led["pin"], machine.Pin.OUT)
        lp.value(1 if led.get("active_high", True) else 0)
    print("faxbridge: hold BOOT now for safe mode (%d ms)" % s.get("window_ms", 2000))
    if safe_window(lambda: btn.value() == 0, time.sleep_ms, s.get("window_ms", 2000)):
        print("faxbridge: safe mode: main.py will not start the unit")
        FAXBRIDGE_SAFE = True   # a global of __main__, where main.py runs next (read there)
    if led:
        lp.value(0 if led.get("active_high", True) else 1)
        del lp
    # boot.py runs in __main__, whose names live as long as the unit: keep none of its own
    del b, s, led, btn, safe_window, _board
