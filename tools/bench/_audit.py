"""Bench-only: what the unit's working set is made of (tools/bench/memaudit.py). Runs on the
MicroPython unix port inside the bench wrapper when $BENCH_AUDIT is set (_hook.install imports
it, compiled as `benchaudit`). Never on a board; firmware/ has no bench code.

- boot steps: constructors and boot calls wrapped, each printed as the heap it leaves held
  (gc.mem_alloc() after gc.collect(), before and after): `bench: audit boot <step> <bytes>`.
- breakdown (on `<flash>/.bench-audit`, its text a label): every attribute of the unit and of
  its parts detached in turn (set to None wherever one of the parts holds it), the heap that
  frees measured, the attribute put back; nothing else runs meanwhile (one synchronous step of
  the event loop). `bench: audit row <label> <path> <freed B> <bytes-like B 64> <same 32>`.
  What no attribute frees alone (coroutine frames, tasks, streams, objects held twice) is the
  rest: `bench: audit total <label> <live B>`.
- peaks: the live heap sampled every 100 ms (after gc.collect()) per phase (`.bench-phase`,
  from the first phase on); at each new maximum the rows are taken again.
  `bench: audit peak <phase> <live B>`, `bench: audit peakrow ...`.
- transients: a few synchronous entry points run with the collector off, the bytes allocated
  meanwhile (kept or garbage) are an upper bound of what the call needs at once:
  `bench: audit transient <phase> <call> <max B> <calls>`.
- beyond the attributes: at each label the modules loaded since the baseline, the qstr pool
  and the GC block map (_heap); on `<flash>/.bench-peek` (addresses from two maps, memaudit.py)
  the objects there named by their type, text or items (peek; uctypes, this port only).
"""
import gc
import os
import sys

import benchauditmodel as M  # _auditmodel.py: object sizes, the walk (compiled beside this module)

unit = None
phase = "boot"
_peak = {}        # phase -> (live, rows)
_trans = {}       # (phase, call) -> [max, calls]
_depth = [0]
_mods0 = []       # sys.modules when the baseline was taken


def live():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def _say(*a):
    print("bench: audit", *a)


def _step(label, fn):
    def w(*a, **k):
        a0 = live()
        r = fn(*a, **k)
        _say("boot", label, live() - a0)
        return r
    return w


def _args(*a, **k):
    return None


def _entry_cost():
    """What calling a hook (w(*a, **k)) allocates before its body runs, by the number of
    positional arguments: the *a tuple and the **k dict (measured, collector off)."""
    out = []
    gc.collect()
    gc.disable()
    for n in range(9):
        a = tuple(range(n))
        a0 = gc.mem_alloc()
        _args(*a)
        out.append(gc.mem_alloc() - a0)
    gc.enable()
    return out


_entry = _entry_cost()
_hooks = [0]      # what the hooks themselves allocated inside the outermost hooked call


def _transient(label, fn):
    """The call's allocation total, kept + garbage, collector off from the outermost hooked
    call. What hooks nested in it allocate for themselves (their arguments' tuple and dict,
    their record) is not the call's: it is taken off (160 B a nested hooked call on 64 bits,
    counted into the outer totals before)."""
    def w(*a, **k):
        if not _depth[0]:
            gc.collect()
            gc.disable()
            _hooks[0] = 0
        _depth[0] += 1
        h0 = _hooks[0]
        a0 = gc.mem_alloc()
        try:
            return fn(*a, **k)
        finally:
            a1 = gc.mem_alloc()
            n = a1 - a0 - (_hooks[0] - h0)
            _depth[0] -= 1
            t = _trans.setdefault((phase, label), [0, 0])
            t[1] += 1
            if n > t[0]:
                t[0] = n
            if _depth[0]:
                _hooks[0] += gc.mem_alloc() - a1 + _entry[min(len(a), 8)]
            else:
                gc.enable()
    return w


