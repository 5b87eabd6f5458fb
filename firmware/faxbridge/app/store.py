"""Job persistence on flash: one JSON record per job, written atomically (temp + rename).

Layout under the store's folder (docs/unit.md):
  <id>.job      the job record (JSON object)
  <id>.p<n>     page n's source as received (PBM bytes or UTF-8 text)
A crash at any instant leaves either the old or the new record: a record is written to
<id>.job.tmp, closed, then renamed over <id>.job. At load, an orphan .tmp that parses is
promoted; a torn one is deleted.
"""
import json
import os

_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"
MAX_ID = 40


def valid_id(job_id):
    """True if job_id is safe as a file name: 1..40 of [A-Za-z0-9-_.:], not starting with '.'."""
    if not isinstance(job_id, str) or not (0 < len(job_id) <= MAX_ID) or job_id[0] == ".":
        return False
    for c in job_id:
        if c not in _ID_CHARS:
            return False
    return True


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    cur = ""
    for part in path.split("/"):
        cur = cur + part + "/" if cur or part else "/"
        if part:
            try:
                os.mkdir(cur[:-1])
            except OSError:
                pass


def write_atomic(path, data):
    """Write data (bytes or str) to path so that a crash leaves the old or the new content."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    try:
        os.rename(tmp, path)
    except OSError:
        # FAT refuses to rename over an existing file; LittleFS and POSIX replace atomically
        os.remove(path)
        os.rename(tmp, path)


def save_json(path, obj):
    write_atomic(path, json.dumps(obj))


def load_json(path, default=None):
    """The JSON object at path (promoting a complete orphan .tmp), or default."""
    for p in (path, path + ".tmp"):
        try:
            with open(p) as f:
                obj = json.loads(f.read())
        except (OSError, ValueError):
            continue
        if p != path:
            try:
                os.rename(p, path)
            except OSError:
                pass
        return obj
    return default


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

    def save(self, job):
        save_json(self.path(job["id"]), job)

    def get(self, job_id):
        if not valid_id(job_id):
            return None
        return load_json(self.path(job_id))

    def exists(self, job_id):
        return _exists(self.path(job_id)) or _exists(self.path(job_id) + ".tmp")

    def write_page(self, job_id, n, data):
        write_atomic(self.page_path(job_id, n), data)

    def remove_pages(self, job):
        for n in range(job.get("docs", 0)):
            try:
                os.remove(self.page_path(job["id"], n))
            except OSError:
                pass

    def delete(self, job):
        self.remove_pages(job)
        for p in (self.path(job["id"]), self.path(job["id"]) + ".tmp"):
            try:
                os.remove(p)
            except OSError:
                pass

    def load_all(self):
        """Every job record on flash, oldest first; torn temp files are removed."""
        jobs = []
        names = os.listdir(self.folder[:-1])
        for name in names:
            if name.endswith(".job.tmp"):
                if name[:-4] not in names:
                    job = load_json(self.folder + name[:-4])
                    if job is not None:
                        jobs.append(job)
                        continue
                try:
                    os.remove(self.folder + name)
                except OSError:
                    pass
            elif name.endswith(".job"):
                job = load_json(self.folder + name)
                if isinstance(job, dict) and "id" in job:
                    jobs.append(job)
        jobs.sort(key=lambda j: (j.get("created", 0), j.get("seq", 0)))
        return jobs

    def prune_done(self, keep):
        """Delete the oldest finished, reported job records beyond `keep`."""
        done = [j for j in self.load_all() if j.get("state") == "done" and j.get("reported") == j.get("code")]
        for j in done[:max(0, len(done) - keep)]:
            self.delete(j)
