"""What the unit's working set is made of (docs/bench.md, "What the working set is made of"): the
field scenario (_scenario.py) once, at a roomy heap, under the bench wrapper with the audit hook
(_audit.py, $BENCH_AUDIT): the heap each boot step leaves held, a breakdown of the idle unit by
attribute (the heap that detaching each frees), the live-heap peak of each scenario step with
its breakdown, and the most a synchronous call allocated at once. Totals are measured
(gc.mem_alloc() after gc.collect()); the rows are a model of MicroPython's object layouts,
64-bit and 32-bit (_auditmodel.size).

    .venv/bin/python tools/bench/memaudit.py [--no-jobs] [--demo-only] [--heap 1500K]
    .venv/bin/python tools/bench/memaudit.py --report build/memaudit.log     the report again
"""
import os
import sys
import time

import _path  # noqa: E402,F401  (tools/hostpath.py: the one place sys.path is set)
import _scenario  # noqa: E402
import _unit  # noqa: E402
from _unit import Session  # noqa: E402


def _mark(s, name, text):
    with open(os.path.join(s.fw.flash, name), "w") as f:
        f.write(text)


def audit(s, label, timeout=30.0):
    start = len(s.fw.log())
    _mark(s, ".bench-audit", label)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if "bench: audit end %s\n" % label in s.fw.log()[start:]:
            return
        time.sleep(0.1)
    raise _unit.Incomplete("no audit %s: %s" % (label, _unit.tail(s.fw.log(), 400)))


def phase(s, name):
    _mark(s, ".bench-phase", name)
    time.sleep(0.3)


def est32(n, b64, b32):
    return b32          # _audit.breakdown's 32-bit model (words of 4 bytes, blocks of 16)


_JOBS = "jobs: Jobs, JobStore, open records, finished seqs"
GROUPS = (("link", "MQTT link: Link, Session, Inbox, Outbox, FileStore, Seen, Spool"),
          ("checker", "CAFIS: registry and checker"),
          ("unit.cfg", "configuration kept after boot"), ("modem.cfg", "configuration kept after boot"),
          ("modem", "Class 2 driver"), ("fax", "Class 2 driver"),
          ("jobs", _JOBS), ("port", "port object"),
          ("unit", "Unit object, state, counters"))


def group(path):
    for pre, name in GROUPS:
        if path.startswith(pre):
            return name
    return path


def groups(r):
    g = {}
    for path, n, b64, b32 in r:
        x = g.setdefault(group(path), [0, 0, 0])
        x[0] += n
        x[1] += b64
        x[2] += b32
    return sorted(((v[0], k, v[1], v[2]) for k, v in g.items()), reverse=True)


def census(lines):
    """{letter: [objects, bytes]} of one micropython.mem_info(1) block map (64-bit: 32-byte
    blocks); an object is its head letter and the `=` tail blocks after it."""
    out = {}
    cur = None
    for ln in lines:
        if ": " not in ln or ln.startswith(("GC", "mem", "stack", " No.")):
            continue
        for ch in ln.split(": ", 1)[1].rstrip():
            if ch == "=":
                if cur is not None:
                    cur[1] += 32
            elif ch == ".":
                cur = None
            else:
                cur = out.setdefault(ch, [0, 0])
                cur[0] += 1
                cur[1] += 32
    return out


_LETTER = {"T": "tuple", "L": "list", "D": "dict", "S": "str/bytes", "A": "bytearray/array",
           "F": "float", "B": "function bytecode", "M": "module", "h": "other objects"}


def heads(lines):
    """{address: (blocks, letter)} of the objects in one block map."""
    base = None
    out = {}
    cur = None
    for ln in lines:
        if ln.startswith("GC memory layout; from "):
            base = int(ln.split()[-1].rstrip(":"), 16)
            continue
        if base is None or ": " not in ln:
            continue
        off, row = ln.split(": ", 1)
        a = base + int(off, 16)
        for i, ch in enumerate(row.rstrip()):
            if ch == "=":
                if cur is not None:
                    out[cur] = (out[cur][0] + 1, out[cur][1])
            elif ch == ".":
                cur = None
            else:
                cur = a + 32 * i
                out[cur] = (1, ch)
    return out


def _maps(log):
    """{label: lines} of the block maps in the log (`bench: audit heapmap <label>` .. `-end`)."""
    maps = {}
    label = None
    for ln in log.splitlines():
        if ln.startswith("bench: audit heapmap-end "):
            label = None
        elif ln.startswith("bench: audit heapmap "):
            label = ln.split()[3]
            maps[label] = []
        elif label is not None:
            maps[label].append(ln)
    return maps


def new_objects(log, before, after):
    """`address blocks letter` of the objects in the `after` block map that were not in the
    `before` one (same address, size and kind): what came to be held between the two."""
    maps = _maps(log)
    b = heads(maps[before])
    a = heads(maps[after])
    return ["%x %d %s" % (k, v[0], v[1]) for k, v in sorted(a.items()) if b.get(k) != v]


