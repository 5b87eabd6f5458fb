"""The job lifecycle (core/fax/job.py): every row of ROWS, persistence through the store
interface (a dict here), retention of finished records, reboot recovery (core/fax/jobboot.py). Both runtimes."""
import json

from support import fields

from faxbridge.core.fax import job, jobtab, status
from faxbridge.core.fax.jobboot import recover
from faxbridge.core.fax.quota import Quota
from faxbridge.core.mqtt.outbox import OutboxFull

T = 1790000000.0
SEEN = set()                 # (from state, event) pairs the tests drove through


class Traced(job.Jobs):
    def _go(self, rec, event, evidence=None, code=None, more=False):
        SEEN.add((rec.get("state", ""), event))
        job.Jobs._go(self, rec, event, evidence, code, more)


class MemStore:
    """The store interface over dicts; records are copied through JSON as on flash."""

    def __init__(self):
        self.recs = {}
        self.pages = {}
        self.walks = 0
        self.ring = {}
        self.new = None             # the ring the boot rebuilds

    def said(self, rec):
        """rec with its report mark when the old ring holds it reported (the boot's records())."""
        if self.new is not None and rec.get("rep") != rec.get("rev") and any(
                v[0] == rec.get("fin") and v[1] == rec["id"] and v[3] for v in self.ring.values()):
            rec["rep"] = rec.get("rev")
        return rec

    def rebuild(self, new):
        if new:
            self.new = {}
        else:
            self.ring = self.new
            self.new = None
    def done_put(self, keep, fin, job_id, docs, ok, k=0):
        ring = self.ring if self.new is None else self.new
        old = ring.get(fin % keep)
        if old and old[0] > fin:
            return job_id, docs, ok
        ring[fin % keep] = (fin, job_id, docs, ok)
        return old[1:] if old and old[0] < fin else None

    def save(self, rec):
        self.recs[rec["id"]] = json.dumps(rec)

    def get(self, job_id):
        r = self.recs.get(job_id)
        return json.loads(r) if r else None

    def records(self):
        self.walks += 1
        for k in list(self.recs):
            if k in self.recs:
                yield self.said(json.loads(self.recs[k]))

    def remove(self, job_id, docs=0):
        self.drop_pages(job_id, docs)
        self.recs.pop(job_id, None)

    def adopt(self, job_id, pages):
        for n, (_kind, path) in enumerate(pages):
            self.pages[(job_id, n)] = path

    def page_path(self, job_id, n):
        return "%s.p%d" % (job_id, n)

    def drop_pages(self, job_id, docs):
        for n in range(docs):
            self.pages.pop((job_id, n), None)

    def state(self, job_id):
        """(state, code, reported?): a finished record's report mark is its ring slot's."""
        r = self.get(job_id)
        return r and (r["state"], r["code"], r["rep"] == r["rev"] or any(
            v[0] == r.get("fin") and v[1] == job_id and v[3] for v in self.ring.values()))


def _cfg(count=2, delay=30, after_restart=True, keep=20, queued=16, pages=20, modem_wait=900):
    return {"retries": {"count": count, "delay_s": delay, "after_restart": after_restart},
            "jobs": {"max_queued": queued, "max_pages": pages, "keep_done": keep,
                     "modem_wait_s": modem_wait}}


def _number(n):
    if n.startswith("11"):
        return (6002, "deny list")
    if not n.isdigit():
        return (6027, "malformed")
    return (None, "T" + n)


PBMZ = {}                    # a stored pbmz's check: path -> reason, or "oom" (MemoryError)
CHECKED = []                 # (kind, path) of every check_page call


def _page(kind, path):
    CHECKED.append((kind, path))
    why = PBMZ.get(path) if kind == "pbmz" else None
    if why == "oom":
        raise MemoryError("memory allocation failed")
    if why:
        return (0, why)
    if kind == "bad":
        return (0, "bad PBM")
    return (int(kind[4:]), None) if kind.startswith("text") and kind != "text" else (1, None)


def _make(store=None, cfg=None, quota=None):
    ev = []
    js = Traced(cfg or _cfg(), store if store is not None else MemStore(), lambda f: ev.append(fields(f)),
                quota, _number, _page)
    return js, ev


def _taken(js):
    """What the idle line does first (next_due): each new job's documents counted, -2 or
    204000 (intake counts nothing: docs/unit.md "Intake")."""
    for rec in list(js.jobs):
        if rec["state"] == "new":
            js._ready(rec, T)


def _codes(ev, j="j1"):
    return [e["code"] for e in ev if e["job"] == j]


def _call(js, now, code, confirmed=0, j="j1"):
    rec = js.next_due(now)
    assert rec is not None and rec["id"] == j, rec
    js.start_call(rec, now)
    js.end_call(rec, code, (("result", "x"),), confirmed, now)
    return rec


def test_submit_to_success_with_pages_and_payload():
    js, ev = _make()
    assert js.submit("j1", "0312345678", [("text2", "s/d0"), ("pbm", "s/d1")], 77, T) is None
    assert js.store.pages == {("j1", 0): "s/d0", ("j1", 1): "s/d1"}      # moved into the store
    rec = js.next_due(T)
    assert rec["dial"] == "T0312345678" and rec["n"] == 3 and rec["digest"] == 77
    assert [js.page(rec, i) for i in range(4)] == [("j1.p0", "text2", 0), ("j1.p0", "text2", 1),
                                                   ("j1.p1", "pbm", 0), None]
    js.start_call(rec, T)
    js.progress(rec, 1, (("page", 1),))
    js.end_call(rec, 0, (("hangup", 0),), 3, T + 60)
    assert _codes(ev) == [-1, -2, -3, -3, 0]
    assert [e["state"] for e in ev] == ["new", "queued", "call", "call", "done"]
    last = ev[-1]
    assert last["final"] is True and last["pages"] == 3 and last["of"] == 3 and last["attempt"] == 1
    assert last["category"] == "success" and last["evidence"] == (("hangup", 0),)
    assert js.jobs == [] and js.store.pages == {}                      # documents gone when final
    assert js.store.state("j1") == ("done", 0, True)
    assert js.next_due(T + 61) is None


def test_payload_is_the_contract_builder_s():
    from faxbridge.core.mqtt import contract
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    _taken(js)
    rec = js.find("j1")
    assert jobtab.fields(rec) == contract.fax_status("j1", -2, "in progress", False, 0, 0, None, "queued", 1)


def test_refused_and_malformed_numbers_end_at_once():
    js, ev = _make()
    assert js.submit("j1", "119", [("text", "a")], 1, T) is None
    assert js.submit("j2", "03x", [("text", "a")], 1, T) is None
    assert _codes(ev, "j1") == [6002] and _codes(ev, "j2") == [6027]
    assert ev[0]["evidence"] == (("reason", "deny list"),) and ev[0]["state"] == "done"
    assert js.jobs == [] and js.store.pages == {} and js.next_due(T) is None


