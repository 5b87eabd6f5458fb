"""The ESP32 board: UARTs with the board's pins, Wi-Fi, NTP time, hardware watchdog."""