def heap_report(log):
    """The modules loaded, the qstr pool and the block map census at each audit label, each
    against the baseline taken when main.py starts (`imports`)."""
    maps = _maps(log)
    qs, mods = {}, {}
    qlabel = None
    for ln in log.splitlines():     # a block map's rows start with an address, never with these
        if ln.startswith("bench: audit qstr "):
            qlabel = ln.split()[3]
        elif ln.startswith("qstr pool:") and qlabel:
            f = dict(kv.split("=") for kv in ln[len("qstr pool:"):].replace(",", " ").split())
            qs[qlabel] = (int(f["n_qstr"]), int(f["n_total_bytes"]))
            qlabel = None
        elif ln.startswith("bench: audit newmods "):
            mods[ln.split()[3]] = ln.split()[4]
    if "imports" not in maps:
        return
    base = census(maps["imports"])
    q0 = qs.get("imports", (0, 0))
    print("\nbeyond the attributes, against the baseline when main.py starts (64-bit B):")
    for label in maps:
        if label == "imports":
            continue
        q = qs.get(label, q0)
        print("  %-16s modules loaded since: %s" % (label, mods.get(label, "?")))
        print("  %-16s qstr pool +%d names, +%d B" % ("", q[0] - q0[0], q[1] - q0[1]))
        c = census(maps[label])
        for ch in sorted(c, key=lambda k: base.get(k, [0, 0])[1] - c[k][1]):
            d = c[ch][1] - base.get(ch, [0, 0])[1]
            if abs(d) >= 256:
                print("  %-16s %-18s %+7d B in %+d objects" % ("", _LETTER.get(ch, ch), d,
                                                             c[ch][0] - base.get(ch, [0, 0])[0]))


def peek_report(log):
    """The objects `--demo-only` had the audit name (`bench: audit peek` lines: held since the
    baseline, then since idle, in no attribute of the unit's parts nor of a module): the
    containers and strings one a line, by kind and size, the rest counted by type."""
    blocks = [[]]
    for ln in log.splitlines():
        if ln.startswith("bench: audit peek-end"):
            blocks.append([])
        elif ln.startswith("bench: audit peek "):
            f = ln.split(" ", 7)
            blocks[-1].append((f[5], int(f[4]), f[6], f[7] if len(f) > 7 else ""))
    for title, objs in zip(("idle, since main.py started", "after-demo, since idle"), blocks):
        if not objs:
            continue
        print("\nheld beyond the attributes, named (%s; 64-bit B, 32-byte blocks):" % title)
        other = {}
        for ch, n, tn, txt in sorted(objs, key=lambda o: (o[0], -o[1], o[2], o[3])):
            if ch in "TLDSAF":
                print("  %-18s %5d  %-22s %s" % (_LETTER.get(ch, ch), 32 * n, tn, txt[:70]))
            else:
                x = other.setdefault(tn, [0, 0])
                x[0] += 1
                x[1] += 32 * n
        for tn in sorted(other, key=lambda k: -other[k][1]):
            print("  %-18s %5d  %-22s %d objects" % ("other", other[tn][1], tn, other[tn][0]))


