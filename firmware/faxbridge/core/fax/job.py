"""Fax jobs: the InterFAX status of each job from acceptance to its final code (spec/fax.md).

Job codes: -1 accepted (pages being prepared), -2 ready (waiting for the line), -3 dialling /
sending / waiting to retry, -22 held (page quota spent), then one final code (>= 0).
Runner queues jobs on one Class2 modem, retries the retryable outcomes with the configured
count and delay, cancels (AT+FK, then 403) and ends a quota hold after 24 h with 205000.
Everything is pure state; `now` is in seconds.
"""
from faxbridge.core.fax import dial, status

DEFAULTS = {
    "retries": 2,            # further attempts after a retryable outcome (spec/fax.md)
    "retry_delay": 120,      # seconds between attempts
    "ready_timeout": 900,    # a job waiting this long for a usable modem ends with 205001
    "hold_limit": 86400,     # a quota hold (-22) older than this ends with 205000
}

NEW = -1
READY = -2
SENDING = -3
HELD = -22


class Job:
    """One job's state and evidence (read-only for the caller)."""

    def __init__(self, job_id, number, open_page, now):
        self.id = job_id
        self.number = number
        self.open_page = open_page
        self.code = NEW
        self.attempts = 0
        self.active = False          # an attempt is running on the modem
        self.cancelled = False
        self.due = now               # earliest start of the next attempt
        self.waiting_since = now     # since when it waits for the modem
        self.held_since = None
        self.evidence = {}

    def final(self):
        return self.code >= 0


class Runner:
    """Runs jobs one at a time on a Class2 machine. See docs/fax.md for the loop."""

    def __init__(self, modem, config=None):
        cfg = dict(DEFAULTS)
        if config:
            for k in config:
                if k not in DEFAULTS:
                    raise ValueError("unknown job config key: %s" % k)
                cfg[k] = config[k]
        self.cfg = cfg
        self.modem = modem
        self.jobs = []               # unfinished jobs, in submission order
        self._ev = []
        self._active = None

    # ---- API ------------------------------------------------------------------------------

    def submit(self, job_id, number, open_page, now, prepared=True):
        """Accept a job (-1). Its number is checked at once: refused -> 6002, malformed -> 6027.

        prepared=False keeps it at -1 until prepared() or image_error() is called.
        """
        job = Job(job_id, number, open_page, now)
        self._status(job, NEW, now, {})
        code, txt = dial.check(number, *self.modem._policy())
        if code is not None:
            self._status(job, code, now, {"reason": txt})
            return job
        self.jobs.append(job)
        if prepared:
            self.prepared(job_id, now)
        return job

    def prepared(self, job_id, now):
        job = self._find(job_id)
        if job is not None and job.code == NEW:
            job.waiting_since = now
            self._status(job, READY, now, {})

    def image_error(self, job_id, now, reason):
        job = self._find(job_id)
        if job is not None and not job.active:
            self._finish(job, 204000, now, {"reason": reason})

    def cancel(self, job_id, now):
        """Cancel a job. Returns False when it is unknown or already final."""
        job = self._find(job_id)
        if job is None:
            return False
        job.cancelled = True
        if job.active:
            self.modem.cancel(now)           # AT+FK (or abort the dial); 403 when it has ended
            self._drain(now)
        else:
            self._finish(job, 403, now, {"reason": "cancelled"})
        return True

    def hold(self, job_id, now):
        """Quota spent: hold a waiting job at -22 (not one already on the line)."""
        job = self._find(job_id)
        if job is None or job.active or job.code == HELD:
            return False
        job.held_since = now
        self._status(job, HELD, now, {"reason": "page quota spent"})
        return True

    def release(self, job_id, now):
        """Quota raised: a held job waits for the line again (-2)."""
        job = self._find(job_id)
        if job is None or job.code != HELD:
            return False
        job.held_since = None
        job.waiting_since = now
        self._status(job, READY, now, {"reason": "quota raised"})
        return True

    def poll(self, now):
        """Drive the modem's timeouts and the jobs: starts, retries, hold and wait limits."""
        self.modem.poll(now)
        self._drain(now)
        for job in list(self.jobs):
            if job.code == HELD:
                if now - job.held_since >= self.cfg["hold_limit"]:
                    self._finish(job, 205000, now, {"reason": "quota hold older than 24 h"})
            elif (job.code in (READY, SENDING) and not job.active and
                  now - job.waiting_since >= self.cfg["ready_timeout"] and now >= job.due):
                self._finish(job, 205001, now, {"reason": "no usable modem for %s s" %
                                                self.cfg["ready_timeout"]})
        if self._active is None and self.modem.ready():
            for job in self.jobs:
                if job.code in (READY, SENDING) and now >= job.due:
                    self._start(job, now)
                    break

    def deadline(self, now):
        """The next time poll() has something to do (None: only modem input matters)."""
        t = self.modem.deadline()
        for job in self.jobs:
            if job.code == HELD:
                c = job.held_since + self.cfg["hold_limit"]
            elif job.code in (READY, SENDING) and not job.active:
                c = job.due if job.due > now else job.waiting_since + self.cfg["ready_timeout"]
            else:
                continue
            t = c if t is None or c < t else t
        return t

    def events(self):
        """Job status events and the modem's own events, oldest first."""
        ev = self._ev
        self._ev = []
        return ev

    # ---- internals ------------------------------------------------------------------------

    def _find(self, job_id):
        for job in self.jobs:
            if job.id == job_id:
                return job
        return None

    def _status(self, job, code, now, evidence):
        job.code = code
        ev = {"job": job.id, "code": code, "final": status.is_final(code),
              "category": status.category(code), "attempt": job.attempts, "time": now}
        for k in evidence:
            ev[k] = evidence[k]
        job.evidence = ev
        self._ev.append(("status", ev))

    def _finish(self, job, code, now, evidence):
        job.active = False
        if job in self.jobs:
            self.jobs.remove(job)
        if self._active is job:
            self._active = None
        self._status(job, code, now, evidence)

    def _start(self, job, now):
        job.attempts += 1
        job.active = True
        self._active = job
        self._status(job, SENDING, now, {"reason": "dialling"})
        self.modem.send(job.number, job.open_page, now)
        self._drain(now)

    def _drain(self, now):
        for kind, info in self.modem.events():
            if kind == "end" and info["dir"] == "tx" and self._active is not None:
                self._ended(self._active, info, now)
            elif kind == "progress" and info["dir"] == "tx" and self._active is not None:
                info["job"] = self._active.id
                self._ev.append((kind, info))
            elif kind == "page" and info["dir"] == "tx" and self._active is not None:
                info["job"] = self._active.id
                self._ev.append((kind, info))
            else:
                self._ev.append((kind, info))

    def _ended(self, job, info, now):
        job.active = False
        self._active = None
        code = info["code"]
        ev = {}
        for k in ("result", "hangup", "pages", "pprs", "remote_id", "params", "reason"):
            ev[k] = info.get(k)
        ev["modem_code"] = code
        if job.cancelled:
            self._finish(job, 403, now, ev)
        elif code != 0 and status.retryable(code) and job.attempts <= self.cfg["retries"]:
            job.due = now + self.cfg["retry_delay"]
            job.waiting_since = job.due
            ev["retry_at"] = job.due
            self._status(job, SENDING, now, ev)
        else:
            self._finish(job, code, now, ev)
