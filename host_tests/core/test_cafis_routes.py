"""The route table: opening, freeing, kept headers, busy counts, the pending control command."""
import cafis_helpers as h
from cafis_helpers import center_tel

from support import consts, raises

from faxbridge.core.cafis import registry, routes

R = consts(routes, "_")      # the slot states (private in routes.py)


def _busy(r, ci):
    """Routes of center ci in use: 2 bytes of the route table's per-center record."""
    return r.cs[4 * ci + 2] << 8 | r.cs[4 * ci + 3]


def test_route_memory_is_preallocated_per_route_held():
    c = h.checker()
    # per center: its first route's slot (after the 3 command slots) and routes in use
    assert bytes(c.routes.cs) == bytes((0, 3, 0, 0, 0, 11, 0, 0, 0, 15, 0, 0))
    assert [len(b) for b in c.routes.blocks] == [(13 + 3) * 64]     # a slot per route, one per center


def test_route_slots_come_in_blocks_of_at_most_2_kb():
    """A center with many routes: no block of the route table is larger than 2 KB (the unit's
    largest allocation after boot), and every slot keeps its own header."""
    c = h.checker(lambda d: d["centers"][0].update({"routes": ["0002-0101"]}))
    assert [len(b) for b in c.routes.blocks] == [32 * 64, 32 * 64, 32 * 64, 12 * 64]    # 3 + 105 slots
    for route in (2, 33, 34, 66, 98, 101):
        t = center_tel((("route", "%04d" % route), ("seq", "%06d" % route)))
        assert c.check(t, "center", "A").kind == "accept", route
    for route in (2, 33, 34, 66, 98, 101):
        assert bytes(c.kept("A", route))[4:10] == b"%06d" % route
        assert c.sent(center_tel((("route", "%04d" % route), ("msg_type", "0110"))), "A")
    # more routes than the route table may hold in all: refused when the registry is loaded
    d = h.example_dict()
    d["centers"][0]["routes"] = ["0002-2000"]
    d["centers"][1]["routes"] = ["2001-2100"]
    e = raises(registry.RegistryError, registry.load, d)
    assert "center B: 2099 routes in all; at most 2048" in str(e), str(e)     # 1999 + 100


def test_request_opens_report_frees_and_header_is_kept():
    c = h.checker()
    a = c.reg.by_id.get("A").idx
    t = center_tel((("route", "0004"),))
    assert c.check(t, "center", "A").kind == "accept"
    assert c.routes.state(a, 2) == R["_ORIG"] and _busy(c.routes, a) == 1
    assert bytes(c.kept("A", 4)) == t[:63]
    # an answer on another route frees nothing
    assert not c.sent(center_tel((("route", "0005"), ("msg_type", "0110"))), "A")
    assert c.sent(center_tel((("route", "0004"), ("msg_type", "9900")), trailer=b"C58"), "A")
    assert c.routes.state(a, 2) == R["_FREE"] and _busy(c.routes, a) == 0
    assert bytes(c.kept("A", 4)) == t[:63]          # kept as the route's last telegram
    assert c.kept("A", 5) is None and c.kept("A", 99) is None and c.kept("Q", 4) is None


def test_sent_requests_open_destination_routes_and_fill_the_center():
    c = h.checker()
    b = c.reg.by_id.get("B").idx
    for i, r in enumerate(("0100", "0101", "0102", "0103")):
        assert _busy(c.routes, b) == i
        assert c.sent(h.forwarded((("route", r),)), "B")
        assert _busy(c.routes, b) == i + 1
    assert _busy(c.routes, b) == c.reg.by_id.get("B").nroutes
    # sending again on a busy route does not count twice
    c.sent(h.forwarded(), "B")
    assert _busy(c.routes, b) == 4
    # a report sent TO B does not free B's destination route (B must answer it)
    assert not c.sent(h.answer(), "B")
    assert c.check(h.answer(), "center", "B").kind == "accept"
    assert _busy(c.routes, b) == 3


def test_sent_ignores_short_unknown_and_control_routes():
    c = h.checker()
    before = h.snapshot(c.routes)
    assert not c.sent(b"0002", "A")
    assert not c.sent(center_tel((("route", "0000"),)), "A")
    assert not c.sent(center_tel((("route", "0999"),)), "A")
    assert not c.sent(center_tel((("msg_type", "1234"),)), "A")
    assert h.snapshot(c.routes) == before
    assert c.sent(center_tel((("route", "0001"), ("msg_type", "8000"))), "A")
    assert c.routes.state(c.reg.by_id.get("A").idx, R["_CMD"]) == 1


def test_snapshot_changes_with_state():
    c = h.checker()
    s0 = h.snapshot(c.routes)
    c.check(center_tel(), "center", "A")
    assert h.snapshot(c.routes) != s0


def test_at_most_512_centers():
    """Their route state (4 bytes each) is one block of at most 2 KB."""
    d = h.example_dict()
    d["centers"] = [{"id": "X%d" % i, "company": "ACQ0001", "routes": ["%04d" % (2 + i)], "center_ids": [],
                     "services": []} for i in range(513)]
    e = raises(registry.RegistryError, registry.load, d)
    assert "center X512: at most 512 centers" in str(e), str(e)
    d["centers"].pop()
    c = h.checker(lambda x: x.update({"centers": d["centers"]}))
    assert len(c.routes.cs) == 2048 and _busy(c.routes, 511) == 0
