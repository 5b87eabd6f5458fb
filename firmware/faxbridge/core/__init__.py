"""Sans-I/O cores: no UART, socket, clock or file in here. Runs on MicroPython and CPython."""