def install():
    """Wrap the boot steps (the modules are imported: the wrapper imported them all)."""
    from faxbridge.app import config, link, outbox_store, seen, spool
    from faxbridge.app import deepcheck, faxline, rx
    from faxbridge.app import unit as um
    from faxbridge.core.cafis import checks
    from faxbridge.core.fax import class2
    from faxbridge.core.mqtt import outbox, session
    from faxbridge.ports.unix import port
    link_cls = link.Link
    for name in ("_handle", "_pump"):
        setattr(link.Link, name, _transient("Link." + name, getattr(link.Link, name)))
    from faxbridge.core.mqtt import discovery
    discovery.announce = _transient("discovery.announce", discovery.announce)
    from faxbridge.app import echo
    echo.check = _transient("echo.check", echo.check)
    from faxbridge.app import inbox
    for name in ("on_publish_start", "on_publish_chunk", "on_publish_end"):
        f = getattr(inbox.Inbox, name, None)
        if f is not None:
            setattr(inbox.Inbox, name, _transient("Inbox." + name, f))
    from faxbridge.app import jobs as appjobs
    from faxbridge.app import store as appstore
    from faxbridge.core.fax import job as cjob
    from faxbridge.app import pages
    from faxbridge.core.fax.job import Jobs as CJobs
    from faxbridge.core.mqtt import contract, faxcmd
    for cls, names, pre in ((checks.Checker, ("check", "report"), "Checker."),
                            (CJobs, ("submit", "end_call", "progress", "start_call", "next_due"), "Jobs."),
                            (appjobs.JobStore, ("save",), "JobStore."),
                            (outbox_store.FileStore, ("append", "fetch", "ack"), "FileStore."),
                            (link.Link, ("event", "telemetry"), "Link."),
                            (um.Unit, ("_emit_status", "save_state"), "Unit."),
                            (faxline.FaxLine, ("rx_sink", "open_page", "events"), "FaxLine."),
                            (faxcmd.Parser, ("feed", "end"), "faxcmd.Parser."),
                            (class2.Class2, ("feed", "poll", "events", "next_output"), "Class2.")):
        for name in names:
            f = getattr(cls, name, None)
            if f is not None:
                setattr(cls, name, _transient(pre + name, f))
    pages.count = _transient("pages.count", pages.count)
    for name in ("cafis_verdict", "fax_status"):
        setattr(contract, name, _transient("contract." + name, getattr(contract, name)))
    init = um.Unit.__init__

    def unit_init(self, *a):
        global unit
        unit = self
        init(self, *a)
    um.Unit.__init__ = _step("Unit.__init__ (total)", unit_init)
    config.load = _step("config.load (main)", config.load)
    deepcheck.deep_check = _step("deep_check (main)", deepcheck.deep_check)
    rx.publish = _transient("rx.publish", rx.publish)
    port.Port.__init__ = _step("Port.__init__", port.Port.__init__)
    for name in ("open_modem", "watchdog", "open_telegram"):
        setattr(port.Port, name, _step("Port." + name, getattr(port.Port, name)))
    from faxbridge.app import clock
    from faxbridge.core.fax import quota
    # unit.py imports these where the Unit is built: hooked in their own modules
    for mod, name in ((quota, "Quota"), (clock, "Monotonic"), (appjobs, "JobStore"), (cjob, "Jobs"),
                      (appstore, "load_json")):
        setattr(mod, name, _step(name, getattr(mod, name)))
    deepcheck.load_registry = _step("load_registry", deepcheck.load_registry)
    config.driver = _step("config.driver", config.driver)
    faxline.FaxLine.__init__ = _step("FaxLine (total)", faxline.FaxLine.__init__)
    um.Unit._link = _step("Unit._link (total)", um.Unit._link)
    for mod, name in ((link, "Link"), (link, "Inbox"), (outbox_store, "FileStore"), (seen, "Seen"),
                      (spool, "Spool"), (session, "Session"), (outbox, "Outbox"), (checks, "Checker"),
                      (class2, "Class2")):
        setattr(mod, name, _step(name, getattr(mod, name)))
    from faxbridge.core.fax import jobboot     # Unit.run imports recover from it when it calls it
    jobboot.recover = _step("jobboot.recover", jobboot.recover)
    um.Unit.telegram = _transient("Unit.telegram", um.Unit.telegram)
    um.Unit._on_command = _transient("Unit._on_command", um.Unit._on_command)
    # coroutine frames: calling an async function allocates its whole frame (the generator and
    # its state), so the heap a call leaves held is the frame; create_task adds the task
    for cls, names, pre in ((um.Unit, ("run", "_periodic", "_telegram_line"), "frame Unit."),
                            (faxline.FaxLine, ("run", "reader"), "frame FaxLine."),
                            (link_cls, ("run", "_reader", "_ticker", "_drive", "_flush"), "frame Link.")):
        for name in names:
            f = getattr(cls, name, None)
            if f is not None:
                setattr(cls, name, _step(pre + name, f))
    import asyncio
    asyncio.create_task = _step("asyncio.create_task (a Task)", asyncio.create_task)
    _mods0.extend(sys.modules)
    _say("boot imports", live())    # the baseline: imports, the bench hooks and these wrappers
    _heap("imports")


