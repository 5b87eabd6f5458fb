"""Helpers for the CAFIS engine tests (both runtimes): telegrams and effect lookups."""
from faxbridge.core.cafis import layout

_DEFAULTS = {
    "route": "0100", "seq": "000123", "center_id": "01", "line": "001", "cafis_seq": "      ",
    "org_co": "ORG0001", "org_sub": "0000", "dst_co": "DST0001", "dst_sub": "0000",
    "msg_type": "0100", "cafis_date": "1122", "cat_status": "0", "org_date": "22",
    "proxy_report": "00", "proxy_error": "000", "proxy_reroute": "0", "trailer_len": None,
}


def tg(msg_type="0100", route="0100", trailer=b"", **fields):
    """A center telegram (default 63-byte header layout) with the given fields."""
    lay = layout.center()
    vals = dict(_DEFAULTS)
    vals["msg_type"] = msg_type
    vals["route"] = route
    for k in fields:
        if k not in vals:
            raise KeyError(k)
        vals[k] = fields[k]
    if vals["trailer_len"] is None:
        n = "%d" % len(trailer)
        vals["trailer_len"] = "0" * (3 - len(n)) + n
    b = bytearray(b" " * lay.hlen)
    for row in lay.fields:
        key, off, ln = row[0], row[3], row[4]
        v = vals[key]
        if isinstance(v, str):
            v = v.encode()
        assert len(v) == ln, (key, v)
        b[off:off + ln] = v
    return bytes(b) + trailer


def mtype(t):
    return t[43:47].decode()


def route(t):
    return t[0:4]


def kinds(effs):
    return [e[0] for e in effs]


def of(effs, kind):
    """The effects of one kind."""
    return [e for e in effs if e[0] == kind]


def sent(effs):
    """Message types (str) of the telegrams sent, in order."""
    return [mtype(e[2]) for e in effs if e[0] == "send"]


def one(effs, kind):
    es = of(effs, kind)
    assert len(es) == 1, (kind, effs)
    return es[0]
