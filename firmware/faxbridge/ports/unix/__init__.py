"""The MicroPython unix port: modem on a pseudo-terminal, flash as a folder."""