def _heap(label):
    """What no attribute walk sees: the modules loaded since the baseline (asyncio loads its
    submodules on first use), the qstr pool (names interned at run time, never freed) and
    the GC's block map (micropython.mem_info(1): one letter per 32-byte block, a head per
    object: T tuple, L list, D dict, S str/bytes, A bytearray/array, F float, B function
    bytecode, M module, h any other object, = a tail block). memaudit.report parses them."""
    import micropython
    new = [m for m in sys.modules if m not in _mods0]
    _say("newmods", label, ",".join(sorted(new)) or "-")
    _say("qstr", label)
    micropython.qstr_info()
    live()
    _say("heapmap", label)
    micropython.mem_info(1)
    _say("heapmap-end", label)


def peek(lines):
    """For each `address blocks letter` line: what the object there is (its type, by its first
    word) and its first bytes, printable; a str/bytes object's text through its data pointer.
    `bench: audit peek <address> <blocks> <letter> <type> <text>` (memaudit.py names the
    objects that came to be held after the first activity this way)."""
    import struct
    import uctypes
    types = M.type_names()
    skip = set()
    if lines and lines[0] == "attrs":     # leave out what an attribute or a module holds
        M.ext.clear()
        for name in sys.modules:
            M.walk(sys.modules[name].__dict__, skip, [0, 0, 0])
        for _p, o in _parts():
            M.walk(o, skip, [0, 0, 0])
        M.walk(_peak, skip, [0, 0, 0])
        M.walk(_trans, skip, [0, 0, 0])
        M.storage(skip, types)
        skip.update(k[1] for k in M.ext)   # the data blocks views and buffers point to
    for ln in lines:
        f = ln.split()
        if len(f) < 3:
            continue
        a, n, ch = int(f[0], 16), int(f[1]), f[2]
        if a in skip:
            continue
        raw = bytes(uctypes.bytearray_at(a, min(64, 32 * n)))
        w = struct.unpack("4Q", raw[:32])
        tn = types.get(w[0], "?")
        if ch == "S" and w[2] < 4096 and w[3]:
            txt = M.printable(bytes(uctypes.bytearray_at(w[3], min(w[2], 60))))
        elif ch == "T" and w[1] < 64:       # a tuple: what its items are
            its = struct.unpack("%dQ" % min(w[1], 6), bytes(uctypes.bytearray_at(a + 16, 8 * min(w[1], 6))))
            txt = "(" + ",".join(M.item(x, types) for x in its) + ")"
        else:
            txt = M.printable(raw)
        _say("peek", f[0], n, ch, tn, txt)


