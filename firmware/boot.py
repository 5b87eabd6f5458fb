"""Runs first on the board: keep it tiny so that a broken main.py still leaves a REPL.

Hold the BOOT button (GPIO0) during reset to skip main.py (safe mode for mpremote).
"""
import sys

if sys.platform == "esp32":
    import esp
    import machine

    esp.osdebug(None)
    if machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0:
        print("faxbridge: BOOT held, safe mode: main.py will not start the unit")
        import builtins
        builtins.FAXBRIDGE_SAFE = True