def report(log, code):
    boot = []
    rows = {}
    totals = {}
    peaks = []
    trans = []
    mods = {}
    nmods = {}
    for ln in log.splitlines():
        if not ln.startswith("bench: audit "):
            continue
        f = ln.split()
        kind = f[2]
        if kind == "boot" and f[3] == "imports":
            code = int(f[4])        # live heap when main starts: imports, the hooks, the wrapper
        elif kind == "boot":
            boot.append((" ".join(f[3:-1]), int(f[-1])))
        elif kind == "row":
            rows.setdefault(f[3], []).append((f[4], int(f[5]), int(f[6]), int(f[7])))
        elif kind == "total":
            totals[f[3]] = int(f[4]) - int(f[5])     # less the audit's own records
        elif kind == "peak":
            peaks.append((f[3], int(f[4])))
        elif kind == "peakrow":
            rows.setdefault("peak:" + f[3], []).append((f[4], int(f[5]), int(f[6]), int(f[7])))
        elif kind == "mod":
            mods.setdefault(f[3], {})[f[4]] = (int(f[5]), int(f[6]))
        elif kind == "modules":
            nmods[f[3]] = int(f[4])
        elif kind == "transient":
            trans.append((f[3], f[4], int(f[5]), int(f[6])))
    print("live heap when main.py starts (imports + bench hooks) %d B" % code)
    print("\nboot steps and coroutine frames (heap left held, 64-bit B; first value, times called):")
    seen = {}
    for name, n in boot:
        if name in seen:
            seen[name][1] += 1
        else:
            seen[name] = [n, 1]
            print("  %-40s %7d" % (name, n))
    for name in seen:
        if seen[name][1] > 1:
            print("  %-40s called %d times" % (name, seen[name][1]))
    for label in sorted(totals):
        t = totals[label]
        r = rows.get(label, [])
        s64 = sum(x[1] for x in r)
        s32 = sum(est32(*x[1:]) for x in r)
        print("\n%s: live %d B, beyond the imported code %d B; rows %d B (32-bit est %d B); rest %d B"
              % (label, t, t - code, s64, s32, t - code - s64))
        for n, name, b64, b32 in groups(r):
            print("  = %-60s %7d  bytes-like %7d  32-bit est %7d" % (name, n, b64, b32))
        for path, n, b64, b32 in r:
            if n >= 256:
                print("  %-36s %7d  bytes-like %7d  32-bit est %7d" % (path, n, b64, est32(n, b64, b32)))
    base = mods.get("idle", {})
    print("\nmodule-level objects grown since idle (caches, lazy tables; modules loaded: %s):" % nmods)
    for label in sorted(mods):
        for name in sorted(mods[label]):
            n, k = mods[label][name]
            n0, k0 = base.get(name, (0, 0))
            if n - n0 >= 128 or k != k0:
                print("  %-16s %-40s %7d B (idle %d), %d names (idle %d)" % (label, name, n, n0, k, k0))
    idle = dict((r[0], r[1]) for r in rows.get("idle", []))
    print("\npeaks of the live heap (sampled every 100 ms, after gc.collect), rows grown over idle:")
    for name, n in peaks:
        print("  %-12s %7d B, beyond the imported code %d B, %+d B over idle" % (
            name, n, n - code, n - totals.get("idle", n)))
        for path, m, b64, b32 in rows.get("peak:" + name, []):
            if m - idle.get(path, 0) >= 256:
                print("      %-34s %7d (idle %d)  32-bit est %7d" % (path, m, idle.get(path, 0), est32(m, b64, b32)))
    print("\nlargest allocation total in one synchronous call (collector off; kept + garbage):")
    for ph, call, m, c in trans:
        print("  %-12s %-24s %7d B over %d calls" % (ph, call, m, c))
    heap_report(log)
    peek_report(log)


def main(argv):
    known = ("--no-jobs", "--demo-only", "--heap", "--report")
    if "-h" in argv or "--help" in argv or any(a.startswith("-") and a not in known for a in argv[1:]):
        print(__doc__.strip())
        return 0 if ("-h" in argv or "--help" in argv) else 2
    if "--report" in argv:
        with open(argv[argv.index("--report") + 1]) as f:
            report(f.read(), 0)
        return 0
    heap = argv[argv.index("--heap") + 1] if "--heap" in argv else "1500K"
    import tempfile
    import _wrap
    code = _wrap.code_heap()[0]
    work = tempfile.mkdtemp(prefix="bench-audit-")
    jobs = None if "--no-jobs" in argv else _scenario.prepare_jobs(work)
    os.environ["BENCH_AUDIT"] = "1"
    ln = _scenario.line()
    deadline = time.monotonic() + 400
    with Session(ln, heap=heap, config=_scenario.CONFIG, tag="audit", wrap=True, persistent=True,
                 flash_from=jobs) as s:
        remote = ln.add_remote(_unit.REMOTE, out_dir=os.path.join(s.tmp, "remote"))
        caller = ln.add_remote(_unit.CALLER)
        ln.add_remote(_scenario.BUSY, faults="busy")
        time.sleep(3)
        audit(s, "idle")
        if "--demo-only" in argv:
            _peek(s, ["attrs"] + new_objects(s.fw.log(), "imports", "idle"))
        phase(s, "demo")
        before = _scenario.demo(s, caller, s.tmp, deadline)
        time.sleep(1)
        audit(s, "after-demo")
        if "--demo-only" in argv:
            _peek(s, ["attrs"] + new_objects(s.fw.log(), "idle", "after-demo"))
            return _end(s, code)
        phase(s, "telegrams")
        _scenario.telegrams(s, remote, before, True, deadline)
        time.sleep(1)
        audit(s, "after-telegrams")
        phase(s, "fax256k")
        _scenario.fax256k(s, deadline)
        time.sleep(1)
        audit(s, "after-fax256k")
        return _end(s, code)


def _peek(s, lines):
    """Have the audit name the objects at these addresses (`bench: audit peek` lines)."""
    start = len(s.fw.log())
    _mark(s, ".bench-peek", "\n".join(lines))
    end = time.monotonic() + 60
    while "bench: audit peek-end" not in s.fw.log()[start:] and time.monotonic() < end:
        time.sleep(0.2)


def _end(s, code):
    why = s.broken()
    log = s.fw.log()
    if why:
        print("the scenario broke: %s" % why)
    out = os.path.join(_unit.ROOT, "build", "memaudit.log")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(log)
    print("firmware log in %s (again: memaudit.py --report %s)" % (os.path.relpath(out, _unit.ROOT),
                                                                   os.path.relpath(out, _unit.ROOT)))
    report(log, code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
