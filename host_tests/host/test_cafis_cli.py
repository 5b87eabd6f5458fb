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
