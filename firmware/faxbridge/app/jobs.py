"""Fax jobs: their lifecycle, persistence and status events (no I/O but the store; docs/unit.md).

Every status change is first saved in the job's record (rev += 1), then emitted as an event,
then marked reported (rep = rev). After a reboot, any record with rep != rev is emitted again,
so no status is lost (at worst one is repeated, with a new seq: QoS 1 semantics).

States and codes (spec/fax.md):
  new   -1    accepted, pages being stored and checked
  queued -2   ready, waiting for the line
  held  -22   page quota spent (released when it fits again, 205000 after quota.hold_s)
  wait  -3    waiting to retry (next_at)
  call  -3    dialling / sending
  done  >= 0  final
"""
from faxbridge.app import quota as quota_mod
from faxbridge.app.store import valid_id
from faxbridge.core.fax import status

# Retried outcomes come from the status module's data (spec/fax.md "Retries").
RETRYABLE = status.RETRYABLE
RESTARTED = 205001   # a call cut by a reboot of the unit: system error (docs/unit.md)


class Jobs:
    def __init__(self, store, quota, cfg, emit, check_number=None, check_page=None):
        """emit(fields) persists one fax/status event (an ordered tuple of pairs).

        check_number(number) -> (None, dial string) | (code, reason); check_page(kind, path)
        -> (pages, None) | (0, reason). Both default to accepting everything (tests)."""
        self.store = store
        self.quota = quota
        self.cfg = cfg
        self.emit = emit
        self.check_number = check_number
        self.check_page = check_page
        self.jobs = []          # open jobs (not done), oldest first
        self._seq = 0

    # ---- status plumbing
    def _fields(self, job):
        ev = job.get("evidence")
        return (
            ("job", job["id"]),
            ("code", job["code"]),
            ("category", status.category(job["code"])),
            ("final", job["state"] == "done"),
            ("state", job["state"]),
            ("attempt", job.get("attempt", 0)),
            ("pages", job.get("confirmed", 0)),
            ("of", job.get("n", 0)),
            ("evidence", tuple(tuple(p) for p in ev) if ev else None),
        )

    def _set(self, job, state, code, evidence=None):
        job["state"] = state
        job["code"] = code
        job["evidence"] = [list(p) for p in evidence] if evidence else None
        job["rev"] = job.get("rev", 0) + 1
        self.store.save(job)
        self._report(job)
        if state == "done":
            if job in self.jobs:
                self.jobs.remove(job)
            self.store.remove_pages(job)

    def _report(self, job):
        self.emit(self._fields(job))
        job["rep"] = job["rev"]
        self.store.save(job)

    # ---- intake
    def submit(self, job_id, number, pages, now):
        """A new job from cmd/fax. pages: list of (kind, data) with kind "pbm" or "text".

        Returns None when accepted (or ended with a final status), else the reason for
        cmd/error (bad id, duplicate id, queue full)."""
        if not valid_id(job_id):
            return "job id must be 1..40 of A-Z a-z 0-9 - _ . (not starting with .)"
        if self.store.exists(job_id):
            return "job id %s already used" % job_id
        if len(self.jobs) >= self.cfg["jobs"]["max_queued"]:
            return "queue full (%d jobs)" % len(self.jobs)
        if not pages or len(pages) > self.cfg["jobs"]["max_pages"]:
            return "a job has 1 to %d pages" % self.cfg["jobs"]["max_pages"]
        self._seq += 1
        job = {"id": job_id, "number": number, "docs": len(pages), "n": 0, "kinds": [k for k, _ in pages],
               "created": now, "seq": self._seq, "attempt": 0, "confirmed": 0, "rev": 0, "rep": 0,
               "held_since": None, "next_at": 0}
        code, text = self.check_number(number) if self.check_number else (None, number)
        if code is not None:
            # refused (6002) or malformed (6027): final at once, nothing reaches the modem
            job["docs"] = 0
            self._set(job, "done", code, (("reason", text),))
            return None
        job["dial"] = text
        self.jobs.append(job)
        self._set(job, "new", -1)
        for i, (kind, data) in enumerate(pages):
            self.store.write_page(job_id, i, data)
        self._check_pages(job)
        return None

    def _check_pages(self, job):
        """Check and count every document; plan = [[document, page in document], ...]."""
        plan = []
        for i in range(job["docs"]):
            cnt, why = 1, None
            if self.check_page:
                cnt, why = self.check_page(job["kinds"][i], self.store.page_path(job["id"], i))
            if why:
                self._set(job, "done", 204000, (("document", i + 1), ("reason", why)))
                return
            for k in range(cnt):
                plan.append([i, k])
        limit = self.cfg["jobs"]["max_pages"]
        if len(plan) > limit:
            self._set(job, "done", 204000, (("reason", "%d pages, limit %d" % (len(plan), limit)),))
            return
        job["plan"] = plan
        job["n"] = len(plan)
        self._set(job, "queued", -2)

    # ---- the line
    def next_due(self, now):
        """The next job to dial now, or None. Holds and expires jobs per the page quota."""
        for job in list(self.jobs):
            st = job["state"]
            if st == "wait" and job["next_at"] > now:
                continue
            if st not in ("queued", "wait", "held"):
                continue
            d = self.quota.decide(job["n"], job["held_since"], now)
            if d == quota_mod.SEND:
                return job
            if d == quota_mod.EXPIRE:
                self._set(job, "done", quota_mod.EXPIRED_CODE,
                          (("reason", "page quota spent for %d s" % self.quota.hold_s),))
            elif st != "held":
                job["held_since"] = now
                job["resume"] = st
                self._set(job, "held", quota_mod.HELD_CODE,
                          (("pages", job["n"]), ("quota_left", self.quota.remaining(now))))
        return None

    def next_wakeup(self, now):
        """Seconds until a waiting or held job may need attention (None: nothing pending)."""
        best = None
        for job in self.jobs:
            if job["state"] == "wait":
                t = max(0, job["next_at"] - now)
            elif job["state"] == "held":
                t = 60
            elif job["state"] == "queued":
                t = 0
            else:
                continue
            best = t if best is None else min(best, t)
        return best

    def start_call(self, job, now):
        job["attempt"] = job.get("attempt", 0) + 1
        job["held_since"] = None
        self._set(job, "call", -3, (("dialling", job["dial"]),))

    def progress(self, job, confirmed, evidence=None):
        """A page confirmed during the call: reported as -3 with the count."""
        job["confirmed"] = confirmed
        self._set(job, "call", -3, evidence)

    def end_call(self, job, code, evidence, confirmed, now):
        """The call ended with InterFAX `code`: final, or retried per configuration."""
        self.quota.charge(max(0, confirmed - job.get("charged", 0)), now)
        job["charged"] = confirmed
        job["confirmed"] = confirmed
        r = self.cfg["retries"]
        if code != 0 and code in RETRYABLE and job["attempt"] < 1 + r["count"]:
            job["next_at"] = now + r["delay_s"]
            ev = list(evidence or ())
            ev.append(("retry_in", r["delay_s"]))
            self._set(job, "wait", -3, ev)
        else:
            self._set(job, "done", code, evidence)

    def fail_waiting(self, code, reason):
        """End every job waiting for the line (queued, wait, held) with `code`: the modem is
        unusable (docs/unit.md). Returns how many ended."""
        n = 0
        for job in list(self.jobs):
            if job["state"] in ("queued", "wait", "held"):
                self._set(job, "done", code, (("reason", reason),))
                n += 1
        return n

    def cancel(self, job_id, now):
        """Cancel a queued/held/waiting job: 403. Returns "call" if it is in a call (the modem
        task must hang up first and then call end_call(403)), None when done, else a reason."""
        for job in self.jobs:
            if job["id"] == job_id:
                if job["state"] == "call":
                    return "call"
                self._set(job, "done", 403, (("reason", "cancelled on request"),))
                return None
        if self.store.exists(job_id) if valid_id(job_id) else False:
            return "job %s is already final" % job_id
        return "no job %s" % job_id

    def find(self, job_id):
        for job in self.jobs:
            if job["id"] == job_id:
                return job
        return None

    def counts(self):
        c = {}
        for job in self.jobs:
            c[job["state"]] = c.get(job["state"], 0) + 1
        return c

    # ---- boot
    def recover(self, now):
        """Load every job from flash after a boot: resume or end each, re-emit lost statuses."""
        self.jobs = []
        pending = []
        for job in self.store.load_all():
            self._seq = max(self._seq, job.get("seq", 0))
            if job.get("rep") != job.get("rev"):
                pending.append(job)
            if job.get("state") != "done":
                self.jobs.append(job)
        for job in pending:
            self._report(job)
        for job in list(self.jobs):
            st = job["state"]
            if st == "new":
                self._check_pages(job)
            elif st == "call":
                ev = (("reason", "unit restarted during the call"), ("pages", job.get("confirmed", 0)))
                r = self.cfg["retries"]
                if r["after_restart"] and job["attempt"] < 1 + r["count"]:
                    job["next_at"] = now
                    self._set(job, "wait", -3, ev + (("retry_in", 0),))
                else:
                    self._set(job, "done", RESTARTED, ev)
        self.store.prune_done(self.cfg["jobs"]["keep_done"])
