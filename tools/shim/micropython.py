"""CPython stand-in for MicroPython's built-in `micropython` module (host side only).

It is never copied to a board: the real module is built into every MicroPython.
"""


def const(x):
    return x


def native(f):
    return f


def viper(f):
    return f


def mem_info(*_):
    pass


def alloc_emergency_exception_buf(_):
    pass
