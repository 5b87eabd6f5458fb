"""The field unit's life as one scenario, for the heap figures (tools/bench/heap.py): what a unit
lives through, each step switchable (BENCH_HEAP_STEPS="demo,telegrams", or "-fax256k" to leave
one out; `heap.py --steps ...`). Every step checks its own outcome; a run fails at the first
step that does not complete, the firmware dying or a MemoryError in its log.

  jobs100   100 finished jobs on flash before boot (jobs.keep_done 100), made once per bench run
            by the unit itself (faxes to a busy number, retries 0) and copied into each run's flash
  demo      the demo of `make run`: a text and a bitmap fax sent, one to a busy number (retried,
            263), the four demo telegrams, a malformed cmd/fax (cmd/error), a fax received
  telegrams 1000 CAFIS telegrams (32 ahead of their verdicts) while a 3-page fax goes out; every
            verdict equal to what the same checker says on CPython, in order
  restarts  the broker restarted twice (SIGTERM, persistent sessions) during those telegrams
  fax256k   a 256 KB cmd/fax (a P4 bitmap page in base64, and a text page) accepted, streamed to flash, dialled
            (a busy number: 263 after its retry)
  reboot    the unit SIGKILLed and started again; a telegram answered after it
"""
import base64
import json
import os
import shutil
import time
import zlib

import _unit
from _unit import Incomplete, Session

STEPS = ("jobs100", "demo", "telegrams", "restarts", "fax256k", "reboot")
N_TELEGRAMS = 1000
N_JOBS = 100
WINDOW = 32                  # telegrams published ahead of their verdicts
BUSY = "5550199"
BIG_FAX = 256 * 1024
PAGE_TEXT = ("faxbridge benchmark, page %d of 3\n\n" +
             "The quick brown fox jumps over the lazy dog. 0123456789 ACME Trading K.K.\n" * 30)
CONFIG = {"jobs": {"keep_done": N_JOBS}}


def steps(spec=None):
    """The steps named by spec (or $BENCH_HEAP_STEPS): "a,b" only those, "-a,-b" all but those."""
    spec = spec if spec is not None else os.environ.get("BENCH_HEAP_STEPS", "")
    names = [n.strip() for n in spec.split(",") if n.strip()]
    bad = [n for n in names if n.lstrip("-") not in STEPS]
    if bad:
        raise SystemExit("unknown scenario step(s) %s (steps: %s)" % (", ".join(bad), ", ".join(STEPS)))
    if names and not names[0].startswith("-"):
        return tuple(n for n in STEPS if n in names)
    return tuple(n for n in STEPS if "-" + n not in names)


def line():
    from modemsim import Line
    return Line(speedup=40.0, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05, result_delay=0.1,
                timeouts=_unit.fast_timeouts())


def pbmz(data):
    c = zlib.compressobj(9, zlib.DEFLATED, 10)
    return {"pbmz": base64.b64encode(c.compress(data) + c.flush()).decode()}


