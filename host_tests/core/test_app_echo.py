"""app/echo.py: the read-back check of what the unit publishes (both runtimes), run on a link."""
from mqtt_helpers import MemStore, echo_waiting

from faxbridge.app import echo
from faxbridge.app.link import Link


def _link(errs):
    return Link("u1", "127.0.0.1", 1883, MemStore(), verify_ms=1000, on_error=errs.append)


def test_a_topic_not_read_back_in_time_is_reported_pages_are_not_expected():
    errs = []
    e = _link(errs)
    echo.reset(e, 0)
    assert echo_waiting(e) == ["availability"]
    echo.seen(e, "availability", b"offline")       # only `online` is the echo of the connection's
    assert echo_waiting(e) == ["availability"]
    echo.seen(e, "availability", b"online")
    echo.expect(e, "cafis/verdict", 3, 0)
    echo.expect(e, "fax/page/rx1-1/1", 4, 0)     # a page is never subscribed back: no false "denied"
    echo.seen(e, "cafis/verdict", b'{"unit":"u1","seq":3}')
    echo.check(e, 2000)
    assert e.denied == 0 and errs == [] and echo_waiting(e) == []
    echo.expect(e, "fax/status", 5, 2000)
    echo.check(e, 3001)
    assert e.denied == 1 and "fax/status" in errs[0]


def test_the_oldest_seq_per_topic_is_awaited_and_a_later_echo_confirms_it():
    errs = []
    e = _link(errs)
    echo.reset(e, 0)
    echo.expect(e, "cmd/error", 7, 0)
    echo.expect(e, "cmd/error", 8, 10)          # already waiting: the older seq (and deadline) stays
    echo.expect(e, "cafis/verdict", 2, 0)
    echo.seen(e, "cmd/error", b'{"unit":"u1","seq":6}')   # an older one: not the echo awaited
    echo.seen(e, "fax/received", b'{"unit":"u1","seq":99}')   # not awaited: ignored
    assert echo_waiting(e) == ["cafis/verdict", "cmd/error", "availability"]
    echo.seen(e, "cmd/error", b'{"unit":"u1","seq":8}')
    echo.check(e, 1000)
    assert e.denied == 2 and echo_waiting(e) == []
    assert "faxbridge/u1/cafis/verdict (seq 2)" in errs[0] and "faxbridge/u1/availability" in errs[1]


def test_the_seq_is_read_in_place_from_any_head():
    """seen() reads the seq in place from the head kept (any bytes-like): awaited seq 0 is
    confirmed by a head whose seq is found (any value >= 0), never by one without a seq."""
    def confirms(head):
        e = _link([])
        echo.reset(e, 0)
        echo.expect(e, "cafis/verdict", 0, 0)
        echo.seen(e, "cafis/verdict", head)
        return echo_waiting(e) == ["availability"]
    e = _link([])
    echo.reset(e, 0)
    echo.expect(e, "cafis/verdict", 4567, 0)
    echo.seen(e, "cafis/verdict", memoryview(bytearray(b'{"unit":"u\\"seq\\":1","seq":4566,"x":1}'))[0:])
    assert echo_waiting(e) == ["cafis/verdict", "availability"]    # the quoted "seq" is not it
    echo.seen(e, "cafis/verdict", memoryview(bytearray(b'{"unit":"u\\"seq\\":1","seq":4567,"x":1}'))[0:])
    assert echo_waiting(e) == ["availability"]
    assert confirms(b'{"unit":"u1","seq":0}')
    for head in (b"", b'"seq"', b'{"unit":"u1","seq":', b'{"unit":"u1","seq":x}', b'{"seq" :5}',
                 b'{"unit":"u1","se'):
        assert not confirms(head), head
