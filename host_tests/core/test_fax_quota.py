"""Page quota (spec/fax.md): held at -22, released when raised within 24 h, else 205000."""
from faxbridge.core.fax.quota import Quota

SEND, HOLD, EXPIRE = "send", "hold", "expire"     # what Quota.decide returns

T0 = 1790000000.0  # some instant; UTC day boundaries computed from it


def test_no_quota_always_sends():
    q = Quota(0)
    assert q.decide(1000, None, T0) == SEND
    assert q.remaining(T0) is None


def test_within_quota_then_held():
    q = Quota(5)
    assert q.decide(3, None, T0) == SEND
    q.charge(3, T0)
    assert q.remaining(T0) == 2
    assert q.decide(2, None, T0) == SEND
    assert q.decide(3, None, T0) == HOLD


def test_raised_within_24h_releases():
    q = Quota(2)
    q.charge(2, T0)
    held = T0 + 10
    assert q.decide(1, None, held) == HOLD
    q.limit = 3
    assert q.decide(1, held, held + 3600) == SEND


def test_hold_expires_after_24h():
    q = Quota(10)
    start = int(T0 // 86400) * 86400 + 3600  # 01:00 UTC
    q.charge(10, start)
    # a 20-page job never fits a 10-page day: held, then ended at 205000 after 24 h
    assert q.decide(20, start, start + 86399) == HOLD
    assert q.decide(20, start, start + 86400) == EXPIRE


def test_new_day_resets_usage():
    q = Quota(4)
    day_start = int(T0 // 86400) * 86400
    q.charge(4, day_start + 100)
    assert q.decide(1, day_start + 200, day_start + 300) == HOLD
    assert q.decide(1, day_start + 200, day_start + 86400 + 1) == SEND
    assert q.remaining(day_start + 86400 + 1) == 4


def test_state_roundtrip():
    q = Quota(5)
    q.charge(2, T0)
    r = Quota(5)
    r.restore([q.day, q.used])                  # as app/unit.py save_state persists it
    assert r.remaining(T0) == 3
    r.restore("garbage")
    assert r.remaining(T0) == 3
