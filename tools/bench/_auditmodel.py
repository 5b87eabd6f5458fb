"""Bench-only: the memory audit's model of MicroPython's object layouts (tools/bench/_audit.py,
compiled beside it as `benchauditmodel`): an object's heap and bytes-like bytes with 8- or 4-byte
words (size), what an object and all it holds adds beyond what was counted (walk), and the
type, text or items of a heap object read at its address (type_names, storage, item; uctypes,
the unix port only). A model, not a measurement: the audit's totals are measured."""
import sys


def type_names():
    """{address: name} of the types a heap object can start with (its first word)."""
    import asyncio
    out = {}

    def g():
        yield 1

    def mk():
        x = 1

        def c():
            return x
        return c
    samples = [b"", "", (), [], {}, set(), bytearray(), 1.5, memoryview(b""), g(), mk(), g, print,
               [].append, asyncio.Event(), asyncio.create_task, Exception(), OSError(), KeyError(),
               asyncio.CancelledError(), asyncio.TimeoutError(), 1 << 70, sys, iter([]), iter(()),
               iter(b""), iter(""), iter({}), open]
    for v in samples:
        out[id(type(v))] = type(v).__name__
    for name in list(sys.modules):
        d = sys.modules[name].__dict__
        for k in d:
            v = d[k]
            if type(v) is type:
                out[id(v)] = name.split(".")[-1] + "." + k
    return out

def storage(ids, types):
    """Add to ids the separate storage of the objects they name that have one: the items of a
    bytearray, list, dict, set, str/bytes made at run time or instance (its member table) are
    a block of their own, word 3 of each."""
    import struct
    import uctypes
    kinds = [id(t) for t in (bytearray, list, dict, set, str, bytes)]
    for a in list(ids):
        if a & 7 or a < 65536:
            continue        # an int or an interned str: not an object in the heap
        w = struct.unpack("4Q", bytes(uctypes.bytearray_at(a, 32)))
        if w[0] in kinds or "." in types.get(w[0], ""):   # a class of a module: an instance
            ids.add(w[3])


def printable(raw):
    return "".join(chr(c) if 32 < c < 127 else "." for c in raw)


def item(x, types):
    """One object word of a tuple, described: a small int, an interned name, or the type (a
    str's text) of the object it points to."""
    import struct
    import uctypes
    if x & 1:
        return str(x >> 1)
    if x & 7:
        return "q"
    if x < 4096:
        return "?"
    w = struct.unpack("4Q", bytes(uctypes.bytearray_at(x, 32)))
    tn = types.get(w[0], "?")
    if tn in ("str", "bytes") and w[2] < 4096 and w[3]:
        return repr(printable(bytes(uctypes.bytearray_at(w[3], min(w[2], 24)))))
    return tn


def attrs(o):
    try:
        return o.__dict__
    except AttributeError:
        return None

def blk(n, b):
    return (n + b - 1) // b * b


def tab(n):
    """Slots of a MicroPython map/set table grown to hold n entries (py/map.c's sizes)."""
    for p in (0, 2, 4, 6, 8, 10, 12, 17, 23, 29, 37, 47, 59, 73, 97, 127, 167, 223, 293, 389, 521,
              691, 919, 1223, 1627, 2161, 3229):
        if p >= n:
            return p
    return n


def slots(o, n):
    """Slots of the map of o (a dict, or an instance's member table) holding n entries: read
    from the object (its mp_map_t's alloc, the word after base and used: a dict literal or a
    cleared one is sized as it was filled, not as a grown one), else tab(n)."""
    try:
        import struct
        import uctypes
        return struct.unpack("Q", bytes(uctypes.bytearray_at(id(o) + 16, 8)))[0]
    except Exception:
        return tab(n)


