"""The unix port: what the application needs from a platform, on MicroPython's unix port.

flash   a folder (FAXBRIDGE_FLASH or the path given to Port), paths are `flash + name`
modem   a pseudo-terminal path from the configuration, raw with VMIN=0/VTIME=0
clock   time.time() (the host keeps wall time), ticks for monotonic time
"""
import asyncio
import gc
import time

from faxbridge.ports.unix import serialport    # one module name: each name is a slot when frozen


class Port:
    name = "unix"

    def __init__(self, flash):
        if not flash.endswith("/"):
            flash += "/"
        self.flash = flash
        import os
        try:
            os.mkdir(flash[:-1])
        except OSError:
            pass
        self._files = []
        # ticks_ms() is time's own function, not a method that calls it: the clocks read it
        # directly (app/clock.Monotonic, the unit's and its link's: no Python call per reading)
        self.ticks_ms = time.ticks_ms

    # clock
    def time(self):
        """Wall-clock seconds since the Unix epoch (UTC)."""
        return time.time()

    def mem_free(self):
        return gc.mem_free()

    async def start_network(self, cfg, log):
        """The host's network is up already; nothing to do."""
        return True

    def open_modem(self, mcfg):
        """(reader, writer) asyncio streams on the modem's pseudo-terminal."""
        f = serialport.open_raw(mcfg["path"], mcfg.get("baud"))
        self._files.append(f)
        st = asyncio.StreamReader(f)        # one Stream reads and writes (MicroPython's are one class)
        if mcfg.get("baud"):                # pace writes like the UART the board has
            return st, serialport.PacedWriter(st, mcfg["baud"])
        return st, st

    def open_telegram(self, tcfg):
        """A reader for the telegram line, or None when no path is configured."""
        path = tcfg.get("path")
        if not path:
            return None
        f = serialport.open_raw(path, tcfg.get("baud"))
        self._files.append(f)
        st = asyncio.StreamReader(f)
        return st, st

    def modem_reset_line(self, on):
        """No DTR on a pseudo-terminal: the driver falls back to ATZ."""
        return False

    def watchdog(self, timeout_ms):
        """The host has no hardware watchdog: the port stands in for it (feed does nothing)."""
        return self

    def feed(self):
        pass

    def close(self):
        for f in self._files:
            try:
                f.close()
            except OSError:
                pass
        self._files = []

    def restart(self):
        raise SystemExit(3)    # sys.exit(3)