def big_fax(job="big", number=BUSY, size=BIG_FAX):
    """A cmd/fax of just under `size` bytes: one uncompressed bitmap page (P4, base64: the
    common way a large page arrives) as tall as fits, then one short text page."""
    import unitdemo

    def body(rows):
        pbm = unitdemo.blocky_pbm(rows, seed=9)
        pages = [{"pbm": base64.b64encode(pbm).decode()}, {"text": "256 KB cmd/fax, page 2\n"}]
        return json.dumps({"job": job, "number": number, "pages": pages}).encode()
    rows = (size * 3 // 4) // 216          # 1728 pixels = 216 bytes a row, base64 = 4/3
    while len(body(rows)) > size:
        rows -= 1
    return body(rows)


def prepare_jobs(work, n=N_JOBS):
    """A flash folder holding n finished jobs, made by the unit (at a large heap): faxes to a
    busy number with retries 0, 8 in flight. Returns the folder (work/flash-jobs)."""
    out = os.path.join(work, "flash-jobs")
    shutil.rmtree(out, ignore_errors=True)
    ln = line()
    cfg = dict(CONFIG, retries={"count": 0, "delay_s": 0})
    with Session(ln, heap="2M", config=cfg, tag="jobs") as s:
        ln.add_remote(BUSY, faults="busy")
        for i in range(n):
            if i >= 8:
                s.wait_final("j%03d" % (i - 8), 60)
            s.fax("j%03d" % i, BUSY, [{"text": "job %d" % i}])
        for i in range(max(0, n - 8), n):
            s.wait_final("j%03d" % i, 60)
        s.fw.stop()
        shutil.copytree(s.fw.flash, out)
    return out


def _verdicts(s):
    """Verdicts seen, a QoS 1 duplicate (the same seq) counted once."""
    return len(s.verdicts())


def demo(s, caller, work, deadline):
    import unitdemo
    s.fax("text", _unit.REMOTE, [{"text": unitdemo.TEXT}])
    s.fax("bitmap", _unit.REMOTE, [pbmz(unitdemo.pbm_pattern())])
    s.fax("busy", BUSY, [{"text": "x"}])
    n0 = _verdicts(s)
    tels = unitdemo.telegrams()
    for _l, tel, _e in tels:
        s.publish("cmd/telegram", tel)
    s.publish("cmd/fax", b'{"job": "bad", "pages": ')
    s.wait(lambda ms: [m for t, m in ms if t.endswith("/cmd/error")], left(deadline), "cmd/error for bad JSON")
    finals = [s.wait_final(j, left(deadline))["code"] for j in ("text", "bitmap", "busy")]
    if finals != [0, 0, 263]:
        raise Incomplete("demo faxes ended %r, not [0, 0, 263]" % (finals,))
    src = os.path.join(work, "in.pbm")
    with open(src, "wb") as f:
        f.write(unitdemo.blocky_pbm(100, seed=5))
    n_rx = len([1 for t, m in list(s.w.msgs) if t.endswith("/fax/received")])
    caller.send_fax(_unit.UNIT_NUMBER, [src])
    s.wait(lambda ms: len([1 for t, m in ms if t.endswith("/fax/received")]) > n_rx, left(deadline), "fax/received")
    s.wait(lambda ms: _verdicts(s) >= n0 + len(tels), left(deadline), "the demo's verdicts")
    return [t for _l, t, _e in tels]


def telegrams(s, remote, before, restarts, deadline, n=N_TELEGRAMS):
    """n telegrams beside a 3-page fax; `before`: telegrams the unit checked earlier in this
    boot (their route state carries over)."""
    tels = _unit.telegram_mix(n)
    want = _unit.expected_verdicts(before + tels)[len(before):]
    n0 = _verdicts(s)
    s.fax("tx3", _unit.REMOTE, [{"text": "\f".join(PAGE_TEXT % i for i in (1, 2, 3))}])
    at = (n // 3, 2 * n // 3) if restarts else ()
    sent = 0
    while sent < n:
        if at and sent >= at[0]:
            online = s.online_count()
            s.broker.restart()
            if not s.w.connected(10):
                raise Incomplete("the watcher did not reconnect after the broker restart")
            s.wait_online(online, left(deadline), "the unit back online after the broker restart")
            at = at[1:]
        got = _verdicts(s) - n0
        if sent - got < WINDOW:
            s.publish("cmd/telegram", tels[sent])
            sent += 1
            continue
        s.wait(lambda ms, g=got: _verdicts(s) - n0 > g, left(deadline), "verdict %d" % (got + 1))
    s.wait(lambda ms: _verdicts(s) - n0 >= n, left(deadline), "all %d verdicts" % n)
    fin = s.wait_final("tx3", left(deadline))
    if fin.get("code") != 0 or fin.get("pages") != 3:
        raise Incomplete("the 3-page fax ended %r" % (fin,))
    if len(remote.received) < 3:
        raise Incomplete("the remote machine got %d pages" % len(remote.received))
    got = [(v.get("verdict"), v.get("code"), v.get("rule")) for v in s.verdicts()[-n:]]
    if _verdicts(s) - n0 != n:
        raise Incomplete("%d verdicts for %d telegrams" % (_verdicts(s) - n0, n))
    if got != want:
        bad = [i for i in range(n) if got[i] != want[i]]
        raise Incomplete("verdicts differ from the checker on CPython (%d of %d, first at %r)" % (
            len(bad), n, bad[:1]))


def fax256k(s, deadline):
    body = big_fax()
    n_err = len(_errors(s.w.msgs))
    s.w.publish(s.root + "cmd/fax", body)
    fin = s.wait(lambda ms: s.final(ms, "big") or _errors(ms)[n_err:], left(deadline),
                 "the 256 KB fax's final status")
    if isinstance(fin, list):
        raise Incomplete("the %d-byte cmd/fax was refused: %s %s" % (len(body), fin[0].get("reason"),
                                                                     fin[0].get("detail")))
    if fin.get("code") != 263:
        raise Incomplete("the 256 KB fax ended %r, not 263 (busy)" % (fin,))


def _errors(msgs):
    return [m for t, m in list(msgs) if t.endswith("/cmd/error") and isinstance(m, dict) and m.get("cmd") == "fax"]


def reboot(s, hole, deadline):
    s.reboot()
    bound = s.fragment(hole) if hole else None
    n0 = _verdicts(s)
    s.publish("cmd/telegram", _unit.telegram_mix(1)[0])
    s.wait(lambda ms: _verdicts(s) > n0, left(deadline), "a verdict after the reboot")
    return bound


def left(deadline, cap=40.0):
    """Seconds to wait for one thing: what is left of the run, at most `cap` (a step that has
    stalled fails in well under the run's timeout)."""
    return max(1.0, min(cap, deadline - time.monotonic()))


def plugged(log):
    """(bytes plugged, largest free run kept, free heap the unit starts on, heap held before the
    imports, allocatable heap, imported code) from the wrapper's `bench: imported code` and
    `bench: import holes` lines. The imported code is this run's own: each module's `__file__`
    names its path here, longer than under `heap.py --code` (a frozen module's is in flash)."""
    code = None
    for ln in log.splitlines():
        if ln.startswith("bench: imported code "):
            code = int(ln.split()[3])
        elif ln.startswith("bench: import holes ") and code is not None:
            w = ln.split()
            return int(w[3]), int(w[8]), int(w[14]), int(w[19]), int(w[22]), code
    return None


def run(heap, which, jobs_flash=None, hole=None, timeout=150.0, plug=False, budget=None):
    """The scenario once at `-X heapsize=<heap>` under the bench wrapper. hole: fragment the
    free heap into holes of that many bytes once the unit is online (and after the reboot).
    plug: start the unit with the .mpy import holes plugged (BENCH_PLUG, _hook.plug), as on a
    board with frozen code; budget (bytes, with plug): and on that much free heap, whatever the
    heap size (BENCH_BUDGET). Returns (ok, why, seconds, bound): bound is the largest free run
    after fragmenting, or with plug plugged()'s figures, or None."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    ln = line()
    bound = None
    if plug:
        os.environ["BENCH_PLUG"] = "1"
    else:
        os.environ.pop("BENCH_PLUG", None)
    if plug and budget:
        os.environ["BENCH_BUDGET"] = str(budget)
    else:
        os.environ.pop("BENCH_BUDGET", None)
    try:
        with Session(ln, heap=heap, config=CONFIG, tag="heap", wrap=True, persistent="restarts" in which,
                     flash_from=jobs_flash if "jobs100" in which else None) as s:
            try:
                if plug:
                    bound = plugged(s.fw.log())
                remote = ln.add_remote(_unit.REMOTE, out_dir=os.path.join(s.tmp, "remote"))
                caller = ln.add_remote(_unit.CALLER)
                ln.add_remote(BUSY, faults="busy")
                if hole:
                    bound = s.fragment(hole)
                before = demo(s, caller, s.tmp, deadline) if "demo" in which else []
                if "telegrams" in which:
                    telegrams(s, remote, before, "restarts" in which, deadline)
                if "fax256k" in which:
                    fax256k(s, deadline)
                if "reboot" in which:
                    b = reboot(s, hole, deadline)
                    if hole:
                        bound = max(bound or 0, b or 0) or None
                why = s.broken()
                if why:
                    return False, why, time.monotonic() - t0, bound
            finally:
                if os.getenv("BENCH_LOG"):     # the unit's log kept (the hook's `oom` lines: $BENCH_OOM)
                    with open(os.environ["BENCH_LOG"], "w") as f:
                        f.write(s.fw.log())
    except Incomplete as e:
        return False, str(e), time.monotonic() - t0, bound
    except RuntimeError as e:          # did not even come online
        return False, str(e).splitlines()[0][:200], time.monotonic() - t0, bound
    finally:
        os.environ.pop("BENCH_PLUG", None)
        os.environ.pop("BENCH_BUDGET", None)
    return True, "", time.monotonic() - t0, bound
