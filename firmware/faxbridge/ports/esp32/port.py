"""The esp32 port: what the application needs from a platform, on the board.

The board's pins come from /board.json on flash (a copy of boards/<board>/board.json that
`make deploy` puts there). UARTs are opened with timeout=0 so that asyncio's StreamReader
never blocks in read(); the modem UART uses hardware flow control (RTS/CTS).
Type-checked with mypy against micropython-esp32-stubs (tools/typecheck.py).
"""
import asyncio
import gc
import time

import machine

# Seconds between 1970-01-01 (what the app uses) and the port's epoch: 2000-01-01 on older
# ESP32 builds, 1970 on builds with MICROPY_EPOCH_IS_1970; asked of the firmware, not assumed.
_EPOCH_2000 = 946684800 if time.gmtime(0)[0] == 2000 else 0
# json, network and ntptime are imported where they are used (once, at boot): a module-level
# name is a slot of the module's table for as long as the unit runs.


class Port:
    name = "esp32"

    def __init__(self, flash: str = "/", board: dict | None = None) -> None:
        self.flash = flash
        if board is None:
            import json
            with open("/board.json") as f:
                board = json.load(f)
        self.board = board
        self._uarts: list = []
        ctl = self.board.get("modem_control") or {}
        self._dtr = machine.Pin(ctl["dtr"], machine.Pin.OUT, value=0) if "dtr" in ctl else None
        self._wlan: object = None          # the network.WLAN, once start_network made it
        # ticks_ms() is time's own function, not a method that calls it: the clocks read it
        # directly (app/clock.Monotonic, the unit's and its link's: no Python call per reading)
        self.ticks_ms = time.ticks_ms

    # clock: the app wants Unix seconds (UTC), whatever the port's epoch
    def time(self) -> int:
        return time.time() + _EPOCH_2000

    def mem_free(self) -> int:
        return gc.mem_free()

    async def start_network(self, cfg: dict, log) -> bool:
        """Join the configured Wi-Fi (timeout from the config) and set the clock by NTP."""
        import network
        import ntptime
        wcfg = cfg.get("wifi") or {}
        wlan = network.WLAN(network.STA_IF)
        self._wlan = wlan
        wlan.active(True)
        if not wlan.isconnected():
            wlan.connect(wcfg.get("ssid"), wcfg.get("password"))
            deadline = time.ticks_add(time.ticks_ms(), int(wcfg.get("timeout_s", 30)) * 1000)
            while not wlan.isconnected():
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    log("wifi: no connection to %s" % wcfg.get("ssid"))
                    return False
                await asyncio.sleep_ms(200)
        ncfg = cfg.get("ntp") or {}
        if ncfg.get("host"):
            ntptime.host = ncfg["host"]
        try:
            ntptime.settime()
        except OSError as e:
            log("ntp: %s" % e)
        return True

    def _open(self, spec: dict, baud, flow: bool) -> tuple:
        """(reader, writer) on the UART board.json's `spec` describes, at `baud` when given: one
        asyncio Stream reads and writes (MicroPython's are one class)."""
        spec = dict(spec)
        if baud:
            spec["baud"] = baud
        u = machine.UART(spec["id"], baudrate=spec["baud"], tx=spec["tx"], rx=spec["rx"],
                         rxbuf=2048, txbuf=1024, timeout=0, timeout_char=0)
        if flow and spec.get("flow") == "rtscts":
            # rts/cts/flow are accepted by the esp32 UART but missing from the stubs' signature
            extra: dict = {"rts": spec["rts"], "cts": spec["cts"],
                           "flow": machine.UART.RTS | machine.UART.CTS}
            u.init(**extra)
        self._uarts.append(u)
        st = asyncio.StreamReader(u)
        return st, st

    def open_modem(self, mcfg: dict) -> tuple:
        return self._open(self.board["modem_uart"], mcfg.get("baud"), True)

    def open_telegram(self, tcfg: dict) -> tuple | None:
        spec = self.board.get("telegram_uart")
        if not spec or tcfg.get("enabled") is False:
            return None
        return self._open(spec, tcfg.get("baud"), False)

    def modem_reset_line(self, on: bool) -> bool:
        """Drive DTR (active low on the modem: on=True drops DTR to reset). False if absent."""
        if self._dtr is None:
            return False
        self._dtr.value(1 if on else 0)
        return True

    def watchdog(self, timeout_ms: int) -> machine.WDT:
        """The hardware watchdog itself: the unit calls its feed()."""
        return machine.WDT(timeout=timeout_ms)

    def close(self) -> None:
        for u in self._uarts:
            u.deinit()
        self._uarts = []

    def restart(self) -> None:
        machine.reset()
