"""The fax jobs at boot (docs/unit.md "Persistence"): recover(jobs, now), the one boot step of
the job lifecycle (core/fax/job.py Jobs), a plain function over the Jobs it is given, in a
module of its own for the lifecycle's size (issue 15). Like Jobs it does no I/O: it reads the
records through the store's records() and get(), and writes through Jobs' own transition (_go)
and report (_report), and the store's done_put, remove, save and rebuild (job.py's docstring).
Imported where the boot calls it (app/unit.py Unit.run), after which nothing calls it again.
"""


def recover(js, now):
    """After a boot: read the records one at a time into js (Jobs), keep the open ones, re-emit
    what was not reported, end or redial a call the restart cut, rebuild the ring of finished
    jobs and prune what it does not hold. One walk when every finished record has a fin and at
    most `lot` of them fall out of the ring (the usual boot); it walks again when more must go.
    A finished record is read as its head (the store's records()); a head may give its id as
    rec["id"][:rec[0]] (a store's file name: no copy a record, made here only where one is kept;
    key 0, an int, is no JSON record's field). Its lot is a local, not a module const(): no name
    in the module's dict (issue 13)."""
    lot = 8         # records changed after one pass over the store (bounded RAM)
    js.jobs = []
    keep = js.cfg["jobs"]["keep_done"]
    st = js.store
    st.rebuild(True)        # each finished record put in a fresh ring as it is read
    idof = lambda r: r["id"][:r[0]] if r.get(0) else r["id"]    # noqa: E731 (a local)
    while True:
        redo = []
        old = []       # seqs of the keep newest finished records without a fin (older firmware)
        lost = 0       # finished records outside the keep last: a second walk prunes them
        drop = []      # ... reported, lot at most: deleted after this walk
        for rec in st.records():
            seq = rec.get("seq", 0)
            if seq > js._seq:
                js._seq = seq
            fin = rec.get("fin")
            if fin is not None and fin > js._fin:
                js._fin = fin
            if rec.get("state") != "done":
                if js.find(rec["id"]) is None:
                    js.jobs.append(rec)
                continue
            ok = rec.get("rep") == rec.get("rev")
            if not ok and len(redo) < lot:
                redo.append(idof(rec))
            if fin is None:              # ascending insert, the keep newest only
                i = len(old)
                while i and old[i - 1] > seq:
                    i -= 1
                old.insert(i, seq)
                if len(old) > keep:
                    del old[0]
            else:
                n = rec.get("docs", len(rec.get("kinds", ())))
                n = st.done_put(keep, fin, rec["id"], n, ok, rec.get(0, 0)) if keep \
                    else (idof(rec), n, ok)
                if n is not None:        # outside the ring: (id, docs, reported?)
                    if n[2] and len(drop) < lot:
                        drop.append(n)
                    else:
                        lost += 1
        for n in drop:                   # reported and outside the ring: gone, no walk more
            st.remove(n[0], n[1])
        sent = 0
        for job_id in redo:
            rec = st.get(job_id)
            if rec is not None:
                try:
                    js._report(rec)
                except (OSError, KeyError, TypeError, ValueError):   # not said or saved: walk no more
                    continue
                if rec.get("rep") == rec.get("rev"):
                    sent += 1
                    if keep and rec.get("fin"):  # its slot says so too
                        st.done_put(keep, rec["fin"], job_id, len(rec.get("kinds", ())), 1)
        if len(redo) < lot or sent < len(redo):
            break               # each walk again says 8 more for good: it ends
    if lost or old:
        # Rebuild the ring of finished jobs: each finished record among the keep last
        # (fin > js._fin - keep) in its slot; a record from an older firmware (no fin)
        # among the keep newest by seq (`old`) is numbered after them; every other reported
        # finished record out of the ring is deleted. Records change after a walk, lot per walk. The
        # fresh ring the walk above put together holds the records with a fin already (a
        # later fin won each slot).
        base = js._fin
        js._fin += len(old)
        lo = js._fin - keep
        while True:
            batch = []
            for rec in st.records():
                if rec.get("state") != "done":
                    continue
                fin = rec.get("fin")
                ok = rec.get("rep") == rec.get("rev")
                n = rec.get("docs", len(rec.get("kinds", ())))
                if fin is None and rec.get("seq", 0) in old:
                    fin = base + 1 + old.index(rec.get("seq", 0))
                    batch.append((idof(rec), fin))
                elif ok and (fin is None or fin <= lo and (not keep or st.done_put(
                        keep, fin, rec["id"], n, 1, rec.get(0, 0)) is not None)):
                    # out of the ring only: a later fin holds its slot (done_put gives
                    # it back). A fin with no record (a final save the flash refused)
                    # leaves its slot to the job before: deleted, the ring would name
                    # it, and a new job of its id would be taken for it (lost)
                    batch.append((idof(rec), -n))
                if len(batch) == lot:
                    break
            done = 0        # records numbered or deleted for good: a walk that
            for job_id, fin in batch:   # changes none (8 it cannot) is the last
                if fin > 0:
                    rec = st.get(job_id)
                    if rec is None:
                        continue
                    rec["fin"] = fin
                    try:
                        st.save(rec)
                    except OSError:
                        continue
                    done += 1
                    st.done_put(keep, fin, job_id, len(rec.get("kinds", ())),
                                rec.get("rep") == rec.get("rev"))
                elif st.remove(job_id, -fin) is not False:
                    done += 1
            if len(batch) < lot or not done:
                break
    st.rebuild(False)       # else the ring put together by the walk holds every finished record
    js.jobs.sort(key=lambda r: r.get("seq", 0))
    for rec in list(js.jobs):
        try:
            if rec.get("rep") != rec.get("rev"):
                js._report(rec)
            else:
                rec["evidence"] = None
        except OSError:
            pass
        except (OSError, KeyError, TypeError, ValueError):
            js.jobs.remove(rec)
    r = js.cfg["retries"]
    for rec in list(js.jobs):
        st = rec["state"]
        try:
            if st == "new":     # counted by next_due, one a pass: not all at boot
                continue
            if st == "call" and rec.get("cancel"):
                js._go(rec, "cancelled", (("reason", "unit restarted during the call"),))
            elif st == "call":
                ev = (("reason", "unit restarted during the call"),
                      ("pages", rec.get("confirmed", 0)))
                if r["after_restart"] and rec["attempt"] < 1 + r["count"]:
                    rec["next_at"] = now
                    js._go(rec, "restart", ev + (("retry_in", 0),))
                else:
                    js._go(rec, "restart_end", ev)
        except OSError:         # flash refused its save: as it is in RAM, the next boot again
            pass
        except (OSError, KeyError, TypeError, ValueError):   # a record of another shape: passed over
            if rec in js.jobs:
                js.jobs.remove(rec)
