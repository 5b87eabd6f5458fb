"""Fax jobs on flash: the store of the job lifecycle (core/fax/job.py; docs/unit.md).

The unit's Jobs is the core lifecycle (core/fax/job.py, imported from there); this module
gives it its store. Layout under the folder:
  <id>.job      the job record: a head line ("d51 51 1": O open, d finished, D finished and
                said; fin, seq, documents), then the record as JSON, written atomically; the
                head is what a boot reads of a finished record
  <id>.p<n>     document n as received (text, pbm or pbmz), moved in from the spool
Beside the folder, <folder>.done is the ring of finished jobs: jobs.keep_done slots of _SLOT
bytes, slot fin % keep holding fin (u32), documents, reported?, id length, id; it is rebuilt at
every boot (core/fax/jobboot.py recover) into <folder>.done.new, renamed over it, so a crash between a record
and its slot costs nothing. A finished record is saved once, before its status: the slot's
reported? is its report mark (the boot reads it: _known).
A record is written to <folder>/.tmp (one name, made once: no second path a save) and renamed
over <id>.job. Records are read one at a time (records()); a .tmp left by a crash (or an
<id>.job.tmp of an older firmware) is promoted when complete and alone (no <id>.job beside
it), else deleted, after the walk.
"""
from micropython import const

from faxbridge.app import store
from faxbridge.core.fax.jobtab import valid_id

_SLOT = const(48)   # fin 4, documents 1, reported 1, id length 1, id up to 40 (commands.MAX_JOB)
_RING = const(200)  # slots of an old ring read at boot at most (config: keep_done <= 200)
_BIG = const(0x3FFFFFFF)    # fin and seq at most: a larger one is corruption (a small int)
_DOCS = const(500)  # documents of a job at most (config: jobs.max_pages <= 500, submit)


