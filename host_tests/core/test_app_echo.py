"""app/echo.py: the read-back check of what the unit publishes (both runtimes)."""
from faxbridge.app.echo import Echo


def test_a_topic_not_read_back_in_time_is_reported_pages_are_not_expected():
    errs = []
    e = Echo(1000, "faxbridge/u1", errs.append)
    e.reset(0)
    e.seen("availability", b"online")
    e.expect("cafis/verdict", 3, 0)
    e.expect("fax/page/rx1-1/1", 4, 0)     # a page is never subscribed back: no false "denied"
    e.seen("cafis/verdict", b'{"unit":"u1","seq":3}')
    e.check(2000)
    assert e.denied == 0 and errs == [] and not e.pending
    e.expect("fax/status", 5, 2000)
    e.check(3001)
    assert e.denied == 1 and "fax/status" in errs[0]
