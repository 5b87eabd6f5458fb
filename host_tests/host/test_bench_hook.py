"""The bench's proof of the largest allocation after boot (tools/bench/_hook.py, docs/bench.md):
once the free heap is fragmented into 2 KB holes, MicroPython reports no free run above 2 KB and
an allocation above it fails however much heap is free, while smaller ones still succeed."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")

SCRIPT = """import gc
import benchhook_src as h
keep = [bytearray(100) for _ in range(50)]
h.fragment(2048)
gc.collect()
print("FREE", gc.mem_free())
for n in (1500, 1900, 3000, 8000):
    try:
        b = bytearray(n)
        print("ALLOC", n, "ok")
        del b
    except MemoryError:
        print("ALLOC", n, "fails")
"""


def test_fragmented_heap_has_no_free_run_above_the_hole(tmp_path):
    (tmp_path / "benchhook_src.py").write_text(open(os.path.join(ROOT, "tools", "bench", "_hook.py")).read())
    (tmp_path / "t.py").write_text(SCRIPT)
    r = subprocess.run([MP, "-X", "heapsize=300K", "t.py"], cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, MICROPYPATH=str(tmp_path) + ":.frozen"))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    run = int(out.split("max free sz: ")[1].split()[0].rstrip(","))
    assert run * 32 <= 2048, out                       # GC blocks of 32 bytes on this 64-bit port
    free = int(out.split("FREE ")[1].split()[0])
    assert free > 50 * 1024, out                       # plenty of heap, only in small runs
    assert "ALLOC 1500 ok" in out and "ALLOC 1900 ok" in out, out
    assert "ALLOC 3000 fails" in out and "ALLOC 8000 fails" in out, out


def test_residue_counts_what_frozen_code_keeps(tmp_path):
    (tmp_path / "benchhook_src.py").write_text(open(os.path.join(ROOT, "tools", "bench", "_hook.py")).read())
    (tmp_path / "fbx.py").write_text("A = 1\nT = {'a': 1, 'b': [1, 2]}\n\ndef f():\n    pass\n\n\n"
                                     "class C:\n    def m(self):\n        pass\n")
    (tmp_path / "t.py").write_text("import fbx\nimport benchhook_src as h\nh.residue(('fbx',))\n")
    r = subprocess.run([MP, "t.py"], cwd=str(tmp_path), capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=str(tmp_path) + ":.frozen"))
    assert r.returncode == 0, r.stdout + r.stderr
    # 2 functions (f, C.m), 1 class, 2 containers (the dict and the list inside it)
    assert "2 functions, 1 classes, 2 containers" in r.stdout, r.stdout


def test_residue_counts_a_builtin_type_imported_by_name_as_one_dict_slot(tmp_path):
    # `from array import array` puts a built-in type in the module dict: frozen, that costs the
    # slot (counted with the dict), not a class built in RAM; a user class still counts
    (tmp_path / "benchhook_src.py").write_text(open(os.path.join(ROOT, "tools", "bench", "_hook.py")).read())
    (tmp_path / "fbx.py").write_text("from array import array\nfrom io import BytesIO\n")
    (tmp_path / "fby.py").write_text("from array import array\nfrom io import BytesIO\n\n\nclass C:\n    pass\n")
    (tmp_path / "t.py").write_text("import fbx\nimport fby\nimport benchhook_src as h\n"
                                   "print(h.residue(('fbx',)))\nprint(h.residue(('fby',)))\n")
    r = subprocess.run([MP, "t.py"], cwd=str(tmp_path), capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=str(tmp_path) + ":.frozen"))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.split("\n")
    assert "0 functions, 0 classes, 0 containers" in lines[0], r.stdout
    assert "0 functions, 1 classes, 0 containers" in lines[2], r.stdout
    bx, by = int(lines[1]), int(lines[3])
    # fbx: the module (16), its dict (16) and the table of its names; fby: one class more
    assert bx <= 32 + 16 * 8, r.stdout
    assert 96 <= by - bx <= 96 + 64, r.stdout


def test_scenario_steps_switch_and_the_big_fax_is_256_kb():
    import json
    import _scenario
    assert _scenario.steps("") == _scenario.STEPS
    assert _scenario.steps("-fax256k,-restarts") == ("jobs100", "demo", "telegrams", "reboot")
    assert _scenario.steps("reboot,demo") == ("demo", "reboot")
    try:
        _scenario.steps("demo,nope")
        raise AssertionError("an unknown step was accepted")
    except SystemExit as e:
        assert "nope" in str(e)
    body = _scenario.big_fax()
    assert 255 * 1024 < len(body) <= 256 * 1024, len(body)
    cmd = json.loads(body)
    assert len(cmd["pages"]) <= 20 and all(len(p.get("text", "")) <= 16000 for p in cmd["pages"])


def test_heap_one_run_is_plugged_by_the_flag_or_by_bench_plug(monkeypatch):
    # docs/bench.md's one run is `BENCH_PLUG=1 heap.py --heap 520K`; `--plug` says the same
    import _scenario
    import heap
    seen = []

    def run(h, which, jobs=None, hole=None, timeout=150.0, plug=False, budget=None):
        seen.append((h, plug, budget))
        return True, "", 0.1, (1000, 2000, 2064, 900, 9000, 5000) if plug else None   # _scenario.plugged

    monkeypatch.setattr(_scenario, "run", run)
    monkeypatch.delenv("BENCH_BUDGET", raising=False)
    for env, argv, plug, budget in (("1", [], True, 0), (None, ["--plug"], True, 0), (None, [], False, 0),
                                    ("", [], False, 0), (None, ["--plug", "--budget", "40K"], True, 40960),
                                    (None, ["--plug", "--budget", "30000"], True, 30000),
                                    (None, ["--budget", "36K"], True, 36864)):     # a budget is plugged
        if env is None:
            monkeypatch.delenv("BENCH_PLUG", raising=False)
        else:
            monkeypatch.setenv("BENCH_PLUG", env)
        assert heap.main(["heap.py", "--heap", "520K", "--steps", "demo"] + argv) == 0
        assert seen[-1] == ("520K", plug, budget), (env, argv, seen)
    n = len(seen)
    for bad in (["--budget", "forty"], ["--budget", "-4K"], ["--budget"]):     # a clear error, no run
        assert heap.main(["heap.py", "--heap", "520K", "--steps", "demo"] + bad) == 2, bad
    assert len(seen) == n


def test_plug_with_a_budget_leaves_the_unit_exactly_that_much_heap(tmp_path):
    # BENCH_BUDGET: after the holes are plugged, a ballast leaves the unit the budget, whatever
    # -X heapsize: no more fits, a little less does (docs/bench.md "What the working set is made of")
    import _scenario
    (tmp_path / "benchhook_src.py").write_text(open(os.path.join(ROOT, "tools", "bench", "_hook.py")).read())
    (tmp_path / "t.py").write_text(
        "import gc\nimport benchhook_src as h\nkeep = [bytearray(40 + i % 300) for i in range(400)]\n"
        "for i in range(0, 400, 3):\n    keep[i] = None\n"
        "h.plug(1234)\n"
        "for n in (28000, 31000):\n    try:\n        b = bytearray(n)\n        print('ALLOC', n, 'ok')\n"
        "        b = None\n    except MemoryError:\n        print('ALLOC', n, 'fails')\n")
    for heap in ("300K", "600K"):
        r = subprocess.run([MP, "-X", "heapsize=" + heap, "t.py"], cwd=str(tmp_path), capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, MICROPYPATH=str(tmp_path) + ":.frozen",
                                                             BENCH_BUDGET="30000"))
        assert r.returncode == 0, r.stdout + r.stderr
        b = _scenario.plugged("bench: imported code 5 B\n" + r.stdout)
        assert b is not None, r.stdout
        assert 30000 <= b[2] <= 30000 + 128 and b[3] == 1234, (heap, b)
        assert "ALLOC 28000 ok" in r.stdout and "ALLOC 31000 fails" in r.stdout, (heap, r.stdout)


def _fake_runs(monkeypatch, outcome):
    """_scenario.run replaced by `outcome(kb, nth run of that size)` (no subprocess); returns
    the list of (kb, ok) the bisection actually ran."""
    import _scenario
    ran = []

    def run(h, which, jobs=None, hole=None, timeout=150.0, plug=False, budget=None):
        kb = budget // 1024 if budget else int(h[:-1])
        ok = outcome(kb, sum(1 for k, _ in ran if k == kb))
        ran.append((kb, ok))
        return ok, "" if ok else "MemoryError", 0.1, (1000, 2000, 2064, 900, 9000, 5000) if plug else None

    monkeypatch.setattr(_scenario, "run", run)
    return ran


def _bisect(lo, top):
    import heap
    return heap.bisect(lo, [], ("demo",), None, say=lambda s: None, top=top)


def test_heap_bisection_finds_the_edge_that_completes_twice(monkeypatch):
    ran = _fake_runs(monkeypatch, lambda kb, n: kb >= 500)
    assert _bisect(400, 1536) == 500
    assert [ok for kb, ok in ran if kb == 500] == [True, True]
    assert (496, False) in ran


def test_heap_bisection_reports_only_a_size_it_ran_to_completion(monkeypatch):
    # near the edge every size completes on its first run and fails on the next (where big
    # blocks land changes): the edge retries run out while climbing, one step past the last
    # size tried. That size was never run: it must not be reported.
    ran = _fake_runs(monkeypatch, lambda kb, n: kb >= 600 or (kb >= 500 and n == 0))
    got = _bisect(400, 1536)
    assert (got, True) in ran, (got, ran)
    assert not [1 for kb, ok in ran if kb == got and not ok], (got, ran)
    assert got > max(kb for kb, ok in ran if not ok), (got, ran)


def test_working_set_as_frozen_is_the_budget_bisected_in_1k_steps_at_one_heap(monkeypatch):
    import _scenario
    import heap
    runs = []

    def run(h, which, jobs=None, hole=None, timeout=150.0, plug=False, budget=None):
        runs.append((h, plug, budget))
        ok = budget >= 37 * 1024
        return ok, "" if ok else "no room", 0.1, (1000, 2000, budget + 64, 900, 9000, 5000)

    monkeypatch.setattr(_scenario, "run", run)
    heap._plugs.clear()
    assert heap.budget(540, [], ("demo",), None, say=lambda s: None) == 37
    assert set(h for h, _p, _b in runs) == {"540K"} and all(p for _h, p, _b in runs)
    assert (37 * 1024) in [b for _h, _p, b in runs] and (36 * 1024) in [b for _h, _p, b in runs]
    assert heap._plugs[37][2] == 37 * 1024 + 64        # the free heap the run reported


def test_a_budget_the_heap_cannot_leave_is_an_error_not_a_figure(monkeypatch):
    import _scenario
    import heap
    monkeypatch.setattr(_scenario, "run", lambda h, which, jobs=None, hole=None, timeout=150.0, plug=False,
                        budget=None: (True, "", 0.1, (1000, 2000, 30000, 900, 9000, 5000)))
    try:
        heap.budget(300, [], ("demo",), None, say=lambda s: None)
        raise AssertionError("a run on 30000 B counted as one on a 96 K budget")
    except RuntimeError as e:
        assert "less than a budget of 96 K" in str(e), e


def test_heap_bisection_none_when_the_top_fails(monkeypatch):
    ran = _fake_runs(monkeypatch, lambda kb, n: False)
    assert _bisect(400, 1536) is None
    assert ran == [(1536, False)]


def test_heap_per_module_covers_the_firmware_the_unit_imports():
    import _wrap
    import heap
    rows = heap.module_heap()
    mods = [m for m in _wrap.unit_modules() if m not in _wrap.ASYNCIO]
    assert sorted(m for m, _b, _r in rows) == sorted(mods)
    assert [b for _m, b, _r in rows] == sorted((b for _m, b, _r in rows), reverse=True)
    got = dict((m, (b, r)) for m, b, r in rows)
    # config's schema text and functions, a module with one class and its methods
    assert got["faxbridge.app.config"][0] > 4096 and got["faxbridge.app.config"][1] > 0
    assert got["faxbridge.core.mqtt.faxcmd"][1] > 0


def _w32_runs(monkeypatch, outcome):
    """w32.run_wasm replaced by `outcome(kb, nth run of that size)` (no node); returns the list
    of (kb, ok) the bisection ran."""
    import w32
    ran = []

    def run_wasm(runner, d, phase, mods, heap):
        kb = heap // 1024
        ok = outcome(kb, sum(1 for k, _ in ran if k == kb))
        ran.append((kb, ok))
        return {"ok": ok, "done": True, "grew_at": None if ok else "a step", "totals": [kb * 1000]}

    monkeypatch.setattr(w32, "run_wasm", run_wasm)
    monkeypatch.setattr(w32, "figures", lambda g: {"held before boot": 1})
    return ran


def test_w32_bisection_reports_only_a_size_it_ran_to_completion(monkeypatch):
    # as heap.py's (completing twice; w32 in 1 K steps, heap.py in 4 K): near a flapping edge each
    # size completes on its first run only (508 and 516 not even that): the retries run out
    # while climbing, one step past the last size tried. That size was never run, and its
    # figures are None: it must not be reported
    import w32
    ran = _w32_runs(monkeypatch, lambda kb, n: kb >= 600 or (kb >= 500 and n == 0 and kb not in (508, 516)))
    got, trials, grew, fig = w32.bisect("runner", "d", [], say=lambda *a: None)
    assert trials == ran
    assert (got, True) in ran and fig is not None and fig["total"] == got * 1000, (got, ran)
    assert got > max(kb for kb, ok in ran if not ok), (got, ran)


def test_w32_bisection_finds_a_clean_edge_and_none_when_the_top_grows(monkeypatch):
    import w32
    ran = _w32_runs(monkeypatch, lambda kb, n: kb >= 300)
    got, _t, _g, fig = w32.bisect("runner", "d", [], say=lambda *a: None)
    assert got == 300 and fig["total"] == 300000 and (300 - w32.STEP_KB, False) in ran  # the step below fails
    assert [ok for kb, ok in ran if kb == 300] == [True, True]
    ran = _w32_runs(monkeypatch, lambda kb, n: False)
    assert w32.bisect("runner", "d", [], say=lambda *a: None)[0] is None and len(ran) == 1


def test_one_search_serves_both_tools(monkeypatch):
    # heap.bisect and w32.bisect are one search over a probe callable (heap.search), each
    # size probed once per call and reported by the tool as its own trial
    import heap
    import w32
    calls = []

    def search(probe, lo, top, step=heap.STEP_KB):
        calls.append((lo, top, step, probe(top)))
        return top if calls[-1][3] else None
    monkeypatch.setattr(heap, "search", search)
    ran = _w32_runs(monkeypatch, lambda kb, n: True)
    assert w32.bisect("runner", "d", [], say=lambda *a: None)[0] == w32.HI_KB and ran == [(w32.HI_KB, True)]
    ran = _fake_runs(monkeypatch, lambda kb, n: False)
    assert _bisect(400, 1536) is None and ran == [(1536, False)]
    assert calls == [(w32.LO_KB, w32.HI_KB, w32.STEP_KB, True), (400, 1536, heap.STEP_KB, False)]


def test_heap_tool_answers_help_and_unknown_flags_with_its_usage_not_a_bisection():
    for args, rc in ((["--help"], 0), (["--code", "--bogus"], 2)):
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench", "heap.py")] + args,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == rc, (args, r.returncode, r.stdout, r.stderr)
        assert "--heap 600K" in r.stdout and "heap:" not in r.stdout, r.stdout


def test_w32_probe_plays_the_broker_one_unit_call_a_step(tmp_path, monkeypatch):
    # the 32-bit probe on the 64-bit unix port (no node): a short scenario (16 telegrams, 8
    # finished jobs) does the same work and checks as the full one, and its steps are as fine
    # as the unit's own calls: the broker is outbox.pump, Link._flush, one PUBACK handled per
    # step; a job is its four calls, not one step (docs/bench.md, "32-bit figures")
    import _w32port
    import w32
    monkeypatch.setattr(_w32port, "W32", str(tmp_path))
    monkeypatch.setattr(w32, "N_TELEGRAMS", 16)
    monkeypatch.setattr(w32, "N_JOBS", 8)
    tels, want = w32.expected_verdicts()
    mods = _w32port.unit_modules()
    g = w32.run_64(_w32port.make_tree("mpy", mods, tels), "scenario", mods)
    assert g["done"], g["out"][-2000:]
    lines = g["lines"]
    got = json.loads(lines[0].split(" ", 1)[1].split(";")[0])
    assert got == want and lines[0].endswith("left in the outbox 0"), lines
    assert "cmd/fax 2 documents accepted; spool left 0" in lines, lines   # counted on the idle line
    assert any(ln.startswith("fax sent 1, failed 0, pages 2;") for ln in lines), lines
    assert any(ln.startswith("fax received 1, pages published 1, left in rx/: []") for ln in lines), lines
    assert any(ln.startswith("after the reboot: boot 2, 0 jobs open") for ln in lines), lines
    labels = [g["plan"][i] for i in range(len(g["plan"]))]
    assert sorted(g["top"]) == sorted(g["plan"]) and len(g["held"]) == len(labels) + 1   # and held -1
    pump, flush, ack, poll = ("broker: outbox.pump", "broker: Link._flush", "broker: a PUBACK fed, Link._handle",
                              "broker: outbox.poll, the acks committed")
    # after every 8th telegram: its 8 verdicts published in one flush, acknowledged one a step
    t = [i for i, lab in enumerate(labels) if lab == "telegram"]
    assert len(t) == 16 and t[8] - t[7] == 12
    assert labels[t[7] + 1:t[8]] == [pump, flush] + [ack] * 8 + [poll], labels[t[7]:t[8] + 1]
    # 8 jobs, each its four calls, then their 32 statuses (the window 8 at a time)
    j = labels.index("job: its page spooled")
    assert labels[j:j + 32] == ["job: its page spooled", "job: Jobs.submit", "job: next_due, start_call",
                                "job: end_call, busy"] * 8
    assert labels[j + 32:j + 32 + 41] == ([pump, flush] + [ack] * 8) * 4 + [poll]
    assert labels[j + 32 + 41] == "reboot: the unit dropped"
    # everywhere: the PUBACKs of what one flush wrote, then a pump or the commit; a phase's
    # last step comes after its broker is done
    for i, lab in enumerate(labels):
        if lab == ack:
            assert labels[i - 1] in (flush, ack) and labels[i + 1] in (ack, pump, poll), labels[i - 2:i + 2]
    for lab in ("verdicts acknowledged", "cmd/fax answered", "fax sent", "fax received", "reboot: a telegram answered"):
        assert labels[labels.index(lab) - 1] == poll, lab


def test_w32_probe_makes_the_running_units_frames_and_tasks(tmp_path, monkeypatch):
    # phase "running": the boot, then the running unit's coroutine frames and tasks made on the
    # idle unit and held (w32.py adds the 32-bit figure to the total as a line of its own)
    import _w32port
    import w32
    monkeypatch.setattr(_w32port, "W32", str(tmp_path))
    mods = _w32port.unit_modules()
    g = w32.run_64(_w32port.make_tree("mpy", mods, w32.expected_verdicts()[0][:1]), "running", mods)
    assert g["done"], g["out"][-2000:]
    labels = [g["plan"][i] for i in range(len(g["plan"]))]
    assert labels[-4:] == ["idle", w32.RUNNING, w32.STREAMS, "end"], labels[-4:]
    h, at = g["held"], g["at"]
    # 13 tasks and frames at least, a task and its coroutine 160 B on this port (measured)
    assert h[at[w32.RUNNING]] - h[at["idle"]] > 13 * 128, (h[at[w32.RUNNING]], h[at["idle"]])
    assert h[at[w32.STREAMS]] - h[at[w32.RUNNING]] > 3 * 64        # a socket, two files, their streams
    assert h[at["end"]] == h[at[w32.STREAMS]]       # held, not garbage


OOM = """import sys
import gc
import fbx
import benchhook_src as h
keep = [None] * 1000            # made first: it never grows
try:                            # the heap filled with 200-byte blocks, whatever the hook's code took
    for i in range(1000):
        keep[i] = bytearray(200)