def size(v, w):
    """(heap bytes, bytes-like bytes) of one object, not what it refers to, with words of w
    bytes and GC blocks of 4 words (the object layouts of py/obj*.h). Strings shorter than 12
    are taken as interned (qstrs: in the code, not here)."""
    b = 4 * w
    t = type(v)
    if t is bytearray or t.__name__ == "array":
        n = len(bytes(v)) if t is not bytearray else len(v)
        return blk(4 * w, b) + blk(n, b), blk(n, b)
    if t is str or t is bytes:
        n = len(v)
        if n < 12:
            return 0, 0
        return blk(4 * w, b) + blk(n + 1, b), blk(n + 1, b)
    if t is memoryview:
        return blk(4 * w, b), 0
    if t is dict:
        return blk(3 * w, b) + blk(2 * w * slots(v, len(v)), b), 0
    if t is list:
        return blk(4 * w, b) + blk(w * (len(v) + 3), b), 0
    if t is tuple:
        return (blk((2 + len(v)) * w, b) if v else 0), 0
    if t is set:
        return blk(4 * w, b) + blk(w * tab(len(v)), b), 0
    if t is float:
        return blk(2 * w, b), 0
    if t is int:
        return (0 if -(1 << 30) < v < (1 << 30) else blk(4 * w, b)), 0
    if t is bool or v is None:
        return 0, 0
    tn = t.__name__
    if tn == "bound_method":
        return blk(3 * w, b), 0
    d = attrs(v)
    if d is not None and t is not type and tn != "module":
        return blk(3 * w, b) + blk(2 * w * slots(v, len(d)), b), 0
    return blk(4 * w, b), 0          # a native object (socket, task, stream): its base only


def buffer(v):
    """(address, bytes) of the data block of a bytearray, array or memoryview (py/objarray.h:
    typecode and `free` in word 1, len, items): a view's items are its base's, its offset in
    `free`, so a view counts the block up to its end when nothing else reached the block first;
    None without uctypes."""
    try:
        import struct
        import uctypes
        w = struct.unpack("4Q", bytes(uctypes.bytearray_at(id(v), 32)))
    except Exception:
        return None
    tc = w[1] & 0x7F
    size = struct.calcsize(chr(tc)) if tc > 32 else 1
    if type(v) is memoryview:
        return w[3], size * ((w[1] >> 8) + w[2])
    return w[3], size * (w[2] + (w[1] >> 8))


CODE = ("function", "closure", "generator", "type", "module")
ext = {}         # ("data", address) -> bytes of that data block counted so far (walk)


def walk(v, seen, acc):
    """Heap of v and what it holds that `seen` has not counted yet: acc = [64-bit, bytes-like
    64-bit, 32-bit estimate]."""
    todo = [v]
    while todo:
        v = todo.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        t = type(v)
        if t.__name__ in CODE:
            continue
        buf = buffer(v) if t is bytearray or t is memoryview or t.__name__ == "array" else None
        if buf is not None:     # the object, and what its data block's extent adds once
            k = ("data", buf[0])    # (views share their base's block: the largest end counts)
            c = ext.get(k, 0)
            if buf[1] > c:
                ext[k] = buf[1]
            n64 = blk(buf[1], 32) - blk(c, 32) if buf[1] > c else 0
            acc[0] += 32 + n64
            acc[1] += n64
            acc[2] += 16 + (blk(buf[1], 16) - blk(c, 16) if buf[1] > c else 0)
            continue
        n64, b64 = size(v, 8)
        acc[0] += n64
        acc[1] += b64
        acc[2] += size(v, 4)[0]
        if t is dict:
            for k in v:
                if type(k) is not str:      # a str key is a name of the code, or interned
                    todo.append(k)
                todo.append(v[k])
        elif t is list or t is tuple or t is set:
            todo.extend(v)
        elif t.__name__ == "bound_method":
            try:
                todo.append(v.__self__)
            except AttributeError:
                pass
        elif t not in (str, bytes, bytearray, memoryview):
            d = attrs(v)
            if d is not None:
                for k in d:
                    todo.append(d[k])