class JobStore:
    def __init__(self, folder):
        if not folder.endswith("/"):
            folder += "/"
        self.folder = folder
        self.slot = bytearray(_SLOT)
        self.done = folder[:-1] + ".done"   # the ring's path, made once (<ring>.new while the
        # boot rebuilds it: rebuild())
        self._rb = None     # while the boot rebuilds: [old ring, new ring (open files, None
        # till made), a byte a slot of the old: its id's _hash (_known)]
        self.tmp = folder + ".tmp"          # every record is written here, then renamed
        self._id = self._p = None           # the last id asked and its record's path (path)
        store.makedirs(folder[:-1])

    def path(self, i):
        """<folder><id>.job, kept for the last id asked until a job ends (done_put): a job's
        intake check and its saves, a call's transitions, format it once (one string: a + b + c
        makes three)."""
        if i is not self._id:
            self._id = i
            self._p = "%s%s.job" % (self.folder, i)
        return self._p

    def page_path(self, job_id, n):
        return "%s%s.p%d" % (self.folder, job_id, n)

    def save(self, rec):
        """The record to the one .tmp, renamed over <id>.job: its head line first, then its
        JSON, each streamed (json.dump writes a number with no allocation: no line built)."""
        import json
        with open(self.tmp, "w") as f:
            f.write("O" if rec.get("state") != "done" else "D" if rec.get("rep") == rec.get(
                "rev") else "d")
            json.dump(rec.get("fin") or 0, f)
            f.write(" ")
            json.dump(rec.get("seq", 0), f)
            f.write(" ")
            json.dump(len(rec.get("kinds", ())), f)
            f.write("\n")
            json.dump(rec, f)
        store.move(self.tmp, self.path(rec["id"]))

    def get(self, job_id):
        """The record of job_id, or None (an orphan .tmp is the boot walk's business)."""
        rec = self._read(self.path(job_id)) if valid_id(job_id) else None
        return rec if rec is not None and rec["id"] == job_id else None

    def _read(self, path, h=None):
        """The record at path, whole (JSON), or None. Given the dict h, a finished record with
        a head line is read as its head alone, into h: state, fin, seq, rev, rep (equal when
        said), docs (its JSON not parsed). A record read whole must be a dict whose id is a
        job id, state a str, seq and fin (or None) ints in range, kinds a list of at most
        _DOCS: anything else is corrupt (passed over)."""
        try:
            with open(path, "rb") as f:
                c = f.read(1)
                if c == b"{":                   # an older firmware's record, JSON alone
                    f.seek(0)
                else:                           # O, d or D; fin, seq, documents; "\n"
                    if not c or c not in b"OdD":
                        return None
                    v = f.readline(40)          # at most 28 B: a torn or foreign file is
                    if v[-1:] != b"\n":         # not read whole into RAM
                        return None
                    v = v.split()
                    if len(v) != 3:
                        return None
                    fin = int(v[0])
                    seq = int(v[1])
                    n = int(v[2])
                    if not (0 <= fin <= _BIG and 0 <= seq <= _BIG and 0 <= n <= _DOCS):
                        return None             # out of range: corrupt, passed over as torn
                    if h is not None and c != b"O":
                        h["state"] = "done"
                        h["fin"] = fin or None
                        h["seq"] = seq
                        h["docs"] = n
                        h["rev"] = 1
                        h["rep"] = 1 if c == b"D" else 0
                        return h
                import json
                rec = json.load(f)
        except (OSError, ValueError):
            return None
        if type(rec) is not dict:
            return None
        i = rec.get("id")
        fn = rec.get("fin")
        s = rec.get("seq", 0)
        k = rec.get("kinds", ())
        ok = type(i) is str and valid_id(i) and type(rec.get("state")) is str and \
            type(s) is int and 0 <= s <= _BIG and (fn is None or type(fn) is int and 0 < fn <= _BIG) \
            and type(k) in (list, tuple) and len(k) <= _DOCS
        return rec if ok else None

    def adopt(self, job_id, pages):
        """Move the documents [(kind, path)] in as <id>.p0, <id>.p1, ... (store.move), each
        taken out of the list as it is moved (the spool's list: app/spool.py then removes
        only what is left, by name)."""
        for n in range(len(pages)):
            store.move(pages[0][1], self.page_path(job_id, n))
            del pages[0]

    def drop_pages(self, job_id, docs):
        for n in range(docs):
            store.remove(self.page_path(job_id, n))

    def remove(self, job_id, docs=0):
        """Delete a job: its documents first, then its record (never a page without record).
        A <id>.job.tmp is a crash's, settled by the boot walk (records()) before any remove."""
        self.drop_pages(job_id, docs)
        r = store.remove(self.path(job_id))
        self._id = self._p = None   # the job is gone: its path is not kept (the ring's push-out
        return r                    # after a job's end left one in an idle unit)

    def _known(self, name, h):
        """h, filled from the old ring, when one of its slots names <name>'s id reported (the
        boot's walk: no record opened, no path made; seq is not on the ring and is 0: it only
        orders open jobs), else None. The slots' fingerprints (_rb[2]) say which to read."""
        rb = self._rb
        if rb is None or rb[2] is None:
            return None
        f, _, fp = rb
        k = len(name) - 4
        x = _hash(name, 0, k)
        b = self.slot
        for i in range(len(fp)):
            if fp[i] == x:
                try:
                    f.seek(i * _SLOT)
                    if f.readinto(b) != _SLOT or b[6] != k or not b[5]:
                        continue
                except OSError:         # the old ring unreadable: the heads are read
                    return None
                j = 0
                while j < k and b[7 + j] == ord(name[j]):
                    j += 1
                v = store.u32(b, 0)
                if j == k and 0 < v <= _BIG:    # else corrupt: its record's head is read
                    h["state"] = "done"
                    h["fin"] = v
                    h["docs"] = b[4]
                    h["seq"] = 0
                    h["rev"] = h["rep"] = 1
                    return h
        return None

    def rebuild(self, new):
        """new: the boot's rebuild writes a fresh ring beside the old one, both kept open till
        it ends (records() reads the old, _known; done_put() writes the new: no open a
        record); else the fresh ring replaces the old, or, nothing put, the old goes (the next
        finished job makes the ring with its keep slots, done_put: its size says keep). A call
        again before the end starts afresh (the ring's path is the folder's)."""
        rb = self._rb
        p = self.done                   # the ring's path (no string made), <ring>.new after
        if p.endswith(".new"):          # a rebuild(True): the ring's ends ".done"
            p = p[:-4]
        if rb is not None:              # a rebuild before: its files closed
            for i in (0, 1):
                if rb[i] is not None:
                    rb[i].close()
            self._rb = None
        if new:
            self.done = p + ".new"
            store.remove(self.done)
            rb = self._rb = [None, None, None]
            try:
                f = rb[0] = open(p, "rb")
                # a slot a byte, 200 at most (keep_done's limit): a corrupt large ring
                # allocates no more; slots past it are not read (their records' heads are)
                n = min(f.seek(0, 2) // _SLOT, _RING)
                fp = bytearray(n)
                b = self.slot
                f.seek(0)
                for i in range(n):
                    if f.readinto(b) == _SLOT and b[5] and 0 < b[6] <= 40:
                        fp[i] = _hash(b, 7, b[6])
                rb[2] = fp                      # only once read whole: _known
            except OSError:
                pass
        elif rb is not None:
            try:
                if store.exists(self.done):
                    store.move(self.done, p)
                else:
                    store.remove(p)
            except OSError:             # the old ring stays: the next boot rebuilds it
                pass
            self.done = p

    def done_put(self, keep, fin, job_id, docs, ok, k=0):
        """Put a finished job in slot fin % keep of the ring; the job it pushed out: (id, docs,
        reported?) or None; the job itself, not put, when the slot holds a later fin. One slot
        read and written in place (a missing ring is made with keep empty slots: its size says
        keep, rebuild()). The job is over: the path kept goes (an idle unit keeps none).
        k > 0: job_id is a boot walk's record name, the id its first k characters (records())."""
        self._id = self._p = None
        b = self.slot
        rb = self._rb
        f = rb and rb[1]
        try:
            if f is None:
                p = self.done
                try:
                    f = open(p, "r+b")
                except OSError:
                    f = open(p, "w+b")
                    store.put32(b, 0, 0)
                    b[6] = 0
                    for _ in range(keep):
                        f.write(b)
                if rb:                  # the boot's new ring: open till rebuild(False)
                    rb[1] = f
        except OSError:                 # no ring (flash full): nothing pushed out, the
            if f is not None:           # record stays; the next boot rebuilds it (f: the
                f.close()               # ring made in part, never the boot's kept one)
            return None
        try:
            i = fin % keep * _SLOT
            f.seek(i)
            n = f.readinto(b)
            m = b[6]
            old = None
            if n == _SLOT and 0 < m <= 40:
                v = store.u32(b, 0)
                if v > fin:             # the slot holds a later job (the boot's rebuild)
                    return job_id[:k] if k else job_id, docs, ok
                if v < fin:
                    try:
                        old = str(b[7:7 + m], "ascii")
                    except ValueError:  # not text: a corrupt slot names no record
                        old = ""
                    old = (old, b[4], b[5]) if valid_id(old) else None
            store.put32(b, 0, fin)
            b[4] = min(docs, 255)
            b[5] = 1 if ok else 0
            k = k or len(job_id)
            b[6] = k
            for j in range(k):          # an id is ASCII (valid_id): no encoded copy
                b[7 + j] = ord(job_id[j])
            f.seek(i)
            f.write(b)
        except (OSError, ValueError):   # a slot not read or not written: nothing pushed out
            return None
        finally:
            if not rb:
                f.close()
        return old

    def records(self):
        """Every job record, one at a time, in folder order. A finished record comes as its
        head: id, state, seq, fin, rev, rep, docs, in one dict the walk reuses (what a boot
        needs of it; get() reads it whole), from the old ring's slot when the boot's rebuild
        has one naming it reported (_known), else from its head line (_read); while the boot
        rebuilds (rebuild(True)) its id is its file name, the id the first k characters (the
        head's key 0; done_put takes it). An open record, a .tmp and an older firmware's record
        are read whole."""
        h = {}
        fix = []                 # (orphan .tmp, its record's path or None) after the walk, at most 8
        try:
            for name in store.names(self.folder[:-1]):
                if name.endswith(".job"):
                    rec = self._known(name, h) or self._read(self.folder + name, h)
                    if rec is h:    # its id: the name less ".job"
                        k = len(name) - 4
                        if self._rb is not None:    # the boot's walk: the name itself, the id
                            h["id"] = name          # its first k characters (no copy a record:
                            h[0] = k                # 32 B on 32 bits; done_put(..., k); an int
                            # key: no field of a record read whole (JSON keys are str)
                        else:       # made with no slice object when ".job" is only at its end
                            h["id"] = name.replace(".job", "") if name.find(".job") == k \
                                else name[:k]
                    elif rec is not None:   # read whole: its id must be its name's
                        i = rec["id"]
                        if len(i) + 4 != len(name) or not name.startswith(i):
                            rec = None
                elif name == ".tmp" or name.endswith(".job.tmp"):
                    # beside its record: a write the crash cut (the record stands); alone:
                    # the record of a new job, complete or torn
                    rec = self._read(self.folder + name)
                    to = None
                    if rec is not None:
                        to = self.path(rec["id"])
                        if (name != ".tmp" and to != self.folder + name[:-4]) or store.exists(to):
                            to = rec = None
                    if len(fix) < 8:
                        fix.append((name, to))
                else:
                    continue
                if rec is not None:
                    yield rec
        except OSError:          # the folder unreadable: the walk ends (what it read stands)
            pass
        for name, to in fix:
            try:
                if to:
                    store.move(self.folder + name, to)     # `to` is free (checked above)
                else:
                    store.remove(self.folder + name)
            except OSError:
                pass


def _hash(x, i, k):
    """One byte of the id in x[i:i + k] (a slot's bytes or a name's characters)."""
    v = 0
    for j in range(i, i + k):
        c = x[j]
        v = (v * 31 + (c if type(c) is int else ord(c))) & 255
    return v