def test_bad_document_and_too_many_pages_are_204000():
    """Counted on the idle line (next_due), not at intake: -1 at the command, 204000 when the
    modem task takes the job up, never dialled (issue 13: no page opened beside a call)."""
    del CHECKED[:]
    js, ev = _make(cfg=_cfg(pages=4))
    js.submit("j1", "0312345678", [("text", "a"), ("bad", "b")], 1, T)
    js.submit("j2", "0312345678", [("text3", "a"), ("text2", "b")], 1, T)
    assert _codes(ev) == [-1] and _codes(ev, "j2") == [-1] and CHECKED == []
    assert js.next_due(T) is None                   # one new job counted a pass: j1
    assert _codes(ev) == [-1, 204000] and _codes(ev, "j2") == [-1]
    assert js.next_due(T) is None                   # then j2
    assert _codes(ev) == [-1, 204000] and ev[-2]["evidence"] == (("document", 2), ("reason", "bad PBM"))
    assert _codes(ev, "j2") == [-1, 204000] and ev[-1]["evidence"] == (("reason", "5 pages, limit 4"),)
    assert ev[-1]["attempt"] == 0 and ev[-1]["of"] == 0
    assert js.store.pages == {} and js.jobs == []


def test_a_pbmz_is_checked_with_the_other_documents_on_the_idle_line():
    """Issue 13: intake opens no document (a pbmz's inflater, ~2.4 KB, was alive beside the
    call in progress); next_due, the idle line, counts them (a pbmz inflated once), before
    the -2 and the first dial; a retry checks nothing again. A bad pbmz ends at 204000 with
    the document and reason, as at intake before (-1, 204000, never dialled); a check the
    heap cannot make leaves the job new, no status, tried again at the next pass."""
    PBMZ.clear()
    del CHECKED[:]
    js, ev = _make()
    assert js.submit("j1", "0312345678", [("text", "s/d0"), ("pbmz", "s/d1")], 1, T) is None
    assert CHECKED == [] and _codes(ev) == [-1]
    rec = js.next_due(T)
    assert rec["id"] == "j1" and CHECKED == [("text", "j1.p0"), ("pbmz", "j1.p1")], CHECKED
    assert rec["n"] == 2 and _codes(ev) == [-1, -2]
    js.start_call(rec, T)
    PBMZ["j2.p1"] = "pbm: raster ends early"
    PBMZ["j3.p0"] = "oom"
    js.submit("j2", "0312345678", [("text", "s/d0"), ("pbmz", "s/d1")], 1, T)
    js.submit("j3", "0312345678", [("pbmz", "s/d0")], 1, T)
    assert _codes(ev, "j2") == [-1] and len(CHECKED) == 2   # j1 on the line: nothing opened
    js.end_call(rec, 263, None, 0, T)                       # busy: j1 retried at T + 30
    assert js.next_due(T + 29) is None and len(CHECKED) == 4    # j2's two: one new job a pass
    assert js.next_due(T + 30) is rec and len(CHECKED) == 4     # j1 first: dialled, not checked
    last = [e for e in ev if e["job"] == "j2"][-1]
    assert _codes(ev, "j2") == [-1, 204000] and (last["attempt"], last["of"]) == (0, 0), last
    assert last["evidence"] == (("document", 2), ("reason", "pbm: raster ends early")), last
    assert js.find("j2") is None and js.store.state("j2") == ("done", 204000, True)
    assert ("j2", 1) not in js.store.pages                  # its documents gone, as any final
    assert js.find("j3")["state"] == "new" and _codes(ev, "j3") == [-1]    # the heap: no status
    js.start_call(rec, T + 30)
    js.end_call(rec, 0, None, 2, T + 40)
    assert js.next_due(T + 41) is None and _codes(ev, "j3") == [-1]       # still short: waits
    del PBMZ["j3.p0"]
    assert js.next_due(T + 42)["id"] == "j3" and _codes(ev, "j3") == [-1, -2]   # the next pass
    assert CHECKED[-1] == ("pbmz", "j3.p0")
    PBMZ.clear()


def test_refusals_duplicate_and_other_content():
    js, ev = _make(cfg=_cfg(queued=2))
    assert js.submit("../x", "0312345678", [("text", "a")], 1, T).startswith("job id must be")
    assert js.submit(".x", "0312345678", [("text", "a")], 1, T).startswith("job id must be")
    assert js.submit("j1", "0312345678", [], 1, T) == "a job has 1 to 20 pages"
    assert js.submit("j1", "0312345678", [("text", "a")] * 21, 1, T) == "a job has 1 to 20 pages"
    assert js.submit("j1", "0312345678", [("text", "a")], 5, T) is None
    n = len(ev)
    assert js.submit("j1", "0312345678", [("text", "a")], 5, T) is job.DUPLICATE
    assert js.submit("j1", "0312345678", [("text", "b")], 6, T) == "job id j1 already used with other content"
    assert len(ev) == n                                   # nothing emitted for either
    js.submit("j2", "0312345678", [("text", "a")], 1, T)
    assert js.submit("j3", "0312345678", [("text", "a")], 1, T) == "queue full (2 jobs)"
    _call(js, T, 0)                                       # j1 done: the id is still known ...
    assert js.submit("j1", "0312345678", [("text", "a")], 5, T) is job.DUPLICATE
    assert js.submit("j1", "0312345678", [("text", "a")], 9, T).endswith("with other content")
    assert js.submit("j3", "0312345678", [("text", "a")], 1, T) is None   # ... and room again


def test_retry_wait_then_final_after_the_configured_count():
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    _call(js, T, 263)
    assert ev[-1]["state"] == "wait" and ev[-1]["evidence"] == (("result", "x"), ("retry_in", 30))
    assert js.next_due(T + 29) is None
    _call(js, T + 30, 8021)
    _call(js, T + 60, 263)
    assert _codes(ev) == [-1, -2, -3, -3, -3, -3, -3, 263]
    assert ev[-1]["attempt"] == 3 and ev[-1]["final"] is True


def test_a_retry_counts_its_pages_afresh():
    """The driver sends every page again on a retry, and the unit reports each page it
    confirms as confirmed + 1: the count must start at 0 for each call, never pages > of."""
    js, ev = _make()
    js.submit("j1", "0312345678", [("text3", "a")], 1, T)
    for attempt, sent in ((1, 2), (2, 3)):
        rec = js.next_due(T + 60 * attempt)
        js.start_call(rec, T + 60 * attempt)
        for _ in range(sent):
            js.progress(rec, rec.get("confirmed", 0) + 1)      # as app/unit.py does per page
        js.end_call(rec, 263 if sent < 3 else 0, None, sent, T + 60 * attempt)
    calls = [(e["attempt"], e["pages"]) for e in ev if e["state"] == "call"]
    assert calls == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2), (2, 3)], calls
    assert ev[-1]["final"] and ev[-1]["pages"] == 3 and ev[-1]["of"] == 3


def test_not_retryable_outcome_is_final_at_once():
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    _call(js, T, 3936)
    assert _codes(ev) == [-1, -2, -3, 3936]


