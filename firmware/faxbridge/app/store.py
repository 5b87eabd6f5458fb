"""Files on flash: atomic JSON records, folder walks one name at a time (docs/unit.md).

A record is written to <path>.tmp, closed, then renamed over <path>: a crash at any instant
leaves the old or the new content. JSON is streamed to and from the file (json.dump/json.load),
never held whole as text. Binary records (outbox, seen window) share the 32-bit field helpers.
"""
import json
import os


def u32(b, i):
    """The big-endian 32-bit field of a binary record at b[i:i + 4]."""
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def put32(b, i, v):
    """Write v as a big-endian 32-bit field at b[i:i + 4]."""
    b[i] = (v >> 24) & 0xFF
    b[i + 1] = (v >> 16) & 0xFF
    b[i + 2] = (v >> 8) & 0xFF
    b[i + 3] = v & 0xFF


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove(path):
    """Delete a file; False when it was not there."""
    try:
        os.remove(path)
        return True
    except OSError:
        return False


def makedirs(path):
    """Make the folder path and any parent missing. One mkdir when the parent exists (the
    usual case): no walk from the root, no failed mkdir per existing ancestor."""
    if path.endswith("/"):
        path = path[:-1]
    if not path:
        return
    try:
        os.mkdir(path)
        return
    except OSError:
        if exists(path):
            return
    i = path.rfind("/")
    if i > 0:
        makedirs(path[:i])
        os.mkdir(path)


def names(folder):
    """The names in folder, one at a time (MicroPython's ilistdir holds no list of them)."""
    if hasattr(os, "ilistdir"):
        for e in os.ilistdir(folder):
            yield e[0]
    else:
        for n in os.listdir(folder):
            yield n


def size(path):
    """Bytes of a file or, recursively, of a folder's files. A file's size comes from the
    folder's listing where the port gives it (ilistdir's 4th field): no stat, no path."""
    st = os.stat(path)
    if not st[0] & 0x4000:
        return st[6]
    t = 0
    if hasattr(os, "ilistdir"):
        for e in os.ilistdir(path):
            if e[1] == 0x8000 and len(e) > 3 and e[3] >= 0:
                t += e[3]
            else:
                t += size(path + "/" + e[0])
    else:
        for n in os.listdir(path):
            t += size(path + "/" + n)
    return t


def rmtree(path):
    """Delete a folder and everything in it (a file: just the file)."""
    if os.stat(path)[0] & 0x4000:
        empty(path, rmtree)
        os.rmdir(path)
    else:
        os.remove(path)


def empty(path, rm=remove):
    """rm(path/name) for every name in the folder, 8 names taken at a time (no walk while
    deleting, no list of the whole folder). A name rm refuses is skipped by every later batch
    (the first `bad` names of a listing): the ones after it still go, and the walks end when
    a listing runs out (each batch deletes a name or skips one more)."""
    bad = 0
    while True:
        batch = []
        i = 0
        for n in names(path):
            i += 1
            if i > bad:
                batch.append(n)
                if len(batch) == 8:
                    break
        for n in batch:
            if rm(path + "/" + n) is False:
                bad += 1
        if len(batch) < 8:
            break


def move(tmp, path):
    """Rename tmp over path (replacing it)."""
    try:
        os.rename(tmp, path)
    except OSError:
        # FAT refuses to rename over an existing file; LittleFS and POSIX replace atomically
        os.remove(path)
        os.rename(tmp, path)


def save_json(path, obj, tmp=None):
    """Write obj as JSON so that a crash leaves the old or the new content: to tmp (default
    path + ".tmp"; a caller saving many records passes one name it keeps), renamed over path."""
    if tmp is None:
        tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    move(tmp, path)


def load_json(path, default=None):
    """The JSON object at path (promoting a complete orphan .tmp), or default."""
    for p in (path, path + ".tmp"):
        try:
            with open(p) as f:
                obj = json.load(f)
        except (OSError, ValueError):
            continue
        if p != path:
            try:
                os.rename(p, path)
            except OSError:
                pass
        return obj
    return default
