"""Job lifecycle (firmware/faxbridge/app/jobs.py): statuses, retries, quota, cancel, reboot."""
from support import tmpdir
from faxbridge.app import config
from faxbridge.app.jobs import Jobs
from faxbridge.app.quota import Quota
from faxbridge.app.store import JobStore

T = 1790000000.0


def _cfg(**over):
    raw = {"unit_id": "u1", "mqtt": {"host": "h"}, "retries": {"count": 2, "delay_s": 30}}
    for k, v in over.items():
        raw[k] = v
    cfg, errors = config.check(raw)
    assert errors == [], errors
    return cfg


def _deny(number):
    if number.startswith("11"):
        return (6002, "deny list")
    if not number.isdigit():
        return (6027, "malformed")
    return (None, number)


def _make(folder=None, quota=None, cfg=None):
    folder = folder or tmpdir("jobs") + "/jobs"
    events = []
    emit = lambda f: events.append(dict(f))
    js = Jobs(JobStore(folder), quota or Quota(0), cfg or _cfg(), emit, _deny,
              lambda kind, path: (0, "bad PBM") if kind == "pbm-bad" else ((2, None) if kind == "text2" else (1, None)))
    return js, events, folder


def _codes(events, job="j1"):
    return [e["code"] for e in events if e["job"] == job]


def test_good_job_to_success():
    js, ev, _ = _make()
    assert js.submit("j1", "0312345678", [("text", "hello"), ("pbm", b"P4\n8 1\n\x00")], T) is None
    job = js.next_due(T)
    assert job["id"] == "j1" and job["dial"] == "0312345678"
    js.start_call(job, T)
    js.progress(job, 1)
    js.end_call(job, 0, (("hangup", 0),), 2, T + 60)
    assert _codes(ev) == [-1, -2, -3, -3, 0]
    assert ev[-1]["final"] is True and ev[-1]["pages"] == 2 and ev[-1]["of"] == 2
    assert js.next_due(T + 61) is None


def test_busy_retried_then_final():
    js, ev, _ = _make()
    js.submit("j1", "0312345678", [("text", "x")], T)
    now = T
    for attempt in range(3):
        job = js.next_due(now)
        assert job is not None, attempt
        js.start_call(job, now)
        js.end_call(job, 263, (("result", "BUSY"),), 0, now)
        assert js.next_due(now + 29) is None or attempt == 2
        now += 30
    assert _codes(ev) == [-1, -2, -3, -3, -3, -3, -3, 263]
    assert ev[-1]["attempt"] == 3 and ev[-1]["final"] is True


def test_refused_and_malformed_numbers_never_dial():
    js, ev, _ = _make()
    js.submit("j1", "119", [("text", "x")], T)
    js.submit("j2", "03-12", [("text", "x")], T)
    assert _codes(ev, "j1") == [6002] and _codes(ev, "j2") == [6027]
    assert js.next_due(T) is None


def test_bad_page_is_204000_and_bad_commands_refused():
    js, ev, _ = _make()
    js.submit("j1", "0312345678", [("text", "x"), ("pbm-bad", b"P4")], T)
    assert _codes(ev) == [-1, 204000] and ev[-1]["evidence"] == (("document", 2), ("reason", "bad PBM"))
    assert js.submit("j1", "0312345678", [("text", "x")], T) == "job id j1 already used"
    assert js.submit("../x", "0312345678", [("text", "x")], T).startswith("job id must be")
    assert js.submit("j3", "0312345678", [], T).startswith("a job has 1 to")


def test_quota_hold_release_and_expiry():
    q = Quota(2)
    js, ev, _ = _make(quota=q)
    js.submit("j1", "0312345678", [("text2", "a\fb")], T)
    job = js.next_due(T)
    assert job["plan"] == [[0, 0], [0, 1]] and job["n"] == 2
    js.start_call(job, T)
    js.end_call(job, 0, None, 2, T)
    js.submit("j2", "0312345678", [("text", "c")], T)
    js.submit("j3", "0312345678", [("text", "d")], T)
    assert js.next_due(T + 1) is None
    assert _codes(ev, "j2") == [-1, -2, -22] and _codes(ev, "j3") == [-1, -2, -22]
    q.set_limit(3)          # raised within 24 h: j2 released
    job = js.next_due(T + 100)
    assert job["id"] == "j2"
    js.start_call(job, T + 100)
    js.end_call(job, 0, None, 1, T + 100)
    # j3 stays held (day not over: quota is 3, used 3); after hold_s it ends at 205000
    assert js.next_due(T + 200) is None
    day_end = (int(T // 86400) + 1) * 86400
    if day_end > T + 86400:
        assert js.next_due(T + 86401) is None
        assert _codes(ev, "j3")[-1] == 205000
    else:
        assert js.next_due(day_end + 1)["id"] == "j3"


def test_cancel():
    js, ev, _ = _make()
    js.submit("j1", "0312345678", [("text", "a")], T)
    js.submit("j2", "0312345678", [("text", "a")], T)
    job = js.next_due(T)
    js.start_call(job, T)
    assert js.cancel("j1", T) == "call"
    js.end_call(job, 403, None, 0, T)
    assert js.cancel("j2", T) is None
    assert _codes(ev, "j1")[-1] == 403 and _codes(ev, "j2")[-1] == 403
    assert js.cancel("j2", T) == "job j2 is already final"
    assert js.cancel("zz", T) == "no job zz"


def test_reboot_mid_call_resumes_and_reemits_unreported():
    js, ev, folder = _make()
    js.submit("j1", "0312345678", [("text", "a")], T)
    js.submit("j2", "0312345678", [("text", "b")], T)
    job = js.next_due(T)
    js.start_call(job, T)
    # crash: j2's record changed on flash but its event was never emitted
    j2 = js.find("j2")
    j2["rev"] += 1
    js.store.save(j2)
    js2, ev2, _ = _make(folder)
    js2.recover(T + 5)
    assert [(e["job"], e["code"]) for e in ev2] == [("j2", -2), ("j1", -3)]
    assert ev2[-1]["state"] == "wait"
    job = js2.next_due(T + 5)
    assert job["id"] == "j1" and job["attempt"] == 1
    js2.start_call(job, T + 5)
    js2.end_call(job, 0, None, 1, T + 9)
    assert _codes(ev2)[-1] == 0


def test_reboot_mid_call_without_retries_is_final():
    cfg = _cfg(retries={"count": 0, "after_restart": False})
    js, ev, folder = _make(cfg=cfg)
    js.submit("j1", "0312345678", [("text", "a")], T)
    js.start_call(js.next_due(T), T)
    js2, ev2, _ = _make(folder, cfg=cfg)
    js2.recover(T + 1)
    assert _codes(ev2) == [205001] and ev2[0]["final"] is True
    js3, ev3, _ = _make(folder, cfg=cfg)
    js3.recover(T + 2)
    assert ev3 == [] and js3.jobs == []


def test_dead_modem_ends_waiting_jobs():
    js, ev, _ = _make()
    js.submit("j1", "0312345678", [("text", "a")], T)
    js.submit("j2", "0312345678", [("text", "a")], T)
    js.start_call(js.next_due(T), T)
    assert js.fail_waiting(205001, "no usable modem") == 1
    assert _codes(ev, "j2")[-1] == 205001 and _codes(ev, "j1")[-1] == -3
