"""Password file and ACL on Mosquitto: wrong credentials and denied topics are clear errors,
and nothing is silently lost (refused events stay in the outbox)."""
from mqtt_broker import Broker, Consumer, LinkThread, wait_for

from faxbridge.core.mqtt import contract

USERS = {"unit1": "s3cret", "ops": "opspw"}
ACL = """user ops
topic readwrite faxbridge/#

user unit1
topic readwrite faxbridge/u1/availability
topic readwrite faxbridge/u1/fax/#
topic readwrite faxbridge/u1/telemetry
topic readwrite faxbridge/u1/cmd/error
topic read faxbridge/u1/cmd/fax
topic read faxbridge/u1/cmd/cancel
"""


def _broker(tmp_path):
    return Broker(str(tmp_path / "broker"), users=USERS, acl=ACL).start()


def test_wrong_password_is_a_clear_error_and_events_wait(tmp_path):
    b = _broker(tmp_path)
    lt = LinkThread("u1", "127.0.0.1", b.port, username="unit1", password="wrong")
    try:
        wait_for(lambda: lt.link.errors >= 2, what="refusals")
        assert lt.link.state() != "up"
        assert "broker refused the connection" in lt.link.last_error or "CONNACK" in lt.link.last_error
        assert any("not authorized" in e or "bad user name or password" in e for e in lt.errors), lt.errors
        assert lt.event(contract.FAX_STATUS, contract.fax_status("J1", 0, "success", True)) == 1
        assert lt.link.outbox.depth() == 1  # kept, not lost
    finally:
        lt.stop()
        b.stop()
    no_user = LinkThread("u1", "127.0.0.1", b.port)
    b.start()
    try:
        wait_for(lambda: any("broker refused the connection" in e for e in no_user.errors),
                 what="anonymous refused")
        assert "broker refused the connection" in no_user.link.last_error
    finally:
        no_user.stop()
        b.stop()


def test_denied_publish_surfaces_as_error(tmp_path):
    b = _broker(tmp_path)
    c = Consumer(b.port, username="ops", password="opspw")
    lt = LinkThread("u1", "127.0.0.1", b.port, username="unit1", password="s3cret", verify_ms=1500)
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        ok = lt.event(contract.FAX_STATUS, contract.fax_status("J1", 0, "success", True))
        bad = lt.event(contract.CAFIS_VERDICT, contract.cafis_verdict("T1", "accept", None, None))
        wait_for(lambda: lt.link.denied >= 1, 10, what="denied publish detected")
        err = [e for e in lt.errors if "never delivered" in e]
        assert err and "faxbridge/u1/cafis/verdict" in err[0] and "seq %d" % bad in err[0], lt.errors
        assert "ACL" in err[0]
        assert not any("fax/status" in e for e in err)
        wait_for(lambda: c.events("fax/status"), what="allowed event")
        assert c.events("fax/status")[0][1]["seq"] == ok
        assert not c.events("cafis/verdict")
    finally:
        lt.stop()
        c.close()
        b.stop()


def test_refused_subscription_is_reported(tmp_path):
    """Mosquitto's acl_file grants every SUBSCRIBE and filters at delivery (nothing a client can
    see); the dynamic-security plugin checks subscriptions and answers SUBACK 0x80."""
    roles = {"unit": [("publishClientSend", "faxbridge/u1/#", True),
                      ("subscribePattern", "faxbridge/u1/fax/+", True),
                      ("subscribePattern", "faxbridge/u1/cafis/+", True),
                      ("subscribePattern", "faxbridge/u1/availability", True)]}
    b = Broker(str(tmp_path / "broker"), dynsec=({"unit1": ("s3cret", "unit")}, roles)).start()
    lt = LinkThread("u1", "127.0.0.1", b.port, username="unit1", password="s3cret")
    try:
        wait_for(lambda: lt.link.state() == "up", what="link up")
        wait_for(lambda: [e for e in lt.errors if "SUBACK 0x80" in e], what="the refused subscription")
        refused = sorted(e.split()[5] for e in lt.errors if "SUBACK 0x80" in e)
        assert refused == ["faxbridge/u1/cmd/#"], lt.errors
        assert lt.event(contract.FAX_STATUS, contract.fax_status("J1", 0, "success", True)) == 1
        wait_for(lambda: lt.link.outbox.depth() == 0, what="event delivered")
    finally:
        lt.stop()
        b.stop()
