"""Bench-only: runs on the MicroPython unix port inside the generated wrapper (tools/bench/_wrap.py,
`wrapper_source`), in the unit's own interpreter. Never on a board; firmware/ has no bench code.

- residue(): what the imported modules would still hold in heap if they were frozen (module
  dicts, classes, function objects, and dicts/lists/sets/bytearrays built at import, nested
  ones too; tuples count as constants, which stay in flash), with 32-bit object sizes: an
  estimate, printed as `bench: residue ...`.
- install(): wraps asyncio.run (which firmware/main.py calls) so that a watcher task runs beside
  the unit. When the bench writes `<flash>/.bench-fragment` (a hole size in bytes), the watcher
  fragments the free heap: the whole free heap taken in hole-sized blocks, the runs left
  between them filled with halving sizes, then every other hole-sized block freed and the
  rest kept. No free run is then larger than a hole (`micropython.mem_info()` prints the
  largest free run, `max free sz`, in GC blocks), so if the unit goes on working, no later
  allocation needed more than that.
- oom(): with $BENCH_OOM="module:function,..." (install), a MemoryError out of one of those
  functions prints the free heap, its largest free run and the live heap, after a collection
  (`bench: heap oom <module:function> free <B> run <B> live <B>`), the GC block map at the
  first: whether the heap was full or cut into runs too small.
"""
import gc
import os
import sys

import asyncio

TRIGGER = ".bench-fragment"
_pins = []


def _flash():
    a = sys.argv
    for i in range(len(a) - 1):
        if a[i] == "--flash":
            return a[i + 1] + "/"
    return "flash/"


