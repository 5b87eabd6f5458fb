"""tools/faxctl as an operator uses it, against a real Mosquitto and a scripted unit (a paho
client that answers cmd/fax with the statuses a unit sends): --follow to the final status with
progress, pages counted as pages, credentials never on the command line."""
import json
import os
import subprocess
import sys
import threading
import time

import paho.mqtt.client as paho
from mqtt_broker import ROOT, Broker

FAXCTL = os.path.join(ROOT, "tools", "faxctl")
USERS = {"ops": "opspw", "unit": "unitpw"}


class ScriptedUnit:
    """Answers every cmd/fax with `script`: (delay s, fields) statuses for the job."""

    def __init__(self, port, script, unit="u1", auth=("unit", "unitpw")):
        self.script = script
        self.root = "faxbridge/%s/" % unit
        self.seq = 0
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="scripted-" + unit)
        if auth:
            self.c.username_pw_set(*auth)
        self.c.on_message = self._on_message
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(self.root + "cmd/#", 1)
        self.c.connect("127.0.0.1", port, 30)
        self.c.loop_start()

    def _on_message(self, c, u, m):
        job = json.loads(m.payload)["job"]
        threading.Thread(target=self._play, args=(job,), daemon=True).start()

    def _play(self, job):
        for delay, fields in self.script:
            time.sleep(delay)
            self.seq += 1
            body = dict({"unit": "u1", "seq": self.seq, "job": job}, **fields)
            self.c.publish(self.root + "fax/status", json.dumps(body), 1)

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def _ctl(port, *args, env=None, timeout=60):
    e = dict(os.environ, **(env or {}))
    e.pop("FAXCTL_PASSWORD", None) if env is None else None
    r = subprocess.run([sys.executable, FAXCTL, "--port", str(port), "--user", "ops"] + list(args),
                       capture_output=True, text=True, timeout=timeout, env=e)
    return r.returncode, r.stdout + r.stderr


def _status(code, pages, of, final=False, category="in progress"):
    return {"code": code, "category": category, "final": final, "pages": pages, "of": of,
            "attempt": 0 if code in (-1, -2) else 1}


def test_follow_prints_progress_until_final_past_the_answer_timeout(tmp_path):
    b = Broker(str(tmp_path / "broker"), users=USERS).start()
    # statuses 1.5 s apart: longer than --timeout 1, which bounds only the first answer
    script = [(0.1, _status(-1, 0, 0)), (0.2, _status(-2, 0, 3)), (1.5, _status(-3, 0, 3)),
              (1.5, _status(-3, 1, 3)), (1.5, _status(-3, 2, 3)),
              (1.5, _status(0, 3, 3, True, "success"))]
    unit = ScriptedUnit(b.port, script)
    try:
        txt = tmp_path / "doc.txt"
        txt.write_text("page one\n\fpage two\n")
        pbm = tmp_path / "p.pbm"
        pbm.write_bytes(b"P4\n16 2\n\x00\xff\xff\x00")
        rc, out = _ctl(b.port, "--timeout", "1", "send", "0312345678", str(txt), str(pbm), "--job", "J7",
                       "--follow", env={"FAXCTL_PASSWORD": "opspw"})
    finally:
        unit.stop()
        b.stop()
    assert rc == 0, out
    assert "job J7 sent to u1 (3 pages in 2 files)" in out, out
    lines = [x[len("status: "):] for x in out.splitlines() if x.startswith("status: ")]
    assert lines == ["-1 in progress", "-2 in progress", "-3 in progress page 1/3, attempt 1",
                     "-3 in progress page 2/3, attempt 1", "-3 in progress page 3/3, attempt 1",
                     "0 success (final), 3 of 3 pages confirmed"], lines


def test_follow_gives_up_after_wait_without_news(tmp_path):
    b = Broker(str(tmp_path / "broker"), users=USERS).start()
    unit = ScriptedUnit(b.port, [(0.1, _status(-1, 0, 0))])
    try:
        txt = tmp_path / "doc.txt"
        txt.write_text("x")
        t0 = time.monotonic()
        rc, out = _ctl(b.port, "send", "0312345678", str(txt), "--follow", "--wait", "2",
                       env={"FAXCTL_PASSWORD": "opspw"})
        took = time.monotonic() - t0
    finally:
        unit.stop()
        b.stop()
    assert rc == 1 and "no new status within 2 s" in out, out
    assert took < 30, took


def test_password_from_file_or_environment_never_argv(tmp_path):
    b = Broker(str(tmp_path / "broker"), users=USERS).start()
    unit = ScriptedUnit(b.port, [(0.1, _status(-1, 0, 1))])
    try:
        txt = tmp_path / "doc.txt"
        txt.write_text("x")
        pw = tmp_path / "pw"
        pw.write_text("opspw\n")
        rc, out = _ctl(b.port, "send", "123", str(txt), "--password-file", str(pw))
        assert rc == 0 and "status: -1" in out, out
        rc, out = _ctl(b.port, "send", "123", str(txt), env={"FAXCTL_PASSWORD": "opspw"})
        assert rc == 0 and "status: -1" in out, out
        rc, out = _ctl(b.port, "send", "123", str(txt), env={"FAXCTL_PASSWORD": "wrong"})
        assert rc == 2 and "refused" in out, out
        rc, out = _ctl(b.port, "send", "123", str(txt), "--password", "opspw")
        assert rc == 2 and "unrecognized arguments: --password" in out, out
        rc, out = _ctl(b.port, "send", "123", str(txt), "--password-file", str(tmp_path / "none"))
        assert rc == 2 and "cannot read the password file" in out, out
    finally:
        unit.stop()
        b.stop()
