"""The 32-bit probe (tools/bench/w32.py): the unit's imports, its boot objects and the
widened scenario (w32.py's docstring) as a plan of small steps, run on MicroPython's
webassembly port (wasm32) and, for comparison, on the 64-bit unix port, on the same files. Not
a benchmark itself.

The webassembly port collects only between calls from JavaScript (gc.collect() inside a call is
deferred; with no room the heap grows instead), so its runner (run.mjs, _w32port.py) calls
step(i) for each step of the plan, then collects, then held(i). Here the plan and its cursor; the
steps in w32unit (_w32unit.py: the boot, the broker, telegrams, jobs, reboot) and w32fax
(_w32fax.py), compiled beside this module (_w32port.PROBE). The unix port runs main(): the same
steps and prints. Reads w32.json in the current folder: {"phase": "code" | "scenario" |
"plug" | "running" (the boot, then _running), "mods": [...], "flash": "<dir>/", "telegrams": n} (optional: "tx_passes",
"rx_passes", "jobs"). A step is one call the unit makes in one go (docs/bench.md, "Step
granularity"); the broker takes steps of its own between the plan's (_ack, _broker), so the
plan is walked by a cursor and each step names the next: `w32: plan <i> <label>` (step 0's by
plan(), then each step's after its `w32: top <i> <bytes>`: gc.mem_alloc() as the step ends,
garbage included), `w32: steps <n>` after the last; `w32: held <i> <bytes>` (after the
collection), `w32: size <i> <bytes>` (allocated + free: it changes when the heap grows);
`w32: done` at the end on the unix port (the runner prints it on the webassembly port).
"""
import gc
import sys

# before the baseline, on both ports: what the webassembly port lacks (stand-ins from w32.py's
# w32stub/, copied beside the modules on that port), so that both ports count the same modules
if sys.platform == "webassembly":
    import asyncio
    import w32stream
    sys.modules["asyncio.stream"] = w32stream
    asyncio.stream = w32stream
import socket  # noqa: E402,F401
import asyncio.stream  # noqa: E402,F401
import w32unit as W  # noqa: E402  (_w32unit.py: w32.json, the unit's steps, the broker, the cursor)
import w32fax as F  # noqa: E402  (_w32fax.py: the cmd/fax, the fax sent and received)


def _import(m):
    try:
        __import__(m)
    except (ImportError, SyntaxError) as e:     # native code, asyncio.stream: not on every port
        print("w32: cannot import %s: %s" % (m, e))