except MemoryError:
    pass
for i in range(0, 1000, 2):     # every other one freed: runs of ~200 B, none much larger
    keep[i] = None
gc.collect()
h.oom("fbx:grab,fbx:none,nomod:x")
for n in (100, 20000):
    try:
        fbx.grab(n)
        print("GRAB", n, "ok")
    except MemoryError:
        print("GRAB", n, "MemoryError")
"""


def test_oom_prints_the_heap_at_a_memory_error_and_propagates_it(tmp_path):
    (tmp_path / "benchhook_src.py").write_text(open(os.path.join(ROOT, "tools", "bench", "_hook.py")).read())
    (tmp_path / "fbx.py").write_text("def grab(n):\n    return bytearray(n)\n")
    (tmp_path / "t.py").write_text(OOM)
    r = subprocess.run([MP, "-X", "heapsize=160K", "t.py"], cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, MICROPYPATH=str(tmp_path) + ":.frozen"))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "bench: oom: no fbx:none imported" in out and "bench: oom: no nomod:x imported" in out, out
    assert "GRAB 100 ok" in out and "GRAB 20000 MemoryError" in out, out    # propagated, unchanged
    assert out.count("bench: heap oom fbx:grab ") == 1, out                 # only at the MemoryError
    line = out.split("bench: heap oom fbx:grab ")[1].split("\n")[0].split()
    free, run, live = int(line[1]), int(line[3]), int(line[5])
    assert line[0] == "free" and line[2] == "run" and line[4] == "live", out
    assert free > 20000 and 200 <= run < 1024 and live > 40000, out     # room enough, in runs too small
    assert "GC memory layout" in out, out                                    # the block map, the first time
