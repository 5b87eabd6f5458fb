"""Shared by the CAFIS benchmarks (cafis.py, cafis_engine.py), on MicroPython and CPython:
a microsecond clock and a center telegram made from the default layout."""
import sys
import time

from faxbridge.core.cafis import layout

MP = sys.implementation.name == "micropython"

# The default header's fields (spec/cafis.md), as (key, value); a test changes a few.
BASE = (("route", "0002"), ("seq", "000123"), ("center_id", "A1"), ("line", "001"),
        ("cafis_seq", "      "), ("org_co", "ACQ0001"), ("org_sub", "1200"), ("dst_co", "ISS0002"),
        ("dst_sub", "0000"), ("msg_type", "0100"), ("cafis_date", "1122"), ("cat_status", "0"),
        ("org_date", "22"), ("proxy_report", "00"), ("proxy_error", "000"), ("proxy_reroute", "0"))


def ticks():
    if MP:
        return time.ticks_us()
    return int(time.perf_counter() * 1e6)


def diff(a, b):
    if MP:
        return time.ticks_diff(a, b)
    return a - b


def tel(changes, trailer=b"DATA", route="0002"):
    """A center telegram (bytearray): BASE with `route` and `changes` applied, then trailer."""
    lay = layout.center()
    base = dict(BASE)
    base["route"] = route
    for k, v in changes:
        base[k] = v
    base["trailer_len"] = "%03d" % len(trailer)
    buf = bytearray(lay.hlen + len(trailer))
    for row in layout.rows(lay.fields):
        key, off, ln = row[0], row[3], row[4]
        v = base[key].encode()
        for i in range(ln):
            buf[off + i] = v[i]
    buf[lay.hlen:] = trailer
    return buf