def _parts():
    """(path, object) of the unit and the parts whose attributes are taken one by one."""
    u = unit
    out = [("unit", u), ("port", u.port), ("jobs", u.jobs), ("link", u.link), ("fax", u.fax),
           ("modem", u.fax.driver),
           ("checker", u.checker)]
    lk = u.link
    if lk is not None:
        ib = getattr(lk, "inbox", None)   # the receiving side: the link itself since it is its base class
        out += [("link.session", lk.session), ("link.inbox", ib), ("link.outbox", lk.outbox)]
        ob = lk.outbox
        out.append(("link.outbox.store", getattr(ob, "store", None)))
        p = "link.inbox" if ib is not None else "link"
        ib = ib or lk
        out += [(p + ".seen", getattr(ib, "seen", None)), (p + ".spool", getattr(ib, "spool", None))]
    return [(p, o) for p, o in out if o is not None and M.attrs(o) is not None]


def breakdown(label, top=None):
    """Rows (64-bit B, path, bytes-like B, 32-bit B) of the parts' attributes, each object
    counted once, in the first row reaching it; a part's own object and member table as a
    row of its own. A model of the object layouts, not a measurement: `total` is measured."""
    total = live()                  # before the walk's own set is built
    parts = _parts()
    seen = set()
    M.ext.clear()
    book = [0, 0, 0]
    M.walk(_trans, seen, book)       # this module's own records: not the unit's
    M.walk(_peak, seen, book)
    mods = []
    for name in sys.modules:        # objects the imports built belong to the imported code
        if name.startswith("faxbridge") or name.startswith("asyncio"):
            acc = [0, 0, 0]
            M.walk(sys.modules[name].__dict__, seen, acc)
            mods.append((name, acc[0], len(sys.modules[name].__dict__)))
    for _p, o in parts:
        seen.add(id(o))
    rows = []
    for path, o in parts:
        d = M.attrs(o)
        rows.append((M.size(o, 8)[0], path + "(object)", 0, M.size(o, 4)[0]))
        for k in sorted(d):
            acc = [0, 0, 0]
            M.walk(d[k], seen, acc)
            if acc[0] >= 64:
                rows.append((acc[0], path + "." + k, acc[1], acc[2]))
    rows.sort()
    rows.reverse()
    if top is None:
        for n, p, b64, b32 in rows:
            _say("row", label, p, n, b64, b32)
        for name, n, k in mods:     # what grows here after boot is a cache or a lazy table
            _say("mod", label, name, n, k)
        _say("modules", label, len(sys.modules))
        _say("total", label, total, book[0])
    return total, rows[:top] if top else rows


def _flash():
    a = sys.argv
    for i in range(len(a) - 1):
        if a[i] == "--flash":
            return a[i + 1] + "/"
    return "flash/"


def _read(path):
    try:
        with open(path) as f:
            t = f.read().strip()
        os.remove(path)
        return t
    except OSError:
        return None


def _flush_phase(name):
    p = _peak.pop(name, None)
    if p:
        _say("peak", name, p[0])
        for n, path, b64, b32 in p[1]:
            _say("peakrow", name, path, n, b64, b32)
    for key in sorted(_trans):
        if key[0] == name:
            m, c = _trans.pop(key)
            _say("transient", name, key[1], m, c)


async def watch():
    import asyncio
    global phase
    fl = _flash()
    while True:
        await asyncio.sleep_ms(100)
        t = _read(fl + ".bench-phase")
        if t is not None:
            _flush_phase(phase)
            phase = t
        t = _read(fl + ".bench-peek")
        if t is not None:
            peek(t.splitlines())
            _say("peek-end")
            continue
        t = _read(fl + ".bench-audit")
        if t is not None and unit is not None:
            _flush_phase(phase)
            breakdown(t)
            _heap(t)                # after the walk: its own set and rows are garbage now
            _say("end", t)
            continue
        if unit is None or unit.link is None or phase == "boot":
            continue                # boot: the idle breakdown comes first, undisturbed
        n = live()
        p = _peak.get(phase)
        if p is None or n > p[0] + 2048:
            _peak[phase] = breakdown(phase, 60)
        elif n > p[0]:
            _peak[phase] = (n, p[1])
        p = None    # a frame keeps what its dead locals held: this one held a peak's 60 rows
