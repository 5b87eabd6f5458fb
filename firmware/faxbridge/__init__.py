"""faxbridge: Class 2 fax, CAFIS telegram checks and MQTT reporting for an ESP32 field unit.

core/   sans-I/O protocol logic (bytes and events in, bytes and actions out; time passed in)
app/    the asyncio application that wires the cores to I/O
ports/  thin platform adapters: esp32 (the board) and unix (the MicroPython unix port)
"""

VERSION = "0.2.0"   # reported to Home Assistant (core/mqtt/discovery.py) and in telemetry
