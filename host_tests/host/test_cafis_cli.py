"""tools/cafis-check end to end (CPython, subprocess)."""
import json
import os
import subprocess
import sys

import cafis_helpers as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "cafis-check")
REG = os.path.join(ROOT, "docs", "cafis-registry.example.json")


def run(lines, *args, registry=REG, tmp_path=None):
    cap = tmp_path / "cap.jsonl"
    cap.write_bytes(b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines))
    r = subprocess.run([sys.executable, TOOL, "--registry", str(registry)] + list(args) + [str(cap)],
                       capture_output=True, cwd=ROOT, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def rec(d, tel, frm="center", center="A"):
    r = {"dir": d, "from": frm, "hex": tel.hex()}
    if center is not None:
        r["center"] = center
    return json.dumps(r)


CAPTURE = [
    rec("in", h.center_tel()),                                        # 1 accept, opens A 0002
    rec("in", h.center_tel((("seq", "000124"),))),                    # 2 C51
    rec("out", h.center_tel((("msg_type", "0110"),))),                # 3 CAFIS answers A: route free
    rec("in", h.center_tel((("seq", "000125"),))),                    # 4 accept again
    rec("out", h.forwarded(), center="B"),                            # 5 CAFIS -> B on 0100
    rec("in", h.answer((("line", "009"),)), center="B"),              # 6 discard 3.3.4-3 #5
    rec("in", h.answer(), center="B"),                                # 7 accept
    rec("in", h.terminal_tel(), frm="terminal", center=None),         # 8 accept
    rec("in", h.terminal_tel(trailer=b"x" * 300), frm="terminal", center=None),  # 9 CAF03
    rec("in", h.center_tel((("route", "0003"), ("seq", "00012X")))),  # 10 C58 #3
    rec("out", h.terminal_tel(), frm="terminal", center=None),        # 11 answer to a terminal: noted
]


def test_one_verdict_line_per_in_line(tmp_path):
    rc, out, err = run(CAPTURE, tmp_path=tmp_path)
    assert rc == 0, err
    got = [json.loads(x) for x in out.splitlines()]
    assert [list(g) for g in got] == [["verdict", "code", "rule", "field"]] * 8
    assert [(g["verdict"], g["code"], g["rule"], g["field"]) for g in got] == [
        ("accept", None, None, None),
        ("abnormal_report", "C51", "3.3.4-2 #2", "経路番号"),
        ("accept", None, None, None),
        ("discard", None, "3.3.4-3 #5", "回線番号"),
        ("accept", None, None, None),
        ("accept", None, None, None),
        ("terminal_error", "CAF03", "3.3.4-1 #1", "電文長"),
        ("abnormal_report", "C58", "3.3.4-2 #3", "仕向処理通番"),
    ]


def test_bad_lines_get_error_lines_and_the_run_goes_on(tmp_path):
    lines = [
        "{not json",
        "[1, 2]",
        json.dumps({"dir": "sideways", "hex": "00"}),
        json.dumps({"dir": "in", "from": "center", "center": "A", "hex": "0g"}),
        json.dumps({"dir": "in", "from": "center", "center": "NOPE", "hex": "00"}),
        json.dumps({"dir": "in", "from": "modem", "center": "A", "hex": "00"}),
        b"\xff\xfe",
        "",
        rec("in", h.center_tel()),
    ]
    rc, out, err = run(lines, tmp_path=tmp_path)
    assert rc == 1
    got = [json.loads(x) for x in out.splitlines()]
    assert [g.get("line") for g in got[:7]] == [1, 2, 3, 4, 5, 6, 7]
    for g, words in zip(got, ("not valid JSON", "not a JSON object", '"dir"', "not valid hex", "'NOPE' is not in",
                              '"from"', "not UTF-8")):
        assert g["error"].startswith("line %d: " % g["line"]) and words in g["error"], g
    assert got[7] == {"verdict": "accept", "code": None, "rule": None, "field": None}
    assert len(got) == 8      # the blank line is skipped


def test_table_shows_guidance(tmp_path):
    rc, out, err = run(CAPTURE + ["{bad"], "--table", tmp_path=tmp_path)
    assert rc == 1, err
    assert "(noted)" in out and "(route table changed)" in out
    assert "経路重複" in out and "当該電文の処理を中止、調査する" in out and "異常報告" in out
    assert "3.3.4-3 #5" in out and "無効電文" in out and "CAF03" in out and "最大電文長エラー" in out
    assert "ERROR  line 12:" in out
    assert out.splitlines()[0].split()[:3] == ["line", "dir", "from"]


def test_malformed_registry_refused(tmp_path):
    bad = tmp_path / "reg.json"
    d = h.example_dict()
    d["centers"][0]["routes"] = ["0009-0002"]
    bad.write_text(json.dumps(d))
    rc, out, err = run(CAPTURE, registry=bad, tmp_path=tmp_path)
    assert rc == 2 and out == ""
    assert "registry" in err and "center A.routes: route range '0009-0002' runs backwards" in err
    rc, out, err = run(CAPTURE, registry=tmp_path / "missing.json", tmp_path=tmp_path)
    assert rc == 2 and "cannot read registry" in err


# ---- bad input of every kind (issue 14 item 5): one clear line, never a traceback ------------

def _srec(t, tel, center="A", d="in"):
    return json.dumps({"t": t, "dir": d, "from": "center", "center": center, "hex": tel.hex()})


def _all_json(out):
    """Every output line is JSON (json.loads refuses NaN/Infinity only when asked: so ask)."""
    def no_constant(name):
        raise AssertionError("%s in the output: not JSON" % name)
    return [json.loads(x, parse_constant=no_constant) for x in out.splitlines()]


def test_deeply_nested_line_is_one_error_line_and_the_run_goes_on(tmp_path):
    lines = ["[" * 100000, "{\"a\": " * 50000, rec("in", h.center_tel())]
    for extra in ((), ("--session",)):
        lines_t = lines if not extra else lines[:2] + [_srec(0, h.center_tel())]
        rc, out, err = run(lines_t, *extra, tmp_path=tmp_path)
        assert rc == 1 and "Traceback" not in err, err
        got = _all_json(out)
        assert got[0]["line"] == 1 and "not valid JSON" in got[0]["error"] and "nested" in got[0]["error"], got[0]
        assert got[1]["line"] == 2 and "not valid JSON" in got[1]["error"], got[1]
        assert ("verdict" in got[2]) if not extra else (got[2]["line"] == 3 and "cafis" in got[2]), got[2]


def test_nan_and_infinity_are_refused_never_printed(tmp_path):
    t = h.center_tel()
    lines = [
        '{"t": 1e400, "dir": "in", "from": "center", "center": "A", "hex": "%s"}' % t.hex(),
        '{"t": NaN, "dir": "in", "from": "center", "center": "A", "hex": "%s"}' % t.hex(),
        '{"t": -Infinity, "dir": "in", "from": "center", "center": "A", "hex": "%s"}' % t.hex(),
        '{"t": Infinity, "dir": "in", "from": "center", "center": "A", "hex": "%s"}' % t.hex(),
        '{"t": 1e13, "dir": "in", "from": "center", "center": "A", "hex": "%s"}' % t.hex(),
        _srec(5, t),
    ]
    rc, out, err = run(lines, "--session", tmp_path=tmp_path)
    assert rc == 1 and "Traceback" not in err, err
    got = _all_json(out)        # a bare NaN / Infinity in the output would fail here
    assert [g.get("line") for g in got[:5]] == [1, 2, 3, 4, 5]
    assert "finite number of seconds" in got[0]["error"]
    for g in got[1:4]:
        assert "not valid JSON" in g["error"] and "is not a JSON value" in g["error"], g
    assert "finite number of seconds" in got[4]["error"]
    assert got[5]["t"] == 5 and got[5]["cafis"]["actions"][0]["do"] == "accept"
    # the plain check refuses them too (a NaN anywhere is not JSON)
    rc, out, err = run(['{"dir": "in", "x": NaN, "hex": "00"}', rec("in", t)], tmp_path=tmp_path)
    got = _all_json(out)
    assert rc == 1 and "not valid JSON" in got[0]["error"] and got[1]["verdict"] == "accept"


def test_text_that_is_not_utf8_encodable_stays_json(tmp_path):
    """A lone surrogate (an escape in the input) echoed in an error message: \\u-escaped."""
    lines = ['{"dir": "in", "from": "center", "center": "\\ud800", "hex": "00"}', rec("in", h.center_tel())]
    for extra in ((), ("--table",)):
        rc, out, err = run(lines, *extra, tmp_path=tmp_path)
        assert rc == 1 and "Traceback" not in err, err
    rc, out, err = run(lines, tmp_path=tmp_path)
    got = _all_json(out)
    assert "is not in the registry" in got[0]["error"] and got[1]["verdict"] == "accept"


def _session_config(tmp_path, text):
    p = tmp_path / "engine.json"
    p.write_text(text)
    rc, out, err = run([_srec(0, h.center_tel())], "--session", "--session-config", str(p), tmp_path=tmp_path)
    return rc, out, err


def test_session_config_wrong_types_refused_with_one_line(tmp_path):
    cases = (
        ('{"reject_codes": [1, 2]}', "reject_codes: must hold at least 4 entries, got 2"),
        ('{"reject_codes": ["R01", "R02", "R03", 4]}', "reject_codes: entry 3 must be a code of 3"),
        ('{"routes": [100]}', 'routes: entry 0 must be a route "NNNN" or a range'),
        ('{"routes": ["0100-0090"]}', "routes: entry 0 must be"),
        ('{"loopback": ["abc"]}', 'loopback: entry 0 must be a message type ("0100" or 0..9999), got "abc"'),
        ('{"loopback": "0100"}', 'loopback: must be a list of 4-digit message types, got "0100"'),
        ('{"max_held": 0}', "max_held: must be an integer from 1 to"),
        ('{"max_dest": 2.5}', "max_dest: must be an integer from 0 to"),
        ('{"t_report": 1e400}', "t_report: must be a number from 0 to 1000000000000, got inf"),
        ('{"t_report": NaN}', "not valid JSON"),
        ('{"t_report": 1e300}', "t_report: must be a number from 0 to 1000000000000"),
        ('{"ready": "yes"}', 'ready: must be true or false, got "yes"'),
        ('{"initial": 1}', 'initial: must be "stopped" or "online", got 1'),
        ('{"name": "x"}', "name: unknown option (known: t_report"),
        ('[1, 2]', "config: must be a JSON object of options, got [1, 2]"),
        ('"online"', 'config: must be a JSON object of options, got "online"'),
        ('[' * 100000, "not valid JSON"),
        ('{bad', "not valid JSON"),
    )
    for text, words in cases:
        rc, out, err = _session_config(tmp_path, text)
        assert rc == 2 and out == "" and "Traceback" not in err, (text, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("cafis-check: session config "), (text, err)
        assert words in lines[0], (text, err)
    rc, out, err = _session_config(tmp_path, '{"t_report": 5, "reject_codes": ["X01", "X02", "X03", "X04"]}')
    assert rc == 0 and "Traceback" not in err, err


def test_registry_that_is_not_an_object_says_so(tmp_path):
    for text, words in (("[1, 2]", "not a list"), ('"reg"', "not a string"), ("[" * 100000, "not valid JSON")):
        bad = tmp_path / "reg.json"
        bad.write_text(text)
        rc, out, err = run(CAPTURE, registry=bad, tmp_path=tmp_path)
        assert rc == 2 and out == "" and "Traceback" not in err, (text, err)
        assert len(err.strip().splitlines()) == 1 and words in err, (text, err)


def test_registry_name_and_comment_are_free_text(tmp_path):
    """docs/cafis.md lists "comment" and "name" at the top of the registry: both load."""
    d = h.example_dict()
    d["name"] = "test deployment"
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps(d))
    rc, out, err = run(CAPTURE, registry=reg, tmp_path=tmp_path)
    assert rc == 0, err
    d["name"] = 5
    reg.write_text(json.dumps(d))
    rc, out, err = run(CAPTURE, registry=reg, tmp_path=tmp_path)
    assert rc == 2 and "registry.name must be a string" in err


def test_fuzzed_lines_always_give_json_lines(tmp_path):
    """Random and mutated capture lines, plain and --session: every output line is JSON, no
    traceback, exactly one output line per non-blank input line (plain mode: per in-line)."""
    import random
    rnd = random.Random(14)
    good = [rec("in", h.center_tel()), rec("out", h.center_tel((("msg_type", "0110"),))),
            _srec(1, h.center_tel()), rec("in", h.terminal_tel(), frm="terminal", center=None)]
    atoms = ['"', "\\", "[", "]", "{", "}", ",", ":", "NaN", "Infinity", "-Infinity", "1e400", "-1", "null",
             "true", '"\\ud800"', '"\\u0000"', "0" * 50, "\u3042", "\x00", '"t"', '"hex"', '"dir"', '"in"',
             '"out"', '"center"', '"A"', "9" * 5000]
    lines = []
    for _ in range(400):
        base = rnd.choice(good)
        k = rnd.randrange(5)
        if k == 4:              # the replay's time: any number JSON can spell, and some it cannot
            lines.append(good[2].replace('"t": 1', '"t": ' + rnd.choice(
                ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e308", "9" * 400, "-0.0", "2.5", "[1]"])))
        elif k == 0:
            lines.append("".join(rnd.choice(atoms) for _ in range(rnd.randrange(1, 12))))
        elif k == 1:
            i = rnd.randrange(len(base))
            lines.append(base[:i] + rnd.choice(atoms) + base[i + rnd.randrange(3):])
        elif k == 2:
            d = json.loads(base)
            d[rnd.choice(["t", "dir", "from", "center", "hex", "x"])] = rnd.choice(
                [None, True, 1.5, -3, [], {}, "in", "A", "zz", 10 ** 30, [[[]]], "\u3042"])
            lines.append(json.dumps(d))
        else:
            lines.append(base)
    lines = [ln for ln in lines if "\n" not in ln and "\r" not in ln]
    for extra in ((), ("--session",)):
        rc, out, err = run(lines, *extra, tmp_path=tmp_path)
        assert rc in (0, 1) and "Traceback" not in err and err == "", err[-2000:]
        _all_json(out)


def test_reader_going_away_is_not_a_traceback(tmp_path):
    """cafis-check ... | head -1: the pipe closes under a long run; no traceback on stderr."""
    cap = tmp_path / "big.jsonl"
    cap.write_text((rec("in", h.center_tel((("seq", "00012X"),))) + "\n") * 200000)
    p = subprocess.Popen([sys.executable, TOOL, "--registry", REG, str(cap)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=ROOT)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=60)
    assert json.loads(first)["code"] == "C58"
    assert b"Traceback" not in err and err == b"", err[-500:]
