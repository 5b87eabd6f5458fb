# Freeze faxbridge into your own MicroPython build for the ESP32:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/faxbridge/boards/esp32_devkitc/manifest.py
# `include`, `package` and `module` are provided by MicroPython's manifest tool.
include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821  (the port's own frozen modules: asyncio, ...)
package("faxbridge", base_path="$(MPY_DIR)/../faxbridge/firmware",  # noqa: F821
        opt=3)
module("main.py", base_path="$(MPY_DIR)/../faxbridge/firmware")  # noqa: F821