def _plan():
    """[(label, fn, arg, count)]: a step of count > 1 is run count times with arg 0, 1, ...
    (arg None) or arg; a tuple of labels names the runs in turn. Between any two steps the
    broker may take steps of its own (_ack, _broker): the plan is walked by a cursor (_S)."""
    p = [("start", W._nothing, 0, 1)]
    p += [("import " + m, _import, m, 1) for m in W.CFG["mods"]]
    p.append(("code", W._nothing, 0, 1))
    if W.CFG["phase"] == "code":
        return p
    p.append(("helpers", W._nothing, 0, 1))
    if W.CFG["phase"] == "plug":
        p.append(("plug", W._plug, 0, 1))
    p += [
          ("live config.load", W._config, 0, 1), ("live registry (deep_check)", W._registry, 0, 1),
          ("live Unit.__init__: state, Class 2 driver, jobs", W._unit, 0, 1),
          ("live MQTT link: session, outbox over flash, seen, spool", W._link, 0, 1),
          ("live CAFIS checker", W._checker, 0, 1), ("live config.slim", W._slim, 0, 1),
          ("live jobs.recover", W._recover, 0, 1),
          ("idle", W._nothing, 0, 1)]
    if W.CFG["phase"] == "running":
        return p + [("running: frames and tasks", W._running, 0, 1),
                    ("running: connection and line streams (unix port)", W._streams, 0, 1), ("end", W._nothing, 0, 1)]
    p += [("link up", W._link_up, 0, 1), ("telegrams opened", W._tels, 0, 1),
          ("telegram", W._telegram, None, W.CFG.get("telegrams", 1000)),
          ("telegrams closed", W._tels_closed, 0, 1), ("verdicts acknowledged", W._verdicts, 0, 1),
          ("cmd/fax opened", F._cmd_open, 0, 1), ("cmd/fax read", F._cmd_read, 0, F._reads()),
          ("cmd/fax accepted", F._cmd_accepted, 0, 1), ("cmd/fax answered", F._cmd_answered, 0, 1),
          ("fax line start", F._line_start, 0, 1), ("modem pass, sending", F._modem, 0, W.CFG.get("tx_passes", 2000)),
          ("fax call over", F._call_over, 0, 1), ("fax sent", F._sent, 0, 1), ("fax rx ring", F._ring, 0, 1),
          ("modem pass, receiving", F._modem, 0, W.CFG.get("rx_passes", 2000)),
          ("fax page in", F._page_in, 0, 1), ("fax received", F._received, 0, 1),
          (W._JOB, W._job, None, 4 * W.CFG.get("jobs", 100)), ("reboot: the unit dropped", W._drop, 0, 1),
          ("reboot config.load", W._config, 0, 1), ("reboot registry (deep_check)", W._registry, 0, 1),
          ("reboot Unit.__init__", W._unit, 0, 1), ("reboot MQTT link", W._link, 0, 1),
          ("reboot CAFIS checker", W._checker, 0, 1), ("reboot config.slim", W._slim, 0, 1),
          ("reboot jobs.recover", W._recover, 0, 1), ("reboot idle", W._nothing, 0, 1),
          ("reboot: link up", W._link_up, 0, 1), ("reboot: a telegram", W._after, 0, 1),
          ("reboot: a telegram answered", W._answered, 0, 1), ("end", W._nothing, 0, 1)]
    return [e for e in p if e[3]]


PLAN = _plan()


def _label():
    """The name of the step that runs next (None: the plan is over)."""
    s = W._S
    if s[2] >= 0:
        return W._BROKER[4 if s[2] == 2 and not W.U["unit"].link._c.pids else s[2]]
    if s[0] == len(PLAN):
        return None
    label = PLAN[s[0]][0]
    return label[s[1] % len(label)] if type(label) is tuple else label


def plan():
    """Start the plan: prints the first step's name (each step prints the next one's)."""
    W._S[:] = [0, 0, -1, 0, 0]
    print("w32: plan", 0, _label())


def step(i, a=None):
    """Step i: the broker's next call while it has work, else the plan's next step; then
    `w32: top`, and the next step's name, or `w32: steps` when none is left. No print here
    allocates (a formatted string would be counted in the next step)."""
    s = W._S
    if s[2] >= 0:
        W._broker()
    else:
        _label_, fn, arg, n = PLAN[s[0]]
        done = fn(s[1] if arg is None else arg if a is None else a) is True
        s[1] += 1
        if s[1] == n or done:       # a step that says it is done ends its repetitions
            s[0] += 1
            s[1] = 0
    print("w32: top", i, gc.mem_alloc())
    gc.collect()        # on the webassembly port: done when this call returns to JavaScript
    nxt = _label()
    if nxt is None:
        print("w32: steps", i + 1)
    else:
        print("w32: plan", i + 1, nxt)


def held(i):
    print("w32: held", i, gc.mem_alloc())
    print("w32: size", i, gc.mem_alloc() + gc.mem_free())   # grows with the heap


def main():
    """The unix port: the runner's loop in one call (its collector runs inside a call)."""
    plan()
    gc.collect()
    held(-1)
    i = 0
    while _label() is not None:
        step(i)
        gc.collect()
        held(i)
        i += 1
    print("w32: done")


if sys.platform != "webassembly":
    main()
