"""The fax job lifecycle (spec/fax.md, docs/unit.md "Fax jobs"): one state machine, no I/O.

A job is a record (a dict, persisted as JSON by the app's store); every change of state is one
row of jobtab.ROWS (rev += 1), emitted as the fax/status event contract.fax_status builds and
marked reported (rep = rev), saved once (_go says in which order). Time is passed in (Unix
seconds). Configuration is the unit's: retries.count, retries.delay_s, retries.after_restart,
jobs.max_queued, jobs.max_pages, jobs.keep_done. The page quota is a core.fax.quota.Quota.

Store interface (app/jobs.py JobStore on flash; tools/ramjobs.py RamStore in RAM for host tools;
dicts in the tests): save(rec); get(job_id) -> rec or None; records() -> each record on the store,
one at a time, in any order (a finished one may come as its head: id, state, seq (0: not read;
seq orders open jobs), fin, rev, rep and docs, its documents, in a dict the walk reuses; its
report mark rep == rev when the record or, while the boot rebuilds, the old ring says so: a
finished record is saved once, before its status, its report mark is its slot's; while the
boot rebuilds the ring, a finished head's id may be its file name with the id's length under
key 0, so no id is copied: jobboot.recover slices it where it keeps one);
remove(job_id, docs); adopt(job_id, pages) moves the documents [(kind, path), ...] into the
store; page_path(job_id, n); drop_pages(job_id, docs);
done_put(keep, fin, job_id, docs, reported, k=0) (k: the id is job_id[:k]) -> what slot
fin % keep of the ring of finished jobs held, (job_id, docs, reported) or None (the job
itself, not put, when the slot holds a later fin); rebuild(True) starts a fresh ring (the
boot's; records() reads the old one till then), rebuild(False) puts it in place.
Only open jobs are kept in RAM; finished records are pruned to the jobs.keep_done last finished,
by name through the ring (docs/unit.md). The boot's recovery of the records (open jobs, statuses
not said, the ring rebuilt) is core/fax/jobboot.py recover(jobs, now).
"""
from faxbridge.core.fax import jobtab as T   # T: one module name, not four
from faxbridge.core.mqtt.outbox import OutboxFull

# (quota and commands are imported where they are used: __init__, submit; status is jobtab's,
# T.status, imported once;
# the errors a record walk passes over, a record of another shape or the flash refusing,
# are written out at each except: OSError, KeyError, TypeError, ValueError)

DUPLICATE = 1       # submit(): the same job id with the same content exists; its answer stands


