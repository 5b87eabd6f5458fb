"""faxbridge entry point, the same on the board and on the MicroPython unix port.

Board: runs after boot.py; flash is the board's filesystem, the board's pins in /board.json.
Unix port: micropython firmware/main.py [--flash DIR]   (default: $FAXBRIDGE_FLASH or ./flash)
The unit's start is faxbridge/start.py, a module of the package: imported with the rest (the
bench counts its code with the imports, as a frozen build holds it in flash).
"""
import sys

# boot.py sets FAXBRIDGE_SAFE when BOOT is held: a global of __main__, where the board runs
# boot.py and then this file. Read from the globals, not as a bare name: the NameError a bare
# name raises without it stays held while the unit runs (192 B, 64-bit unix port). In safe mode
# the package is not even imported (a broken one still leaves the REPL free).
if not globals().get("FAXBRIDGE_SAFE"):
    from faxbridge.start import main
    if sys.platform != "esp32":
        sys.exit(main())
    main()
