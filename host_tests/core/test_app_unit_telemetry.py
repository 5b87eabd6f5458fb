"""Telemetry (app/unit.py Unit._send_telemetry; docs/mqtt.md telemetry): the open jobs counted
by state, the queue their sum. Both runtimes."""
from support import tmpdir

from faxbridge.app import config
from faxbridge.app.unit import Unit


class Port:
    name = "test"

    def __init__(self):
        self.flash = tmpdir("telemetry") + "/"

    def ticks_ms(self):
        return 0

    def time(self):
        return 1700000000

    def mem_free(self):
        return 12345


class Link:
    def __init__(self):
        self.sent = []

    def telemetry(self, pairs):
        self.sent.append(dict(pairs))


def test_telemetry_counts_the_open_jobs_by_state():
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    u = Unit(Port(), cfg)
    u.link = Link()
    u.jobs.jobs = [{"state": "queued"}, {"state": "held"}, {"state": "queued"}, {"state": "call"}]
    u._send_telemetry()
    t = u.link.sent[0]
    assert t["jobs"] == (("call", 1), ("held", 1), ("queued", 2)), t["jobs"]
    assert t["queued"] == 4 and t["heap_free"] == 12345
    u.jobs.jobs = []
    u._send_telemetry()
    assert u.link.sent[1]["jobs"] == () and u.link.sent[1]["queued"] == 0


def test_a_call_end_writes_the_state_only_when_the_quota_moved():
    """Issue 13 (a call's end: FaxLine.events saved state.json after every call, ~0.5 KB of
    churn): save_state(False) writes only when the quota's [day, used] changed."""
    import os
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    u = Unit(Port(), cfg)
    path = u.flash + "state.json"
    assert os.stat(path)                              # written at boot (boots + 1)
    os.remove(path)
    u.save_state(False)                               # a busy line: nothing charged
    assert "state.json" not in os.listdir(u.flash[:-1])
    u.jobs.quota.charge(2, 1700000000)                # a call that sent 2 pages
    u.save_state(False)
    with open(path) as f:
        import json
        st = json.load(f)
    assert st["quota"] == [u.jobs.quota.day, 2] and st["boots"] == 1, st
    os.remove(path)
    u.save_state()                                    # a reception's id: always written
    assert os.stat(path)


def test_final_statuses_are_counted_sent_or_failed():
    """Unit._emit_status reads contract.fax_status's code and final flag by position."""
    from faxbridge.core.mqtt import contract

    class Events:
        def __init__(self):
            self.got = []

        def event(self, topic, fields):
            self.got.append((topic, fields))
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    u = Unit(Port(), cfg)
    u.link = Events()
    for code, final in ((-1, False), (-3, False), (0, True), (263, True), (0, True), (403, True)):
        u._emit_status(contract.fax_status("J", code, "x", final, 1, 0, None, None, 1))
    assert len(u.link.got) == 6 and u.link.got[0][0] == contract.FAX_STATUS
    assert u.counters["fax_sent"] == 2 and u.counters["fax_failed"] == 2, u.counters
    f = contract.fax_status("J", 7, "x", True)
    assert f[2] == "code" and f[3] == 7 and f[6] == "final" and f[7] is True


def test_a_reception_id_saves_no_state_and_a_reboot_starts_its_own_count():
    """Issue 13: rx<boot>-<n> with n counting this boot's receptions: no state.json written per
    reception (it was: 512 B of each reception's start, 64-bit); the boot count, saved at
    boot, keeps ids unique across reboots."""
    import os
    from support import allocated
    cfg, errors = config.check({"unit_id": "u1", "mqtt": {"host": "127.0.0.1"}})
    assert errors == []
    p = Port()
    u = Unit(p, cfg)
    boot = u.state["boots"]
    path = u.flash + "state.json"
    os.remove(path)
    assert u.next_rx_id() == "rx%d-1" % boot
    n, fid = allocated(u.next_rx_id)
    assert fid == "rx%d-2" % boot and (n is None or n <= 96), n
    assert "state.json" not in os.listdir(u.flash[:-1])      # nothing saved per reception
    u.save_state()
    u2 = Unit(p, cfg)                                        # a reboot
    assert u2.state["boots"] == boot + 1
    assert u2.next_rx_id() == "rx%d-1" % (boot + 1)