class Jobs:
    def __init__(self, cfg, store, emit, quota=None, check_number=None, check_page=None):
        """emit(fields) persists one fax/status event. check_number(number) -> (None, dial
        string) | (6002 or 6027, reason); check_page(kind, path) -> (pages, None) | (0, reason);
        both accept everything when None."""
        self.cfg = cfg
        self.store = store
        self.emit = emit
        if quota is None:
            from faxbridge.core.fax.quota import Quota
            quota = Quota(0)
        self.quota = quota
        self.check_number = check_number
        self.check_page = check_page
        self.jobs = []          # open records, in submission order
        self._seq = 0           # submission order (rec["seq"])
        self._fin = 0           # finishing order (rec["fin"]): the ring of finished jobs

    # ---- one transition
    def _go(self, rec, event, evidence=None, code=None, first=False):
        """One row of ROWS, one record save (docs/unit.md "Persistence"): a new job (first)
        or a final state is saved before its status is emitted (never lost, never redone);
        any other state is emitted, then saved with its report mark (a crash between the
        two leaves the state before, which the boot takes up again: the status at most
        twice, the transition never skipped). A final state is saved once: its report mark is
        its slot's in the store's ring (done_put), written right after its status."""
        st = rec.get("state", "")
        for frm, ev, to, c in T.ROWS:
            if ev == event and st in frm:
                break
        else:
            raise ValueError("job %s: no %s from %s" % (rec["id"], event, st))
        rec["state"] = to
        rec["code"] = code if c is None else c
        rec["evidence"] = T.pairs(evidence) if evidence else None   # one copy at most, till said
        rec["rev"] = rec.get("rev", 0) + 1
        done = to == "done"
        if done:
            self._fin += 1
            rec["fin"] = self._fin
        if done or first:
            self.store.save(rec)
        self._report(rec, not (done or first))
        if done:
            if rec in self.jobs:
                self.jobs.remove(rec)
            st = self.store
            if 1:
                # its slot in the store's ring of finished jobs (fin % keep_done) takes it and
                # gives back the job finished keep_done jobs ago, deleted by name (no walk of
                # the store); a record not yet reported then stays (boot re-emits it, prunes).
                # Its pages go now, so its slot names none (a crash before they went: the
                # boot's ring names them, jobboot.recover)
                st.drop_pages(rec["id"], len(rec.get("kinds", ())))
                # its report mark goes to its slot, not to the record (saved once, above)
                keep = self.cfg["jobs"]["keep_done"]
                ok = rec.get("rep") == rec["rev"]
                old = st.done_put(keep, rec["fin"], rec["id"], 0, ok) if keep \
                    else (rec["id"], 0, ok)
                if old is not None and old[2]:
                    st.remove(old[0], old[1])


    def _report(self, rec, save=True):
        """Emit the record's status and mark it reported (rep = rev); then save it (save).
        Refused (outbox full, flash full): unmarked, sent again at boot."""
        try:
            try:
                self.emit(T.fields(rec))
            except ValueError:          # larger than an outbox record (a long call's pprs)
                self.emit(T.fields(rec, False))
            rec["rep"] = rec["rev"]
        except (OutboxFull, OSError):
            if rec["state"] == "done":  # saved already, unmarked: nothing to write again
                return
        if save:
            self.store.save(rec)
        if rec.get("rep") == rec["rev"]:
            rec["evidence"] = None      # said and on flash: an open job keeps no copy in RAM

    # ---- intake
    def submit(self, job_id, number, pages, digest, now):
        """A job from cmd/fax; pages: [(kind, path)] spool files, moved into the store.

        Returns None (accepted: its -1 is the answer; a refused number ends at once),
        DUPLICATE (same id and digest: the original answer stands), or a refusal reason.
        Refused or duplicate, the spool files are left where they are. Its documents are
        counted when the line is idle (next_due: -2 or 204000), not here (docs/unit.md
        "Intake": no page opened beside a call)."""
        if not T.valid_id(job_id):
            return "job id must be 1..40 of A-Z a-z 0-9 . _ : - (not starting with .)"
        old = self.find(job_id)
        if old is None:
            old = self.store.get(job_id)
        if old is not None:
            if old.get("digest") == digest:
                return DUPLICATE
            return "job id %s already used with other content" % job_id
        if len(self.jobs) >= self.cfg["jobs"]["max_queued"]:
            return "queue full (%d jobs)" % len(self.jobs)
        limit = self.cfg["jobs"]["max_pages"]
        if not pages or len(pages) > limit:
            return "a job has 1 to %d pages" % limit
        self._seq += 1
        # the keys of a job that goes through in one call, all made here: a dict literal is
        # sized for its keys (17, the table of a queued record grown as before), so no step
        # of such a call grows the record's table and copies it beside the page's inflater
        # (docs/unit.md "Memory"); a hold, a retry, a -3 or a cancel add theirs when they
        # happen. The number as given is not kept: its dial string is.
        rec = {"id": job_id, "digest": digest, "seq": self._seq, "created": now, "dial": None,
               "kinds": [], "counts": None, "n": 0, "attempt": 0, "confirmed": 0, "charged": 0,
               "state": "", "code": None, "evidence": None, "rev": 0, "rep": 0, "fin": None}
        code, text = self.check_number(number) if self.check_number else (None, number)
        if code is not None:
            self._go(rec, "refuse", (("reason", text),), code)
            return None
        rec["dial"] = text
        rec["kinds"] = [k for k, _ in pages]
        self.jobs.append(rec)
        try:
            self._go(rec, "submit", None, None, True)
        except MemoryError:         # not taken after all: nothing kept (a retry is not a duplicate)
            self.jobs.remove(rec)
            self.store.remove(job_id)
            from faxbridge.core.mqtt import commands
            raise commands.CommandError(commands.BUSY, "no memory to take the job now: send it"
                                        " again", job_id)
        # answered (its fax/status): from here a failure ends or delays the job, never refuses it
        try:
            self.store.adopt(job_id, pages)
        except (OSError, MemoryError) as e:   # a spool file gone, flash full, no heap
            self._go(rec, "bad_page", (("reason", "cannot store the pages: %s" % (e,)),))
        return None

    def _count(self, rec):
        """The fax pages of each stored document of the job, a list (check_page: a text laid
        out, a bitmap's bounds, a pbmz inflated once); the evidence, a tuple, when one cannot
        be made. A MemoryError is not the page's fault: it propagates."""
        counts = []
        ks = rec["kinds"]
        for i in range(len(ks)):
            cnt, why = self.check_page(ks[i], self.store.page_path(rec["id"], i)) \
                if self.check_page else (1, None)
            if why:
                return (("document", i + 1), ("reason", why))
            counts.append(cnt)
        n = sum(counts)
        lim = self.cfg["jobs"]["max_pages"]
        return (("reason", "%d pages, limit %d" % (n, lim)),) if n > lim else counts

    def _ready(self, rec, now):
        """new -> queued, or bad_page when a stored document cannot be made (_count): on the
        idle line (next_due), not at intake (docs/unit.md "Intake"). When the heap cannot count
        them now the job stays new, tried again at the next passes for up to jobs.modem_wait_s
        (the wait for a usable line: next_at holds its end while the job is new), then 205001
        (docs/fax.md "Out of memory"). True when its documents were counted (the pass's one
        count), False when the heap refused."""
        try:
            counts = self._count(rec)
        except MemoryError:
            try:            # the wait's end is a new key of the record: that too can need heap
                end = rec.get("next_at")
                if end is None:
                    end = rec["next_at"] = now + self.cfg["jobs"]["modem_wait_s"]
                if now >= end:
                    self._go(rec, "no_memory", (("reason", "no memory to count its pages for %d s"
                                                           % self.cfg["jobs"]["modem_wait_s"]),))
            except MemoryError:     # the next pass again
                pass
            return False
        if type(counts) is tuple:
            self._go(rec, "bad_page", counts)
            return True
        rec["counts"] = counts
        rec["n"] = sum(counts)
        try:
            self._go(rec, "ready")
        except MemoryError:         # its -2 not said or saved: new still, the next pass again
            rec["state"] = "new"
        return True

    def page(self, rec, index):
        """(path, kind, page within the document) of the job's fax page `index`, or None."""
        for i, cnt in enumerate(rec.get("counts") or ()):
            if index < cnt:
                return self.store.page_path(rec["id"], i), rec["kinds"][i], index
            index -= cnt
        return None

    # ---- the line
    def next_due(self, now):
        """The next job to dial now, or None. Holds and expires jobs per the page quota.
        Called at every pass of the modem loop: walks the open jobs by index (no copy of the
        list; a job that ends here leaves it, the next takes its index)."""
        js = self.jobs
        i = -1
        counted = False     # one new job counted a pass: a pass stays short (the watchdog, the
        while i + 1 < len(js):      # loop), however many wait after a boot (docs/unit.md)
            i += 1
            rec = js[i]
            st = rec["state"]
            if st == "new":
                if counted:
                    continue
                try:
                    counted = self._ready(rec, now)     # a count the heap refused holds up
                except (KeyError, TypeError, ValueError):   # no later job's; a record of
                    js.pop(i)                   # another shape read at boot (jobboot.recover's rule):
                    i -= 1                      # passed over
                    continue
                st = rec["state"]
                if st == "done":
                    i -= 1
                    continue
            if st not in ("queued", "wait", "held") or (st == "wait" and rec["next_at"] > now):
                continue
            d = self.quota.decide(rec["n"], rec.get("held_since"), now)
            if d == "send":
                return rec
            if d == "expire":
                self._go(rec, "expire", (("reason", "page quota spent for %d s" % self.quota.hold_s),))
                i -= 1
            elif st != "held":
                rec["held_since"] = now
                self._go(rec, "hold", (("pages", rec["n"]), ("quota_left", self.quota.remaining(now))))
        return None

    def start_call(self, rec, now):
        """queued/wait/held -> call (-3, dialling). A MemoryError (its status or record save)
        leaves the job as it was, its attempt unspent, and propagates: the caller tries again
        at its next pass (app/faxline.py _start). Once its status is said the call stands (its
        save the next one's, as a crash there would leave it; else said at each pass)."""
        was = (rec["state"], rec.get("attempt", 0), rec.get("rev", 0), rec.get("code"))
        rec["attempt"] = was[1] + 1
        if rec.get("held_since") is not None:   # a held job's: no key added to one never held
            rec["held_since"] = None
        rec["confirmed"] = 0        # the driver sends every page again: counted afresh per call
        try:
            self._go(rec, "dial", (("dialling", rec["dial"]),))
        except MemoryError:
            if rec["rev"] != was[2] and rec.get("rep") == rec["rev"]:
                return
            rec["state"], rec["attempt"], rec["rev"], rec["code"] = was
            raise

    def progress(self, rec, confirmed, evidence=None):
        """A page confirmed during the call: reported as -3 with the count."""
        rec["confirmed"] = confirmed
        self._go(rec, "page", evidence)

    def end_call(self, rec, code, evidence, confirmed, now):
        """The call ended with InterFAX `code`: final, retried per configuration, or 403 when
        a cancel was asked for during the call. A code that is not final (the driver's -3:
        a page could not be opened for lack of heap, Class2.load_page) is the unit's own fault:
        tried again after retries.delay_s without spending a dial attempt, at most
        retries.count times, then 205001 (docs/fax.md "Out of memory").
        A MemoryError (its evidence, status or record save) leaves the job as it was, the
        quota uncharged, and propagates: the caller ends it again at its next pass
        (app/faxline.py _end). Once its status is said the end stands, as a reset there
        would leave it: a final job's ring upkeep is the boot's (recover), a retry's record
        save the next one's (else its status again at each pass)."""
        q = self.quota
        keys = ("state", "code", "evidence", "rev", "rep", "fin", "charged", "confirmed", "mem", "next_at")
        was = [rec.get(k, rec) for k in keys]      # rec: the key was not there
        day, used, fin = q.day, q.used, self._fin
        try:
            q.charge(max(0, confirmed - rec.get("charged", 0)), now)
            rec["charged"] = confirmed
            rec["confirmed"] = confirmed
            r = self.cfg["retries"]
            mem = rec.get("mem", 0)
            if code < 0 and not rec.get("cancel"):
                mem += 1
                rec["mem"] = mem
                if mem > r["count"]:
                    code = 205001
            if rec.get("cancel"):
                self._go(rec, "cancelled", evidence)
            elif code < 0 or (code != 0 and code in T.status.RETRYABLE and rec["attempt"] - mem < 1 + r["count"]):
                rec["next_at"] = now + r["delay_s"]
                ev = list(evidence or ())
                ev.append(("retry_in", r["delay_s"]))
                self._go(rec, "retry", ev)
            else:
                self._go(rec, "end", evidence, code)
        except MemoryError:
            if rec["state"] == "done" and rec not in self.jobs or rec["rev"] != was[3] and \
                    rec.get("rep") == rec["rev"]:   # said: it stands (a retry's save refused:
                return          # as a crash after its status, _go), never said at each pass
            for i in range(len(keys)):  # back as it was: a key there before is set (no table
                if was[i] is rec:       # grown), one added is taken out (nothing allocated)
                    rec.pop(keys[i], None)
                else:
                    rec[keys[i]] = was[i]
            q.day, q.used, self._fin = day, used, fin
            raise

    def fail_waiting(self, code, reason):
        """End every job waiting for the line (new, queued, wait, held) with `code` (205001):
        the modem is unusable (docs/unit.md). Returns how many ended."""
        n = 0
        for rec in list(self.jobs):
            if rec["state"] in ("new", "queued", "wait", "held"):
                self._go(rec, "no_modem", (("reason", reason),), code)
                n += 1
        return n

    def cancel(self, job_id, now):
        """Cancel a job: 403 at once, or "call" when it is on the line (the caller hangs up
        the modem, then end_call gives 403); None when done, else the reason to refuse."""
        rec = self.find(job_id)
        if rec is not None:
            if rec["state"] == "call":
                was = rec.get("cancel")
                rec["cancel"] = 1
                try:
                    self.store.save(rec)
                except (OSError, MemoryError):  # refused, the call not cancelled: nor the job
                    if not was:                 # (else 403 for a call the remote got whole)
                        rec.pop("cancel", None)
                    raise
                return "call"
            self._go(rec, "cancel", (("reason", "cancelled on request"),))
            return None
        if T.valid_id(job_id) and self.store.get(job_id) is not None:
            return "job %s is already final" % job_id
        return "no job %s" % job_id

    def find(self, job_id):
        for rec in self.jobs:
            if rec["id"] == job_id:
                return rec
        return None
