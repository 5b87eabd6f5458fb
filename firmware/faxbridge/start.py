"""The unit's start, the same on the board and on the MicroPython unix port (main.py calls it).

The one place a port is joined to the unit (docs/architecture.md): main.py's body until the
seventh round, now a module of the package, imported with the rest (the bench loaded main.py
after measuring the imported code, so each working set counted its 1.5 KB of code, 64-bit .mpy,
which a frozen build keeps in flash).
"""
import sys


def main():
    """Read <flash>/config.json, refuse to start with one message per configuration error, else
    run the unit until it stops; its exit code (main.py: the process's on the unix port).
    boot.py's safe mode is main.py's business: this is not called then."""
    # Boot (config.load, deep_check, Unit, Unit.run up to jobboot.recover) collects every 2 KB
    # allocated: what it keeps then packs low among its garbage instead of being strewn across
    # the heap, leaving no run for the link's buffers. Unit.run ends it (docs/unit.md, "Boot").
    import gc
    gc.threshold(2048)
    if sys.platform == "esp32":
        from faxbridge.ports.esp32.port import Port
        port = Port()
    else:                       # the unix port: --flash DIR, else $FAXBRIDGE_FLASH or ./flash
        import os
        from faxbridge.ports.unix.port import Port
        flash = os.getenv("FAXBRIDGE_FLASH") or "flash"
        args = sys.argv
        for i in range(len(args) - 1):
            if args[i] == "--flash":
                flash = args[i + 1]
        port = Port(flash)
    from faxbridge.app import config
    path = port.flash + "config.json"
    cfg, errors = config.load(path)
    registry = None
    if not errors:
        from faxbridge.app.deepcheck import deep_check
        errors, registry = deep_check(cfg, port.flash)
    if errors:
        for e in errors:
            print("faxbridge: config error:", e)
        print("faxbridge: not started: %d error(s) in %s" % (len(errors), path))
        return 2
    import asyncio
    from faxbridge.app.unit import Unit
    unit = Unit(port, cfg, registry)
    try:
        asyncio.run(unit.run())
    except KeyboardInterrupt:
        print("faxbridge: interrupted")
        try:
            asyncio.run(unit.shutdown())
        except KeyboardInterrupt:
            pass
    except MemoryError:         # Unit.run's boot (the CAFIS Checker, the recovery, the link's
        print("faxbridge: no memory to boot")   # buffers): as a task's death, in words
        unit.exit_code = 3
    finally:
        port.close()
    print("faxbridge: stopped (exit code %d)" % unit.exit_code)
    if unit.exit_code and sys.platform == "esp32":
        port.restart()          # a task died: a clean reset; jobs and events are on flash
    return unit.exit_code
