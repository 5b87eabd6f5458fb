"""Helpers for the CAFIS core tests (both runtimes): the example registry and telegram builders."""
import json

from faxbridge.core.cafis import layout, outbound, registry

_PATHS = ("docs/cafis-registry.example.json", "../docs/cafis-registry.example.json",
          "../../docs/cafis-registry.example.json")


def example_dict():
    """The example registry as a fresh dict (tests change it freely)."""
    for p in _PATHS:
        try:
            with open(p) as f:
                return json.loads(f.read())
        except OSError:
            pass
    raise AssertionError("docs/cafis-registry.example.json not found (run from the worktree root)")


def checker(changes=None):
    d = example_dict()
    if changes:
        changes(d)
    return outbound.Checker(registry.load(d))


# A general request (0100) from center A on route 0002 to issuer B: every check passes.
REQUEST = (
    ("route", "0002"), ("seq", "000123"), ("center_id", "A1"), ("line", "001"),
    ("cafis_seq", "      "), ("org_co", "ACQ0001"), ("org_sub", "1200"), ("dst_co", "ISS0002"),
    ("dst_sub", "0000"), ("msg_type", "0100"), ("cafis_date", "1122"), ("cat_status", "0"),
    ("org_date", "22"), ("proxy_report", "00"), ("proxy_error", "000"), ("proxy_reroute", "0"),
)

TERMINAL = (
    ("conn_co", "T001"), ("send_class", "1"), ("term_id", "TERM000000001"), ("msg_type", "0100"),
    ("term_seq", "00001"), ("term_dt", "1122093000"), ("reserved", "          "),
)


def _put(buf, lay, key, val):
    off, ln = lay.at(key)
    if isinstance(val, str):
        val = val.encode()
    assert len(val) == ln, (key, val)
    for i in range(ln):
        buf[off + i] = val[i]


def center_tel(changes=(), trailer=b"DATA", tlen=None, base=REQUEST, lay=None):
    """A center telegram: base fields with changes [(key, value), ...], the trailer, and the
    trailer length set to len(trailer) unless tlen (str) is given."""
    lay = lay or layout.center()
    buf = bytearray(lay.hlen)
    for key, val in base:
        _put(buf, lay, key, val)
    _put(buf, lay, "trailer_len", tlen if tlen is not None else "%03d" % len(trailer))
    for key, val in changes:
        _put(buf, lay, key, val)
    return bytes(buf) + trailer


def terminal_tel(changes=(), trailer=b"CARDDATA"):
    lay = layout.terminal()
    buf = bytearray(lay.hlen)
    for key, val in TERMINAL:
        _put(buf, lay, key, val)
    for key, val in changes:
        _put(buf, lay, key, val)
    return bytes(buf) + trailer


def forwarded(changes=()):
    """The request CAFIS sends to issuer B on B's route 0100 (CAFIS処理通番 set)."""
    return center_tel((("route", "0100"), ("cafis_seq", "000777")) + tuple(changes))


def answer(changes=()):
    """B's general report 0110 answering forwarded()."""
    return center_tel((("route", "0100"), ("cafis_seq", "000777"), ("msg_type", "0110")) + tuple(changes))


def check_v(v, kind, code, rule, field):
    assert (v.kind, v.code, v.rule(), v.field) == (kind, code, rule, field), (v, (kind, code, rule, field))


def snapshot(routes):
    """All of a checker's route state (routes.Routes) as bytes: a discard changes none of it."""
    out = bytearray(routes.cs)
    for b in routes.blocks:
        out += b
    return bytes(out)
