"""faxbridge: Class 2 fax, CAFIS telegram checks and MQTT reporting for an ESP32 field unit.

core/   sans-I/O protocol logic (bytes and events in, bytes and actions out; time passed in)
app/    the asyncio application that wires the cores to I/O
ports/  thin platform adapters: esp32 (the board) and unix (the MicroPython unix port)
"""
