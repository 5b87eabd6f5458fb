"""Fax jobs on flash: the store of the job lifecycle (core/fax/job.py; docs/unit.md).

The unit's Jobs is the core lifecycle; this module gives it its store. Layout under the folder:
  <id>.job      the job record (JSON), written atomically (app/store.py)
  <id>.p<n>     document n as received (text, pbm or pbmz), moved in from the spool
Records are read one at a time (records()); an orphan <id>.job.tmp left by a crash is promoted
when complete and alone (no <id>.job beside it), else deleted, after the walk.
"""
import json
import os

from faxbridge.app.store import exists, makedirs, names, remove, save_json, load_json
from faxbridge.core.fax.job import DUPLICATE, Jobs, valid_id  # noqa: F401  (the unit's API)


class JobStore:
    def __init__(self, folder):
        if not folder.endswith("/"):
            folder += "/"
        self.folder = folder
        makedirs(folder[:-1])

    def path(self, job_id, ext="job"):
        return self.folder + job_id + "." + ext

    def page_path(self, job_id, n):
        return self.path(job_id, "p%d" % n)

    def save(self, rec):
        save_json(self.path(rec["id"]), rec)

    def get(self, job_id):
        if not valid_id(job_id):
            return None
        return load_json(self.path(job_id))

    def adopt(self, job_id, pages):
        """Move the documents [(kind, path)] in as <id>.p0, <id>.p1, ... (os.rename)."""
        for n, (_kind, src) in enumerate(pages):
            dst = self.page_path(job_id, n)
            remove(dst)
            os.rename(src, dst)

    def drop_pages(self, job_id, docs):
        for n in range(docs):
            remove(self.page_path(job_id, n))

    def remove(self, job_id, docs=0):
        """Delete a job: its documents first, then its record (never a page without record)."""
        self.drop_pages(job_id, docs)
        remove(self.path(job_id) + ".tmp")
        remove(self.path(job_id))

    def records(self):
        """Every job record, one at a time, in folder order."""
        fix = []                 # (orphan .tmp, promote?) handled after the walk, at most 8
        for name in names(self.folder[:-1]):
            if name.endswith(".job"):
                rec = _read(self.folder + name)
            elif name.endswith(".job.tmp"):
                # beside its record: a write the crash cut (the record stands); alone: the
                # record of a new job, complete or torn
                rec = None if exists(self.folder + name[:-4]) else _read(self.folder + name)
                if len(fix) < 8:
                    fix.append((name, rec is not None))
            else:
                continue
            if rec is not None:
                yield rec
        for name, ok in fix:
            if ok:
                os.rename(self.folder + name, self.folder + name[:-4])
            else:
                remove(self.folder + name)


def _read(path):
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and "id" in rec else None
