"""Helpers for core tests, usable on MicroPython and CPython (no pytest features)."""
import os


def raises(exc, fn, *args, **kw):
    """Assert fn(*args) raises exc; return the exception."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)


def tmpdir(tag="t"):
    """A fresh empty folder under build/tmp (made on both runtimes)."""
    base = "build"
    for p in (base, base + "/tmp"):
        try:
            os.mkdir(p)
        except OSError:
            pass
    name = base + "/tmp/" + tag + "-" + "".join("%02x" % b for b in os.urandom(6))
    os.mkdir(name)
    return name
