"""What the checker holds and allocates (MicroPython: measured with gc.mem_alloc; CPython: the
sizes of what is kept). The unit has 64 KB of heap; the checker's share is bounded here."""
import gc
import sys

import cafis_helpers as h
from cafis_helpers import center_tel, terminal_tel

from faxbridge.core.cafis import checks, registry

MP = sys.implementation.name == "micropython"


def _heap(fn):
    gc.collect()
    a = gc.mem_alloc()
    x = fn()
    gc.collect()
    return gc.mem_alloc() - a, x


def test_registry_and_checker_of_the_example_are_small():
    d = h.example_dict()
    if MP:
        used, c = _heap(lambda: checks.Checker(registry.load(d)))
        # 21.7 KB with dicts of tuples and a verdict cache, 4.6 KB before the third round
        # (64-bit port); the unix port here is 64-bit, a 32-bit board holds about half
        assert used < 3800, used
    else:
        c = checks.Checker(registry.load(d))
    # every table the checker keeps is bytes of at most 2 KB (the unit's largest allocation)
    for b in c.routes.blocks + c.reg.companies.blocks + c.reg.connections.blocks + (c.routes.cs, c.rows, c.ix):
        assert isinstance(b, (bytes, bytearray)) and len(b) <= 2048, len(b)


def test_a_company_costs_its_record_not_an_object():
    d = h.example_dict()
    d["companies"] += [{"code": "X%05d" % i, "sub": "%02d" % (i % 100), "digits": 2} for i in range(100)]
    if MP:
        base, _ = _heap(lambda: checks.Checker(registry.load(h.example_dict())))
        more, c = _heap(lambda: checks.Checker(registry.load(d)))
        assert more - base < 100 * 24, (base, more)      # 12-byte records (it was ~370 B a company)
    else:
        c = checks.Checker(registry.load(d))
    assert c.reg.companies.n == 103 and c.reg.companies.w == 12


def test_checking_allocates_nothing_not_even_the_first_time():
    """No verdict cache: the first telegram of every kind allocates nothing either."""
    c = h.checker()
    tels = [
        ("center", center_tel()),                                     # accept
        ("center", center_tel((("seq", "00012X"),))),                 # C58
        ("center", center_tel((("route", "0003"), ("dst_co", "NOPE   ")))),   # C01
        ("center", center_tel()[:12]),                                # discard, short
        ("center", center_tel(trailer=b"x" * 1000, tlen="999")),     # C03, too long
        ("center", h.answer()),                                       # 表 3.3.4-3 #2 discard
        ("terminal", terminal_tel()),                                 # accept
        ("terminal", terminal_tel((("conn_co", "T009"),))),           # CAF01
        ("terminal", b"1" * 293),                                     # CAF03
    ]
    out = bytearray(80)
    mv = [memoryview(t) for _, t in tels]
    if not MP:
        for (sender, _), m in zip(tels, mv):
            c.check(m, sender, "A")
        return
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        for i in range(len(tels)):
            v = c.check(mv[i], tels[i][0], "A")
            c.report(mv[i], v, out)
        b = gc.mem_alloc()
    finally:
        gc.enable()
    assert b - a == 0, b - a


def _imports(name):
    """The core.cafis modules `name` imports, at any depth: its `from` lines, indented ones
    too (an import inside a function puts the module on the board all the same: tools/build.py
    follows it), read from its source (both runtimes)."""
    for base in ("firmware/faxbridge/core/cafis/", "../firmware/faxbridge/core/cafis/",
                 "../../firmware/faxbridge/core/cafis/"):
        try:
            f = open(base + name + ".py")
        except OSError:
            continue
        out = []
        with f:
            for line in f:
                w = line.split()
                if len(w) >= 4 and w[0] == "from" and w[2] == "import":
                    if w[1] == ".":
                        out.append(w[3])
                    elif w[1].startswith("."):
                        out.append(w[1][1:])
                    elif w[1].startswith("faxbridge.core.cafis."):
                        out.append(w[1].split(".")[-1])
        return out
    raise AssertionError("core/cafis/%s.py not found (run from the worktree root)" % name)


def test_the_units_imports_do_not_reach_the_session_engine():
    """The unit imports registry and checks; the board carries what they import. The session
    engine (tools only) must not be among it."""
    seen = []
    todo = ["registry", "checks"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.append(m)
            todo += _imports(m)
    # not errors (the 3.3.5 texts are for tools), not report or records (Verdict.report, registry.Table)
    assert sorted(seen) == ["catalogue", "checkkinds", "checks", "checktab", "layout", "registry", "routes",
                            "verdict"], seen


def test_the_registrys_load_helpers_are_not_module_functions():
    """The registry is read once, at boot: load's helpers are made while it runs, so the module
    keeps 17 names or fewer (a table of 17 slots; 23 with the six helpers) and no function of
    them stays in RAM (frozen) after boot. The count is MicroPython's (CPython's module dict
    holds more)."""
    for name in ("_str", "_list", "_keys", "_msg_types", "_routes", "_state"):
        assert not hasattr(registry, name), name
    if MP:
        assert len(registry.__dict__) <= 17, sorted(registry.__dict__)
    try:
        registry.load({"format": "faxbridge-cafis-registry/1", "companies": [{"code": 5}], "centers": []})
        raise AssertionError("a company code that is not a string was taken")
    except registry.RegistryError as e:
        assert "companies[0].code must be a string" in str(e), e
