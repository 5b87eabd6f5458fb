"""cafis-check --session end to end (CPython, subprocess): per telegram the state before and
after on both sides and the actions; time-overs fire between telegrams at their own time."""
import json
import os
import subprocess
import sys

import cafis_helpers as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "cafis-check")
REG = os.path.join(ROOT, "docs", "cafis-registry.example.json")


def run(tmp_path, lines, *args):
    cap = tmp_path / "cap.jsonl"
    cap.write_text("".join(ln + "\n" for ln in lines))
    r = subprocess.run([sys.executable, TOOL, "--session", "--registry", REG] + list(args) + [str(cap)],
                       capture_output=True, cwd=ROOT, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def rec(t, d, tel, center="A", frm="center"):
    r = {"t": t, "dir": d, "from": frm, "hex": tel.hex()}
    if center is not None:
        r["center"] = center
    return json.dumps(r)


def ctl(mt, route="0001"):
    return h.center_tel((("route", route), ("seq", "000000"), ("msg_type", mt)), trailer=b"")


CAPTURE = [
    rec(0, "in", h.center_tel()),                                                 # 1 A request on 0002
    rec(1, "out", h.center_tel((("msg_type", "0110"), ("cafis_seq", "000001")))),  # 2 its report
    rec(2, "in", h.center_tel((("route", "0003"), ("seq", "000124")))),           # 3 A request on 0003
    # no report: time-over at 32 (-> 取消確認指令 9300), 62 (-> 9320)
    rec(70, "out", ctl("8000")),                                                  # 4 カウンタ通知: ⑫
    rec(71, "out", h.forwarded(), center="B"),                                    # 5 CAFIS -> B request
    rec(72, "in", h.answer(), center="B"),                                        # 6 B's report
    '{"dir": "in", "from": "center", "center": "A", "hex": "00"}',               # 7 no "t"
    rec(50, "out", ctl("8000")),                                                  # 8 t goes back
]


def test_replay_prints_states_actions_and_timers(tmp_path):
    rc, out, err = run(tmp_path, CAPTURE)
    assert rc == 1, err
    recs = [json.loads(x) for x in out.splitlines()]
    lines = [r.get("line") for r in recs]
    assert lines == [1, 2, 3, None, None, 4, 5, 6, 7, 8], recs
    r1 = recs[0]
    assert r1["msg"] == "0100" and r1["route"] == "0002"
    assert r1["cafis"]["actions"][0]["do"] == "accept" and r1["cafis"]["actions"][0]["verdict"][0] == "accept"
    assert r1["member"]["before"].startswith("online") and "routes=-" in r1["member"]["before"]
    assert [a["do"] for a in r1["member"]["actions"]] == ["send"] and "0002:request" in r1["member"]["after"]
    assert recs[1]["member"]["actions"][0]["do"] == "to_terminal" and "routes=-" in recs[1]["member"]["after"]
    t1, t2 = recs[3], recs[4]
    assert t1["timer"] and t1["t"] == 32 and t1["center"] == "A"
    assert [(a["do"], a["msg"]) for a in t1["member"]["actions"]] == [("time_over", "0100"), ("send", "9300")]
    assert t1["member"]["actions"][1]["rule"] == "表3.3.2-1 #1" and "0003:cancel_confirm" in t1["member"]["after"]
    assert t2["t"] == 62 and [a.get("msg") for a in t2["member"]["actions"]] == ["9300", "9320"]
    r4 = recs[5]
    assert r4["cafis"]["after"] == "ok cmd=counter routes=-"
    assert [a["do"] for a in r4["member"]["actions"]] == ["send", "hold_request"]
    assert "⑫" in r4["member"]["actions"][1]["rule"] and "(held)" in r4["member"]["after"]
    r5, r6 = recs[6], recs[7]
    assert r5["member"]["actions"][0]["do"] == "deliver" and "dest=0100" in r5["member"]["after"]
    assert "0100:request" in r5["cafis"]["after"]
    assert r6["cafis"]["actions"][0]["do"] == "accept" and "routes=-" in r6["cafis"]["after"]
    assert r6["member"]["actions"][0]["do"] == "send" and r6["member"]["actions"][0]["rule"] == "3.3.3(2)(a)"
    assert recs[8]["error"].startswith("line 7:") and "\"t\"" in recs[8]["error"]
    assert recs[9]["error"].startswith("line 8:") and "back in time" in recs[9]["error"]


def test_session_config_sets_the_timers_and_table_mode(tmp_path):
    cfg = tmp_path / "engine.json"
    cfg.write_text(json.dumps({"t_report": 5, "t_fault": 3, "max_recommands": 0}))
    lines = [rec(0, "in", h.center_tel()), rec(20, "out", ctl("8000"))]
    rc, out, err = run(tmp_path, lines, "--session-config", str(cfg))
    assert rc == 0, err
    recs = [json.loads(x) for x in out.splitlines()]
    timers = [(r["t"], [a["do"] for a in r["member"]["actions"]]) for r in recs if r.get("timer")]
    assert timers == [(5, ["time_over", "send"]), (8, ["time_over", "give_up", "terminal_error", "investigate"])]
    rc, out, err = run(tmp_path, lines, "--session-config", str(cfg), "--table")
    assert rc == 0 and "timer   center A" in out and "表3.3.2-1 #1" in out and "give_up" in out, out
    cfg.write_text(json.dumps({"t_reprot": 5}))
    rc, out, err = run(tmp_path, lines, "--session-config", str(cfg))
    assert rc == 2 and "t_reprot: unknown option" in err


def test_loopback_and_terminal_lines(tmp_path):
    cfg = tmp_path / "engine.json"
    cfg.write_text(json.dumps({"loopback": ["0100"]}))
    lines = [rec(0, "in", h.center_tel()), rec(1, "in", h.terminal_tel(), center=None, frm="terminal"),
             rec(100, "out", ctl("8000"))]
    rc, out, err = run(tmp_path, lines, "--session-config", str(cfg))
    assert rc == 0, err
    recs = [json.loads(x) for x in out.splitlines()]
    assert recs[1]["cafis"] == {"verdict": ["accept", None, None, None]} and "member" not in recs[1]
    t = [r for r in recs if r.get("timer")][0]
    assert [a["do"] for a in t["member"]["actions"]] == ["time_over", "terminal_error"]
    assert t["member"]["actions"][1]["rule"] == "表3.3.2-1 #1 注1"


def test_member_fault_telegrams_in_the_capture_follow_the_engine(tmp_path):
    req = h.center_tel()
    cc = req[:43] + b"9300" + req[47:]
    lines = [rec(0, "in", req), rec(10, "in", cc),          # the member's own time-over came early
             rec(45, "out", ctl("8000")),                    # engine: 9320 at 10 + 30 = 40
             rec(45.5, "in", ctl("8001")),                   # the member answers the counter notice
             rec(46, "in", cc[:43] + b"9320" + cc[47:])]      # the capture shows it: expected
    rc, out, err = run(tmp_path, lines)
    assert rc == 0, err
    recs = [json.loads(x) for x in out.splitlines()]
    assert [a["do"] for a in recs[1]["member"]["actions"]] == ["expected"]
    assert "0002:cancel_confirm" in recs[1]["member"]["after"]
    t = [r for r in recs if r.get("timer")]
    assert len(t) == 1 and t[0]["t"] == 40 and [a.get("msg") for a in t[0]["member"]["actions"]] == ["9300", "9320"]
    assert [a["do"] for a in recs[-2]["member"]["actions"]] == ["expected"]
    assert recs[-2]["cafis"]["actions"][0]["do"] == "accept" and "cmd=-" in recs[-2]["cafis"]["after"]
    assert [a["do"] for a in recs[-1]["member"]["actions"]] == ["expected"]
    assert recs[-1]["cafis"]["actions"][0]["do"] == "accept", recs[-1]