def fragment(hole):
    gc.collect()
    n = gc.mem_free() // hole + 16
    big = [None] * n
    small = [None] * 1024
    i = 0
    try:
        while i < n:
            big[i] = bytearray(hole - 32)      # + its 32-byte header (one GC block on 64-bit)
            i += 1
    except MemoryError:
        pass
    j = 0
    size = hole // 2
    while size >= 16 and j < len(small):
        try:
            while j < len(small):
                small[j] = bytearray(size)
                j += 1
        except MemoryError:
            size //= 2
    for k in range(0, i, 2):
        big[k] = None
    _pins.append(big)
    _pins.append(small)
    gc.collect()
    print("bench: fragmented: %d holes of %d B, %d blocks kept, %d fillers; free %d B" % (
        (i + 1) // 2, hole, i // 2, j, gc.mem_free()))
    import micropython
    micropython.mem_info()


def plug(pre):
    """Fill the holes the .mpy imports left (every free run but the largest) and keep the
    fillers: the unit then starts on one fresh run, as it does when its code is frozen (no
    loading garbage between code objects). Prints the bytes plugged: `bench: import holes N B`,
    with `pre`, the heap held before the imports (the interpreter, the wrapper's and this hook's
    code: none of it the unit's), and the heap's allocatable bytes (the rest of `-X heapsize` is
    the GC's tables). $BENCH_BUDGET=<bytes>: then a ballast kept at the foot of the free run so
    that the unit starts on that much free heap, a working-set budget given exactly whatever
    `-X heapsize` ($BENCH_PLUG; docs/bench.md "What the working set is made of")."""
    gc.collect()
    a0 = gc.mem_alloc()
    lo = largest_run()
    top = bytearray(max(0, lo - 64))
    node = None
    for size in (4096, 1024, 256, 64, 1):  # a chain of tuples: no list grows
        while True:
            try:
                node = (node, bytearray(size))
            except MemoryError:
                break
    _pins.append(node)
    top = None
    gc.collect()
    n = gc.mem_alloc() - a0
    budget = int(os.getenv("BENCH_BUDGET") or 0)
    if budget:          # ballast at the foot of the free run: the unit starts on `budget` bytes
        _pins.append(bytearray(max(0, gc.mem_free() - budget - 32)))    # + its 32-byte object
        gc.collect()
    print("bench: import holes %d B (largest free run %d B kept free; free heap %d B; before the imports %d B;"
          " allocatable %d B)" % (n, lo, gc.mem_free(), pre, gc.mem_alloc() + gc.mem_free()))
    return top


def largest_run():
    """The largest free run of the heap in bytes (to 32 B): the largest bytearray that fits."""
    gc.collect()
    lo, hi = 0, gc.mem_free()
    while hi - lo > 32:
        mid = (lo + hi) // 2
        try:
            bytearray(mid)
            lo = mid
        except MemoryError:
            hi = mid
        gc.collect()
    return lo


def heap_say(label, blocks=False):
    """`bench: heap <label> free <B> run <B> live <B>` after a collection: the free heap, its
    largest free run, the live heap; with blocks, the GC block map too (micropython.mem_info(1))."""
    run = largest_run()
    print("bench: heap %s free %d run %d live %d" % (label, gc.mem_free(), run, gc.mem_alloc()))
    if blocks:
        import micropython
        micropython.mem_info(1)


_said = []


def oom(spec):
    """$BENCH_OOM="module:function,...": each function wrapped (the module's attribute, so every
    caller that looks it up there gets the wrapper) so that a MemoryError out of it prints the
    heap at that moment (heap_say, `oom <module:function>`; the block map at the first one)
    and propagates unchanged: why a later allocation found no room."""
    for s in spec.split(","):
        m, _, name = s.strip().partition(":")
        mod = sys.modules.get(m)     # imported by the wrapper already (no __import__: _wrap.py)
        if mod is None or not hasattr(mod, name):
            print("bench: oom: no %s:%s imported" % (m, name))
            continue
        setattr(mod, name, _oom_wrap(m + ":" + name, getattr(mod, name)))


def _oom_wrap(label, fn):
    def w(*a, **k):
        try:
            return fn(*a, **k)
        except MemoryError:
            heap_say("oom " + label, not _said)
            _said.append(label)
            raise
    return w


async def _watch():
    path = _flash() + TRIGGER
    while True:
        await asyncio.sleep_ms(200)
        try:
            os.stat(path)
            with open(path) as f:
                hole = int(f.read())
            os.remove(path)
        except (OSError, ValueError):
            continue
        fragment(hole)


def install():
    run = asyncio.run
    if os.getenv("BENCH_OOM"):        # the heap at a MemoryError out of the functions named
        oom(os.getenv("BENCH_OOM"))
    audit = None
    if os.getenv("BENCH_AUDIT"):      # tools/bench/memaudit.py: _audit.py, compiled as benchaudit
        import benchaudit as audit
        audit.install()

    def patched(coro):
        async def both():
            t = asyncio.create_task(_watch())
            a = asyncio.create_task(audit.watch()) if audit else None
            try:
                return await coro
            finally:
                t.cancel()
                if a:
                    a.cancel()
        return run(both())
    asyncio.run = patched


def _table(n):
    """Bytes of a dict's hash table of n entries on a 32-bit port (2 words an entry, the table
    sized to the next prime MicroPython uses), rounded to 16-byte GC blocks."""
    for p in (0, 1, 2, 3, 5, 7, 11, 17, 23, 31, 41, 53, 67, 83, 103, 131, 163, 199, 241, 293, 359,
              431, 521, 631, 761, 919, 1103, 1327, 1597, 1931, 2333, 2801, 3371):
        if p >= n:
            return _blk(8 * p)
    return _blk(8 * n)


def _blk(n):
    return (n + 15) & ~15


def _value(v, seen):
    """(bytes, kind) of one module-level or class-level value that frozen code still builds in
    RAM, each object once (`seen`: ids); constants (str, bytes, int, tuples of constants) stay
    in flash and count 0; so do built-in types (their own class dicts are in the firmware:
    only a user class, whose body sets `__module__`, is built in RAM)."""
    if id(v) in seen:
        return 0, None
    t = type(v)
    tn = t.__name__
    kind = None
    n = 0
    if tn in ("function", "generator", "closure"):
        n, kind = 16, "function"
    elif tn in ("staticmethod", "classmethod"):
        n, kind = 32, "function"
    elif t is type:
        d = getattr(v, "__dict__", None) or {}
        if "__module__" not in d:      # a built-in type imported by name (`from array import
            return 0, None             # array`): frozen, one module dict slot, no object
        n, kind = 80 + 16 + _table(len(d)), "class"
    elif t is dict:
        n, kind = 16 + _table(len(v)), "container"
    elif t is list:
        n, kind = 16 + _blk(4 * len(v)), "container"
    elif t is bytearray:
        n, kind = 16 + _blk(len(v)), "container"
    elif t is set:
        n, kind = 16 + _table(len(v)) // 2, "container"
    if kind:
        seen.add(id(v))
    return n, kind


def residue(prefixes=("faxbridge", "asyncio")):
    """Frozen-equivalent heap of the imported modules (32-bit estimate): prints it and returns
    (bytes, names, functions, classes)."""
    total = names = 0
    count = {"function": 0, "class": 0, "container": 0}
    seen = set()
    for name in sorted(sys.modules):
        if not [1 for p in prefixes if name == p or name.startswith(p + ".")]:
            continue
        d = sys.modules[name].__dict__
        names += len(d)
        total += 16 + 16 + _table(len(d))          # module object, its dict, the table
        todo = list(d.values())
        while todo:
            v = todo.pop()
            n, kind = _value(v, seen)
            total += n
            if kind:
                count[kind] += 1
            if kind == "class":
                todo.extend(v.__dict__.values())
            elif kind == "container" and type(v) in (dict, list):
                todo.extend(v.values() if type(v) is dict else v)
    print("bench: residue %d B, %d names, %d functions, %d classes, %d containers" % (
        total, names, count["function"], count["class"], count["container"]))
    return total