def test_quota_hold_release_and_expiry():
    q = Quota(2, 86400)
    js, ev = _make(quota=q)
    js.submit("j1", "0312345678", [("text2", "a")], 1, T)
    _call(js, T, 0, 2)
    assert q.remaining(T) == 0
    js.submit("j2", "0312345678", [("text", "b")], 1, T)
    js.submit("j3", "0312345678", [("text", "c")], 1, T)
    assert js.next_due(T + 1) is None
    assert _codes(ev, "j2") == [-1, -2, -22] and ev[-1]["evidence"] == (("pages", 1), ("quota_left", 0))
    q.limit = 3                                            # raised: j2 (held) dialled
    _call(js, T + 100, 0, 1, "j2")
    assert _codes(ev, "j2") == [-1, -2, -22, -3, 0]
    assert js.next_due(T + 200) is None                    # j3 held: 3 of 3 used today
    day_end = (int(T // 86400) + 1) * 86400
    assert js.next_due(day_end)["id"] == "j3"              # a new UTC day: it fits again


def test_quota_hold_expires_at_205000():
    q = Quota(1, 3600)
    js, ev = _make(quota=q)
    js.submit("j1", "0312345678", [("text2", "a")], 1, T)   # 2 pages never fit a quota of 1
    assert js.next_due(T) is None and js.find("j1")["held_since"] == T
    assert js.next_due(T + 3599) is None and _codes(ev) == [-1, -2, -22]
    assert js.next_due(T + 3600) is None
    assert _codes(ev) == [-1, -2, -22, 205000] and ev[-1]["category"] == "quota"
    assert js.jobs == [] and js.store.state("j1") == ("done", 205000, True)


def test_next_due_expires_and_drops_jobs_and_goes_on_with_the_next_in_one_pass():
    """next_due walks the open jobs by index: a job it ends (expired, a bad page found when it
    counts a new job's pages) leaves the list and the job after it is still seen in the same
    pass."""
    q = Quota(1, 3600)
    js, ev = _make(quota=q)
    js.submit("j1", "0312345678", [("text2", "a")], 1, T)   # 2 pages: held, then expires
    js.submit("j2", "0312345678", [("text2", "a")], 1, T)
    _taken(js)                                              # counted (one new job a pass)
    assert js.next_due(T) is None and [r["state"] for r in js.jobs] == ["held", "held"]
    js.submit("j3", "0312345678", [("bad", "a")], 1, T)     # new: counted by that pass
    js.submit("j4", "0312345678", [("text", "a")], 1, T)
    js._ready(js.find("j4"), T)                                # counted by an earlier pass
    assert js.next_due(T + 3600)["id"] == "j4"
    assert [(e["job"], e["code"]) for e in ev[-4:]] == [("j4", -2), ("j1", 205000), ("j2", 205000),
                                                        ("j3", 204000)]
    assert [r["id"] for r in js.jobs] == ["j4"]


def test_one_new_job_is_counted_a_pass_and_none_at_boot():
    """rv20: a count is synchronous (a pbmz inflated, a long text laid out) and the modem task's
    pass runs with nothing else between: next_due counts the oldest new job only, and recover
    counts none (the watchdog is armed before it), so no pass holds the loop for a queue's
    worth of counting (docs/unit.md "The documents are counted by the modem task")."""
    del CHECKED[:]
    st = MemStore()
    js, ev = _make(st)
    for j in ("j1", "j2", "j3"):
        js.submit(j, "0312345678", [("text", "a"), ("text", "b")], 1, T)
    js2, ev2 = _make(st)                                    # reboot: all three still new
    recover(js2, T)
    assert CHECKED == [] and [r["state"] for r in js2.jobs] == ["new", "new", "new"]
    rec = js2.next_due(T)                                   # j1 counted, due: dialled
    assert rec["id"] == "j1" and len(CHECKED) == 2
    assert [r["state"] for r in js2.jobs] == ["queued", "new", "new"]
    js2.start_call(rec, T)
    js2.end_call(rec, 0, None, 2, T + 60)
    assert js2.next_due(T + 61)["id"] == "j2" and len(CHECKED) == 4
    assert js2.find("j3")["state"] == "new"


def test_a_new_job_the_heap_never_lets_count_ends_205001_after_the_modem_wait():
    """Every wait has a bound: a count the heap refuses is tried again at the next passes for
    up to jobs.modem_wait_s (the wait for a usable line), then the job ends 205001 (system
    error; docs/fax.md "Out of memory"); a refused count holds up no later new job's."""
    PBMZ.clear()
    del CHECKED[:]
    js, ev = _make(cfg=_cfg(modem_wait=100))
    PBMZ["j1.p0"] = "oom"
    js.submit("j1", "0312345678", [("pbmz", "s/d0")], 1, T)
    js.submit("j2", "0312345678", [("pbmz", "s/d0")], 1, T)
    PBMZ["j2.p0"] = "oom"
    assert js.next_due(T) is None and _codes(ev) == [-1] and len(CHECKED) == 2   # both refused
    assert js.next_due(T + 99) is None and len(CHECKED) == 4                     # every pass
    del PBMZ["j2.p0"]                                       # j2: the heap has room now
    assert js.next_due(T + 100)["id"] == "j2" and _codes(ev, "j2") == [-1, -2]
    assert _codes(ev) == [-1, 205001] and ev[-2]["final"] is True              # j1: its wait over
    assert ev[-2]["evidence"] == (("reason", "no memory to count its pages for 100 s"),)
    assert js.find("j1") is None and js.store.state("j1")[:2] == ("done", 205001)
    PBMZ.clear()


def test_a_refused_count_whose_wait_cannot_be_recorded_is_tried_again():
    """make bench 08:34: recording the wait's end (a key the record did not have) needed heap
    inside the MemoryError handler and raised out of next_due, ending the modem task. Now the
    job stays new and the wait is recorded at a later pass (the heap short here when the
    handler reads modem_wait_s: the same place)."""
    PBMZ.clear()
    js, ev = _make()
    js.submit("j1", "0312345678", [("pbmz", "s/d0")], 1, T)
    PBMZ["j1.p0"] = "oom"
    cfg = js.cfg
    short = [True]

    class Jobs:
        def __getitem__(self, k):
            if k == "modem_wait_s" and short[0]:
                raise MemoryError("memory allocation failed")
            return cfg["jobs"][k]

    class Cfg:
        def __getitem__(self, k):
            return Jobs() if k == "jobs" else cfg[k]
    js.cfg = Cfg()
    assert js.next_due(T) is None and js.find("j1")["state"] == "new"
    assert js.find("j1").get("next_at") is None
    short[0] = False
    del PBMZ["j1.p0"]
    assert js.next_due(T + 1)["id"] == "j1" and _codes(ev) == [-1, -2]
    PBMZ.clear()


def test_start_call_refused_by_the_heap_leaves_the_job_as_it_was():
    """rv22: a MemoryError saying the call's -3 (or saving it) left the record half-moved
    (state call, an attempt spent); start_call puts it back and lets the error through, so the
    modem task tries again at its next pass (app/faxline.py _start)."""
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    was = (rec["state"], rec["attempt"], rec["rev"], rec["code"])
    n = len(ev)
    real = js.emit

    def emit(f):
        raise MemoryError("memory allocation failed")
    js.emit = emit
    try:
        js.start_call(rec, T)
        raise AssertionError("no MemoryError")
    except MemoryError:
        pass
    js.emit = real
    assert (rec["state"], rec["attempt"], rec["rev"], rec["code"]) == was and was[:2] == ("queued", 0), was
    assert len(ev) == n
    js.start_call(rec, T)
    assert rec["state"] == "call" and rec["attempt"] == 1 and _codes(ev)[-1] == -3


def test_start_call_said_then_its_save_refused_starts_the_call_not_said_again():
    """The call's -3 said, then its record save refused by the heap: put back, the modem task
    started it again at its next pass and said the same -3 once a pass while the heap refused
    the save. Said, the call starts (a crash there leaves the job queued on flash: the boot
    resumes it, as a crash between any status and its save)."""
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    real = js.store.save
    n = len(ev)

    def save(r):
        raise MemoryError("memory allocation failed")
    js.store.save = save
    for _ in range(3):          # the modem task's passes (app/faxline.py _start)
        try:
            js.start_call(rec, T)
            break
        except MemoryError:
            pass
    js.store.save = real
    assert [(e["code"], e["state"]) for e in ev[n:]] == [(-3, "call")], ev[n:]
    assert rec["state"] == "call" and rec["attempt"] == 1 and rec["rep"] == rec["rev"]


def test_end_call_refused_by_the_heap_leaves_the_job_in_its_call():
    """make bench 09:40, 400K plugged: a MemoryError saying a call's end (its status, or the
    final record's save) left the record half-moved (rev, code, state, a -3 counted, the quota
    charged) and ended the modem task. end_call puts the job back in its call and lets the
    error through: the modem task ends it again at its next pass (app/faxline.py _end)."""
    from faxbridge.core.fax.quota import Quota
    q = Quota(50)
    js, ev = _make(quota=q)
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    real_emit, real_save = js.emit, js.store.save

    def refuse(f):
        raise MemoryError("memory allocation failed")
    for code, where, final in ((-3, "emit", False), (0, "emit", True), (0, "save", True)):
        was = dict(rec)
        n, used, fin = len(ev), q.used, js._fin
        if where == "emit":
            js.emit = refuse
        else:
            js.store.save = refuse
        try:
            js.end_call(rec, code, (("result", "x"),), 1, T + 60)
            raise AssertionError("no MemoryError")
        except MemoryError:
            pass
        js.emit, js.store.save = real_emit, real_save
        assert rec == was, (rec, was)
        assert (len(ev), q.used, js._fin) == (n, used, fin) and rec in js.jobs
        if not final:
            js.end_call(rec, code, (("result", "x"),), 1, T + 60)
            assert rec["state"] == "wait" and rec["mem"] == 1 and q.used == 1, rec
            rec = js.next_due(T + 120)
            js.start_call(rec, T + 120)
    js.end_call(rec, 0, (("result", "x"),), 1, T + 180)
    assert rec["state"] == "done" and js.jobs == [] and _codes(ev)[-1] == 0 and q.used == 1
    assert json.loads(js.store.recs["j1"])["state"] == "done"


def test_end_call_said_then_its_save_refused_stands_not_said_again():
    """A retry's status emitted, then its record save refused by the heap: putting the job back
    in its call had the modem task end it again at each pass, the same status (the same rev)
    said once per pass for as long as the heap refused the save. The status said, the end
    stands (as a crash between the two would leave it: the boot takes up the saved state)."""
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    real_save = js.store.save
    refused = []

    def save(r):
        refused.append(r["state"])
        raise MemoryError("memory allocation failed")
    js.store.save = save
    n = len(ev)
    for _ in range(3):          # the modem task's passes (app/faxline.py _end)
        try:
            js.end_call(rec, -3, (("result", "x"),), 0, T + 60)
        except MemoryError:
            pass
        if rec["state"] != "call":
            break
    js.store.save = real_save
    said = [(e["code"], e["state"]) for e in ev[n:]]
    assert said == [(-3, "wait")] and refused == ["wait"], (said, refused)
    assert rec["state"] == "wait" and rec["rep"] == rec["rev"] and rec["mem"] == 1


def test_next_due_allocates_nothing_when_nothing_is_due():
    """It runs at every pass of the modem loop (a list copy each time before: ~100 B)."""
    import gc
    js, ev = _make()
    for j in ("j1", "j2", "j3"):
        js.submit(j, "0312345678", [("text", "a")], 1, T)
        _call(js, T, 263, 0, j)                             # each waits until T + 30
    if hasattr(gc, "mem_alloc"):
        now = T + 1                                         # a float: made before measuring
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        r = js.next_due(now)
        n = gc.mem_alloc() - a
        gc.enable()
        assert r is None and n == 0, n
    assert js.next_due(T + 1) is None and js.next_due(T + 30)["id"] == "j1"


def test_a_waiting_retry_can_be_held():
    q = Quota(1)
    js, ev = _make(quota=q)
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    _call(js, T, 263)
    q.charge(1, T)
    assert js.next_due(T + 30) is None
    assert [e["state"] for e in ev][-2:] == ["wait", "held"]


def test_cancel_queued_held_waiting_and_in_call():
    q = Quota(1)
    js, ev = _make(quota=q)
    for j in ("a", "b", "c", "d"):
        js.submit(j, "0312345678", [("text", "x")], 1, T)
    _taken(js)
    assert js.cancel("a", T) is None                       # queued
    rec = js.next_due(T)
    js.start_call(rec, T)                                  # b in the call
    assert js.cancel("b", T) == "call" and js.store.get("b")["cancel"] == 1
    js.end_call(rec, 263, None, 1, T)                      # retryable, but cancelled: 403
    assert _codes(ev, "b") == [-1, -2, -3, 403]
    assert js.next_due(T) is None                          # quota spent: c, d held
    assert js.cancel("c", T) is None
    q.limit = 5
    _call(js, T, 263, 0, "d")
    assert js.cancel("d", T) is None                       # waiting to retry
    assert [_codes(ev, j)[-1] for j in "abcd"] == [403, 403, 403, 403]
    assert js.cancel("d", T) == "job d is already final"
    assert js.cancel("zz", T) == "no job zz" and js.cancel("../z", T) == "no job ../z"


def test_modem_unusable_ends_waiting_jobs():
    q = Quota(1)
    js, ev = _make(quota=q)
    js.submit("a", "0312345678", [("text", "x")], 1, T)
    _call(js, T, 263, 0, "a")                              # a waits to retry until T + 30
    js.submit("b", "0312345678", [("text", "x")], 1, T)
    _call(js, T, 0, 1, "b")                                # the quota is spent
    js.submit("c", "0312345678", [("text", "x")], 1, T)
    js.submit("d", "0312345678", [("text", "x")], 1, T)
    _taken(js)
    assert js.next_due(T) is None                          # c, d held
    q.limit = 10
    js.start_call(js.next_due(T), T)                       # c in a call
    js.submit("e", "0312345678", [("text", "x")], 1, T)
    _taken(js)                                             # e queued
    js.submit("f", "0312345678", [("text", "x")], 1, T)    # f new: not yet counted
    assert [r["state"] for r in js.jobs] == ["wait", "call", "held", "queued", "new"]
    assert js.fail_waiting(205001, "no usable modem for 900 s") == 4
    assert [_codes(ev, j)[-1] for j in "acdef"] == [205001, -3, 205001, 205001, 205001]
    assert ev[-1]["evidence"] == (("reason", "no usable modem for 900 s"),)
    assert [r["id"] for r in js.jobs] == ["c"]


def test_restart_during_a_call_redials_or_ends_205001():
    st = MemStore()
    js, ev = _make(st)
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    js.submit("j2", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    js.progress(rec, 1)
    js2, ev2 = _make(st)                                   # reboot
    recover(js2, T + 5)
    # j2, still new (its pages are counted on the idle line), had its -1 saved unmarked (a
    # new record is saved before its status): said again; counted by next_due, not at boot
    assert [(e["job"], e["code"], e["state"]) for e in ev2] == [("j2", -1, "new"), ("j1", -3, "wait")]
    assert js2.find("j2")["state"] == "new"
    del ev2[0]
    assert ev2[0]["evidence"] == (("reason", "unit restarted during the call"), ("pages", 1), ("retry_in", 0))
    assert [r["id"] for r in js2.jobs] == ["j1", "j2"]
    rec = js2.next_due(T + 5)
    assert rec["id"] == "j1" and rec["attempt"] == 1
    js2.start_call(rec, T + 5)
    js3, ev3 = _make(st, _cfg(count=0, after_restart=False))
    recover(js3, T + 9)
    assert [(e["job"], e["code"]) for e in ev3] == [("j1", 205001)] and ev3[0]["final"] is True
    js4, ev4 = _make(st)
    recover(js4, T + 9)
    assert ev4 == [] and [r["id"] for r in js4.jobs] == ["j2"]


def test_a_cancel_in_call_whose_save_is_refused_is_not_kept():
    """cmd/cancel of a job in a call, its record save refused (the heap, flash full): the
    command is answered busy or rejected and the driver's call is not cancelled (app/unit.py
    _on_command stops there), so the job keeps no cancel either: its end is the call's, not a
    403 for a fax the remote got whole. Asked again, it holds."""
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    real = js.store.save
    for err in (MemoryError("memory allocation failed"), OSError(28)):
        def save(r, err=err):
            raise err
        js.store.save = save
        try:
            js.cancel("j1", T)
            raise AssertionError("no error")
        except (MemoryError, OSError):
            pass
        js.store.save = real
        assert "cancel" not in rec and "cancel" not in json.loads(js.store.recs["j1"]), rec
    assert js.cancel("j1", T) == "call"
    js.store.save = save
    try:
        js.cancel("j1", T)      # asked twice, the second refused: the first stands
    except OSError:
        pass
    js.store.save = real
    js.end_call(rec, 0, (("result", "x"),), 1, T + 60)
    assert rec["state"] == "done" and _codes(ev)[-1] == 403


def test_restart_out_of_attempts_is_205001_and_cancel_survives_a_restart():
    st = MemStore()
    js, ev = _make(st, _cfg(count=1))
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    js.submit("j2", "0312345678", [("text", "a")], 1, T)
    _call(js, T, 263)
    rec = js.next_due(T + 30)
    js.start_call(rec, T + 30)                             # attempt 2 of 2
    js2, ev2 = _make(st, _cfg(count=1))
    recover(js2, T + 40)
    assert _codes(ev2) == [205001]
    rec = js2.next_due(T + 40)
    js2.start_call(rec, T + 40)
    assert js2.cancel("j2", T + 41) == "call"
    js3, ev3 = _make(st, _cfg(count=1))
    recover(js3, T + 50)
    assert _codes(ev3, "j2") == [403] and js3.jobs == []


def test_recover_reemits_unreported_and_checks_new_jobs_again():
    st = MemStore()
    js, ev = _make(st)
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    js.submit("j2", "0312345678", [("text", "a")], 1, T)
    _call(js, T, 0, 1, "j1")
    for j in ("j1", "j2"):                 # crash between saving a status and emitting it
        r = st.get(j)
        r["rev"] += 1
        st.save(r)
    st.ring.clear()                        # j1's crash came before its ring slot was written
    r = st.get("j2")                       # and a job cut before its pages were checked
    r["state"], r["code"], r["counts"], r["n"] = "new", -1, None, 0
    st.save(r)
    js2, ev2 = _make(st)
    recover(js2, T + 5)
    assert [(e["job"], e["code"]) for e in ev2] == [("j1", 0), ("j2", -1)]
    assert st.state("j1") == ("done", 0, True) and js2.find("j2")["state"] == "new"
    assert js2.next_due(T + 5)["id"] == "j2"   # counted on the idle line (one new job a pass)
    assert [(e["job"], e["code"]) for e in ev2][2:] == [("j2", -2)] and js2.find("j2")["n"] == 1


def test_a_refused_emit_leaves_the_status_for_the_next_boot():
    st = MemStore()
    ev = []
    full = [True]

    def emit(f):
        if full[0]:
            raise OutboxFull()
        ev.append(fields(f))
    js = Traced(_cfg(), st, emit, None, _number, _page)
    assert js.submit("j1", "0312345678", [("text", "a")], 1, T) is None
    _taken(js)
    assert st.state("j1") == ("queued", -2, False) and js.find("j1") is not None
    full[0] = False
    js2 = Traced(_cfg(), st, emit, None, _number, _page)
    recover(js2, T)
    assert [(e["job"], e["code"]) for e in ev] == [("j1", -2)] and st.state("j1")[2]


def test_finished_records_pruned_to_keep_done_first_finished_first():
    st = MemStore()
    js, ev = _make(st, _cfg(keep=3))
    for i in range(8):
        js.submit("j%d" % i, "0312345678", [("text", "a")], i, T)
    for i in (5, 1, 0, 7, 2, 6, 3, 4):     # finish out of submission order
        assert js.cancel("j%d" % i, T) is None
    assert sorted(st.recs) == ["j3", "j4", "j6"]      # the last three finished
    assert [st.get(j)["fin"] for j in ("j6", "j3", "j4")] == [6, 7, 8]
    js0, _ = _make(st, _cfg(keep=0))
    recover(js0, T)
    assert st.recs == {}
    # a job id whose record was pruned is a new job again (docs/unit.md)
    assert js0.submit("j1", "0312345678", [("text", "a")], 99, T) is None
    assert js0.cancel("j1", T) is None and st.recs == {}     # keep 0: gone once reported


class CountingStore(MemStore):
    """Counts the records parsed from the store."""

    def __init__(self):
        MemStore.__init__(self)
        self.read = 0

    def get(self, job_id):
        self.read += 1
        return MemStore.get(self, job_id)

    def records(self):
        for k in sorted(self.recs):
            if k in self.recs:
                self.read += 1
                yield self.said(json.loads(self.recs[k]))


def test_a_finished_job_prunes_by_name_without_reading_the_store():
    st = CountingStore()
    js, ev = _make(st, _cfg(keep=20, queued=40))
    for i in range(30):
        js.submit("j%02d" % i, "0312345678", [("text", "a")], i, T)
    for i in range(29, 9, -1):                  # j29 .. j10 finish first
        assert js.cancel("j%02d" % i, T) is None
    st.read = st.walks = 0
    for i in range(10):                         # each pushes out the one finished 20 before
        assert js.cancel("j%02d" % i, T) is None
        assert "j%02d" % (29 - i) not in st.recs and len(st.recs) == 29 - i, (i, sorted(st.recs))
    assert st.read == 0 and st.walks == 0       # no record parsed, no walk
    assert sorted(st.recs) == ["j%02d" % i for i in range(20)]


def test_an_unreported_final_status_is_not_pruned_until_a_boot_has_sent_it():
    st = MemStore()
    box = {"full": False}
    ev = []

    def emit(f):
        if box["full"]:
            raise OutboxFull("full")
        ev.append(fields(f))
    js = job.Jobs(_cfg(keep=2), st, emit, None, _number, _page)
    for i in range(4):
        js.submit("j%d" % i, "0312345678", [("text", "a")], i, T)
    box["full"] = True
    assert js.cancel("j0", T) is None           # its 403 stays unreported
    box["full"] = False
    for i in (1, 2, 3):
        assert js.cancel("j%d" % i, T) is None
    assert sorted(st.recs) == ["j0", "j2", "j3"] and st.state("j0") == ("done", 403, False)
    js2 = job.Jobs(_cfg(keep=2), st, emit, None, _number, _page)
    del ev[:]
    recover(js2, T)
    assert [(e["job"], e["code"]) for e in ev] == [("j0", 403)]
    assert sorted(st.recs) == ["j2", "j3"]      # sent at boot, then pruned
    js2.submit("j9", "0312345678", [("text", "a")], 9, T)
    assert js2.cancel("j9", T) is None and sorted(st.recs) == ["j3", "j9"]


def test_recover_keeps_only_open_jobs_and_prunes_a_full_folder():
    st = MemStore()
    js, ev = _make(st, _cfg(keep=200))
    for i in range(100):
        js.submit("d%03d" % i, "0312345678", [("text", "a")], i, T)
        _call(js, T, 0, 1, "d%03d" % i)
    js.submit("open1", "0312345678", [("text", "a")], 1, T)
    _taken(js)                                             # its -2 said and saved
    assert len(st.recs) == 101
    js2, ev2 = _make(st, _cfg(keep=20))
    recover(js2, T)
    assert ev2 == [] and [r["id"] for r in js2.jobs] == ["open1"]
    done = sorted(k for k in st.recs if k != "open1")
    assert done == ["d%03d" % i for i in range(80, 100)], done
    assert sorted(v[1] for v in st.ring.values()) == done and js2._seq == 101 and js2._fin == 100
    assert js2.submit("n1", "0312345678", [("text", "a")], 1, T) is None and js2.find("n1")["seq"] == 102
    assert js2.cancel("n1", T) is None and "d080" not in st.recs and st.get("n1")["fin"] == 101


def test_records_of_an_older_firmware_are_numbered_by_seq_at_boot():
    st = MemStore()
    for i in range(12):                         # finished records without a fin, seq 1..12
        st.save({"id": "o%02d" % i, "seq": i + 1, "state": "done", "code": 0, "kinds": ["text"],
                 "rev": 3, "rep": 3})
    js, ev = _make(st, _cfg(keep=5))
    recover(js, T)
    assert sorted(st.recs) == ["o%02d" % i for i in range(7, 12)]
    assert [st.get("o%02d" % i)["fin"] for i in range(7, 12)] == [1, 2, 3, 4, 5]
    js.submit("n", "0312345678", [("text", "a")], 1, T)
    assert js.cancel("n", T) is None and "o07" not in st.recs and st.get("n")["fin"] == 6


def test_a_status_larger_than_an_outbox_record_is_reported_without_its_evidence():
    """A long call's evidence (one ppr a page) can outgrow an outbox record: the outbox refuses
    it with ValueError. The status must still be reported (without the evidence), not crash the
    modem task and then every boot (recover re-emits it)."""
    from mqtt_helpers import MemStore as ObStore
    from faxbridge.core.mqtt import contract, outbox
    ob = outbox.Outbox(ObStore(1024))
    sent = []

    def emit(f):
        ob.accept(contract.RESULT, "fax/status", contract.event("u1", ob.last + 1, f))
        sent.append(fields(f))

    st = MemStore()
    js = job.Jobs(_cfg(pages=500), st, emit, None, _number, _page)
    js.submit("j1", "0312345678", [("text450", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    js.end_call(rec, 0, (("result", "OK"), ("pprs", [1] * 450)), 450, T + 600)
    last = sent[-1]
    assert last["final"] is True and last["code"] == 0 and last["pages"] == 450, last
    assert st.state("j1") == ("done", 0, True)
    assert st.get("j1")["evidence"][1][0] == "pprs"        # the record keeps the evidence
    js2 = job.Jobs(_cfg(pages=500), st, emit, None, _number, _page)
    recover(js2, T + 601)                                     # and a reboot has nothing to redo
    assert sent[-1] is last


def test_rows_are_spec_codes_and_reachable():
    for frm, event, to, code in jobtab.ROWS:
        assert to in ("new", "queued", "held", "wait", "call", "done"), to
        assert code is None or status.category(code) != "unknown", code
        assert (code is not None and code >= 0) == (to == "done") or code is None
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    _taken(js)
    try:
        js._go(js.find("j1"), "page")
        raise AssertionError("a page while queued was accepted")
    except ValueError as e:
        assert "no page from queued" in str(e)


def test_a_job_still_new_is_cancelled_with_403():
    # a job the heap could not make ready stays "new" until next_due counts it again; a cancel
    # in that window raised ValueError (no cancel row from "new"): the command had no answer
    js, ev = _make()

    def oom(*a):
        raise MemoryError()
    js._ready = oom
    js.submit("j1", "0312345678", [("text", "s/d0")], 7, T)
    assert js.find("j1")["state"] == "new"
    assert js.cancel("j1", T) is None
    assert _codes(ev) == [-1, 403] and js.find("j1") is None
    assert js.cancel("j1", T) == "job j1 is already final"


def test_zz_every_row_exercised():
    """Runs last (both runners order test names): each (state, event) of ROWS was driven."""
    missing = []
    for frm, event, to, code in jobtab.ROWS:
        for st in frm:
            if (st, event) not in SEEN:
                missing.append((st, event))
    assert missing == [], missing


def test_a_job_id_is_a_command_name_that_is_also_a_file_name():
    from faxbridge.core.fax.jobtab import valid_id
    for good in ("j1", "A.b_c:d-9", "x" * 40):
        assert valid_id(good), good
    for bad in ("", ".hidden", "x" * 41, "a/b", "a b", "é", None, 7):
        assert not valid_id(bad), bad


# ---- out of memory is the unit's, never the page's (docs/fax.md "Out of memory")

def test_intake_counts_no_page_and_a_count_the_heap_cannot_make_waits_for_memory():
    """Issue 13: intake opens no page (it was counted there: a MemoryError was `busy`); on the
    idle line a count the heap cannot make leaves the job new, counted again at the next
    pass, never a 204000 for a good page."""
    def oom(kind, path):
        raise MemoryError("memory allocation failed")
    st = MemStore()
    js, ev = _make(st)
    js.check_page = oom
    assert js.submit("j1", "0312345678", [("text", "s/d0")], 7, T) is None
    assert _codes(ev) == [-1] and st.pages == {("j1", 0): "s/d0"}
    assert js.next_due(T) is None and js.find("j1")["state"] == "new" and _codes(ev) == [-1]
    js.check_page = _page                       # memory back: counted at the next pass
    assert js.next_due(T)["id"] == "j1" and _codes(ev) == [-1, -2]


def test_a_job_left_new_by_a_restart_waits_for_memory_to_count_its_pages():
    st = MemStore()
    js, ev = _make(st)
    js.check_page = None
    js.jobs.append({"id": "j1", "number": "1", "dial": "T1", "seq": 1, "kinds": ["text"],
                    "attempt": 0, "confirmed": 0, "n": 0, "rev": 1, "rep": 1, "state": "new", "code": -1})
    st.save(js.jobs[0])
    js2, ev2 = _make(st)
    box = [True]

    def page(kind, path):
        if box[0]:
            raise MemoryError()
        return (1, None)
    js2.check_page = page
    recover(js2, T)
    assert ev2 == [] and st.state("j1") == ("new", -1, True)
    assert js2.next_due(T) is None and ev2 == []
    box[0] = False
    assert js2.next_due(T)["id"] == "j1" and _codes(ev2) == [-2]


def test_a_minus_2_the_heap_cannot_say_leaves_the_job_new_and_the_modem_task_alive():
    """Issue 13: a new job is made ready by the modem task (next_due) and at boot (recover):
    a MemoryError saying its -2 (the status built, the outbox) leaves it new, counted and
    said at the next pass; it does not end the modem task (exit code 3, a restart) or the
    boot. At intake it was caught the same way before the count moved to the idle line."""
    st = MemStore()
    js, _ = _make(st)
    ev = []
    short = [True]

    def emit(f):
        d = fields(f)
        if d["code"] == -2 and short[0]:
            raise MemoryError("memory allocation failed")
        ev.append(d)
    js.emit = emit
    assert js.submit("j1", "0312345678", [("text", "s/d0")], 1, T) is None
    assert js.next_due(T) is None
    assert js.find("j1")["state"] == "new" and _codes(ev) == [-1]
    js2, _ = _make(st)                          # a boot with the heap as short
    js2.emit = emit
    recover(js2, T)
    assert js2.find("j1")["state"] == "new" and _codes(ev) == [-1, -1]
    short[0] = False
    assert js2.next_due(T)["id"] == "j1" and _codes(ev) == [-1, -1, -2]
    assert st.state("j1") == ("queued", -2, True)


def test_a_call_the_heap_cut_is_tried_again_without_spending_a_dial_attempt():
    js, ev = _make(cfg=_cfg(count=1, delay=30))
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = _call(js, T, -3)                      # class2._open: out of memory
    assert rec["state"] == "wait" and rec["mem"] == 1 and _codes(ev)[-1] == -3
    assert ev[-1]["evidence"][-1] == ["retry_in", 30] or ev[-1]["evidence"][-1] == ("retry_in", 30)
    rec = _call(js, T + 30, 263)                # busy: the one dial retry is still there
    assert rec["state"] == "wait"
    rec = _call(js, T + 60, 263)
    assert rec["state"] == "done" and rec["code"] == 263 and rec["attempt"] == 3


def test_a_job_that_keeps_failing_for_memory_ends_205001_after_its_retries():
    js, ev = _make(cfg=_cfg(count=2, delay=10))
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    for i in range(2):
        assert _call(js, T + 10 * i, -3)["state"] == "wait"
    rec = _call(js, T + 20, -3)
    assert rec["state"] == "done" and rec["code"] == 205001 and rec["mem"] == 3
    assert _codes(ev)[-1] == 205001 and ev[-1]["category"] == "system error"


def test_the_driver_ends_a_call_whose_page_the_heap_cannot_open_with_minus_3():
    from fax_helpers import Rig, pages_of
    r = Rig()
    r.send("5551234", pages_of(MemoryError("memory allocation failed")))
    assert r.take() == b""                      # nothing reached the modem
    e = r.end()
    assert e["code"] == -3 and "out of memory" in e["reason"], e
    assert r.m.ready()
    ok = "\r\nOK\r\n"
    r = Rig()                                   # the second page: the call hangs up, -3
    r.send("5551234", pages_of(b"\x00" * 300, MemoryError()))
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say(ok)
    r.expect("ATDT5551234\r")
    r.say("\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\n+FDIS:1,3,0,2,0,0,0,0\r\n" + ok)
    r.expect("AT+FDT\r")
    r.say("\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n\x11")
    r.take()
    r.say(ok)
    r.expect("AT+FK\r")
    r.say(ok)
    e = r.end()
    assert e["code"] == -3, e
    js, ev = _make()
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    js.end_call(rec, e["code"], (("reason", e["reason"]),), e["pages"], T)
    assert rec["state"] == "wait" and _codes(ev)[-1] == -3


class _NoHeapSource:
    """A page source whose first read finds no heap (the MH encoder is made at the first read)."""

    def readinto(self, buf):
        raise MemoryError("memory allocation failed, allocating 1360 bytes")


def test_the_driver_ends_a_call_whose_page_read_finds_no_heap_with_minus_3():
    from fax_helpers import Rig
    r = Rig()
    r.send("5551234", lambda i: _NoHeapSource() if i == 0 else None)
    r.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    r.say("\r\nOK\r\n")
    r.expect("ATDT5551234\r")
    r.say("\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\n+FDIS:1,3,0,2,0,0,0,0\r\n\r\nOK\r\n")
    r.expect("AT+FDT\r")
    r.say("\r\n+FDCS:1,3,0,2,0,0,0,0\r\n\r\nCONNECT\r\n\x11")
    r.take()
    r.say("\r\nOK\r\n")
    r.expect("AT+FK\r")
    r.say("\r\nOK\r\n")
    e = r.end()
    assert e["code"] == -3 and "out of memory" in e["reason"], e


def test_a_job_the_heap_cannot_record_at_intake_is_busy_and_a_resend_is_a_new_job():
    # the record's save (or its first fax/status) finds no heap: before,
    # the job stayed in RAM with no answer, and the resent command was a DUPLICATE (no answer)
    st = MemStore()
    js, ev = _make(st)
    save = st.save

    def oom(rec):
        raise MemoryError("memory allocation failed, allocating 320 bytes")
    st.save = oom
    _submit_is_busy(js)
    assert ev == [] and st.recs == {} and js.jobs == []
    st.save = save
    assert js.submit("j1", "0312345678", [("text", "s/d0")], 7, T) is None
    assert _codes(ev) == [-1]


def test_after_its_answer_a_job_the_heap_cannot_make_ready_stays_new_and_is_counted_again():
    js, ev = _make()
    calls = []

    def page(kind, path):
        calls.append(path)
        return _page(kind, path)
    js.check_page = page
    ready = js._ready

    def oom(*a):
        raise MemoryError()
    js._ready = oom
    assert js.submit("j1", "0312345678", [("text", "s/d0")], 7, T) is None   # answered: -1
    rec = js.find("j1")
    assert _codes(ev) == [-1] and rec["state"] == "new", rec
    js._ready = ready
    assert js.next_due(T) is rec and rec["state"] == "queued" and _codes(ev) == [-1, -2]


def _submit_is_busy(js):
    """The demo's cmd/fax submitted as j1 is answered busy (CommandError BUSY, ref j1)."""
    from faxbridge.core.mqtt import commands
    e = None
    try:
        js.submit("j1", "0312345678", [("text", "s/d0")], 7, T)
    except commands.CommandError as x:
        e = x
    assert e is not None and e.reason == commands.BUSY and e.ref == "j1", e


class Crash(Exception):
    """The unit dies here (a reset): nothing after it runs."""


class SaveLog(MemStore):
    """Logs each record save (id, state, reported?); crash_at=(id, state) dies at that save."""

    def __init__(self):
        MemStore.__init__(self)
        self.log = []
        self.crash_at = None

    def save(self, rec):
        if (rec["id"], rec["state"]) == self.crash_at:
            raise Crash()
        self.log.append((rec["id"], rec["state"], rec["rep"] == rec["rev"]))
        MemStore.save(self, rec)


def test_one_record_save_per_transition():
    """Issue 13: each save is a file written and renamed (~0.5 KB of heap churn on the unix
    port): a new job and a final state are saved before their status, any other state once,
    after it, with its report mark (two saves each before)."""
    st = SaveLog()
    js, ev = _make(st)
    js.submit("j1", "0312345678", [("text2", "a")], 1, T)
    rec = js.next_due(T)
    js.start_call(rec, T)
    js.progress(rec, 1, (("page", 1),))
    js.end_call(rec, 263, [("result", "BUSY")], 1, T)                     # retried
    rec = js.next_due(T + 30)
    js.start_call(rec, T + 30)
    js.end_call(rec, 0, [("result", "OK")], 2, T + 30)
    assert _codes(ev) == [-1, -2, -3, -3, -3, -3, 0]
    assert st.log == [("j1", "new", False), ("j1", "queued", True), ("j1", "call", True),
                      ("j1", "call", True), ("j1", "wait", True), ("j1", "call", True),
                      ("j1", "done", False)], st.log          # its report mark: the ring's
    assert st.state("j1") == ("done", 0, True)
    assert ev[4]["evidence"] == (("result", "BUSY"), ("retry_in", 30))


def test_a_crash_between_a_status_and_its_record_redoes_the_transition_at_boot():
    """A state that is not final is emitted, then saved: a reset between the two leaves the
    state before on flash, which the boot takes up again (the status twice, never skipped).
    A final state is saved first: a reset before its status re-emits it at boot."""
    st = SaveLog()
    js, ev = _make(st)
    js.submit("j1", "0312345678", [("text", "a")], 1, T)
    rec = js.next_due(T)
    st.crash_at = ("j1", "call")
    raised = False
    try:
        js.start_call(rec, T)                  # -3 emitted, the unit resets before its record
    except Crash:
        raised = True
    assert raised and _codes(ev) == [-1, -2, -3] and st.state("j1") == ("queued", -2, True)
    st.crash_at = None
    js2, ev2 = _make(st)
    recover(js2, T + 5)
    assert ev2 == []                           # queued and reported: nothing to say again
    rec = js2.next_due(T + 5)
    assert rec["id"] == "j1" and rec["attempt"] == 0      # the dial is redone, not counted twice
    js2.start_call(rec, T + 5)
    assert rec["attempt"] == 1 and st.state("j1") == ("call", -3, True)
    box = {"full": True}

    def emit(f):
        if box["full"]:
            raise Crash()                      # the reset comes between the record and its status
        ev2.append(fields(f))
    js2.emit = emit
    raised = False
    try:
        js2.end_call(rec, 0, [("result", "OK")], 1, T + 9)
    except Crash:
        raised = True
    assert raised and st.state("j1") == ("done", 0, False)
    box["full"] = False
    js3 = Traced(_cfg(), st, emit, None, _number, _page)
    recover(js3, T + 20)
    assert _codes(ev2)[-1:] == [0] and st.state("j1") == ("done", 0, True) and js3.jobs == []


def test_a_boot_with_nothing_to_prune_reads_each_record_once():
    """Issue 13 (boot's edge: recover parsed every record twice): every finished record
    with its fin and its own slot is put in the fresh ring as the first walk reads it; a walk
    more (the ring rebuilt) only when some must go (more than keep_done, or records without a fin)."""
    st = MemStore()
    js, ev = _make(st, _cfg(keep=20))
    for i in range(20):
        js.submit("d%02d" % i, "0312345678", [("text", "a")], i, T)
        _call(js, T, 0, 1, "d%02d" % i)
    js.submit("open1", "0312345678", [("text", "a")], 1, T)
    _taken(js)
    ring = {i: (v[0], v[1], v[3]) for i, v in st.ring.items()}     # fin, id, reported
    st.walks = 0
    js2, ev2 = _make(st, _cfg(keep=20))
    recover(js2, T)
    assert st.walks == 1 and ev2 == [] and [r["id"] for r in js2.jobs] == ["open1"]
    assert {i: (v[0], v[1], v[3]) for i, v in st.ring.items()} == ring and len(st.recs) == 21
    js2.submit("d20", "0312345678", [("text", "a")], 20, T)         # one more: d00 goes as before
    assert js2.cancel("d20", T) is None and "d00" not in st.recs and len(st.recs) == 21
    st.walks = 0
    js3, ev3 = _make(st, _cfg(keep=10))                             # keep_done lowered: pruned
    recover(js3, T)
    assert st.walks > 1 and ev3 == []
    assert sorted(k for k in st.recs if k != "open1") == ["d%02d" % i for i in range(11, 21)]
    st.walks = 0
    js4, ev4 = _make(st, _cfg(keep=5))          # 5 fall out of the ring (recover: 8 a walk at most):
    recover(js4, T)                              # deleted after the one walk (two before)
    assert st.walks == 1 and ev4 == [] and [r["id"] for r in js4.jobs] == ["open1"]
    assert sorted(k for k in st.recs if k != "open1") == ["d%02d" % i for i in range(16, 21)]
    assert sorted(v[1] for v in st.ring.values()) == ["d%02d" % i for i in range(16, 21)]


def test_a_records_keys_are_made_at_submit_so_a_call_never_grows_its_table():
    """Issue 13: the keys of a job that goes through in one call are all in its record from
    submit (a dict literal is sized for its keys): no step of that call adds one, so none
    grows the record's table and copies it beside the page's inflater; the table is the size
    a queued record's was (17 slots: the number as given is not kept, its dial string is)."""
    js, ev = _make()
    assert js.submit("j1", "0312345678", [("text", "p0")], 1, T) is None
    rec = js.find("j1")
    keys = sorted(rec.keys())
    assert len(keys) == 17 and "number" not in keys and rec["dial"] == "T0312345678"
    assert js.next_due(T) is rec
    js.start_call(rec, T)
    js.progress(rec, 1, (("page", 1),))
    js.end_call(rec, 0, [("result", "OK")], 1, T)
    assert rec["state"] == "done" and rec["code"] == 0 and rec["fin"] == 1
    assert sorted(rec.keys()) == keys, (sorted(rec.keys()), keys)
    assert _codes(ev) == [-1, -2, -3, -3, 0], _codes(ev)


def test_a_new_job_the_heap_cannot_count_does_not_hold_up_the_count_of_the_next():
    """rv22: one new job counted a pass, but a count the heap refused (MemoryError, the job
    still new) is not that pass's count: the next new job is counted in the same pass. Before,
    a pbmz whose inflater never found room (no cap: counted again at every pass) kept every
    later job new as long, a text job the heap could count among them."""
    del CHECKED[:]
    PBMZ["z/big"] = "oom"
    try:
        js, ev = _make()
        js.submit("j1", "0312345678", [("pbmz", "z/big")], 1, T)
        js.submit("j2", "0312345678", [("text", "t/a")], 2, T)
        js.submit("j3", "0312345678", [("text", "t/b")], 3, T)
        js.store.page_path = lambda job_id, i: {"j1": "z/big"}.get(job_id, "t/" + job_id)
        rec = js.next_due(T)
        assert rec is not None and rec["id"] == "j2", rec
        assert [r["state"] for r in js.jobs] == ["new", "queued", "new"]    # still one counted
        assert len(CHECKED) == 2, CHECKED
    finally:
        del PBMZ["z/big"]
