"""The unit's jobs end to end (firmware on the MicroPython unix port, Mosquitto, the simulated
line): finished records on flash pruned at boot under a capped heap, a repeated cmd/fax."""
import json
import os
import time

from modemsim_helpers import fast_line
from unit_helpers import Lab, compile_mpy

REMOTE = "5551234"


def _finished(flash, n):
    """n finished jobs on flash, as an older firmware that never pruned left them."""
    folder = os.path.join(flash, "jobs")
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        rec = {"id": "old-%03d" % i, "number": REMOTE, "dial": REMOTE, "digest": i, "seq": i + 1,
               "created": 1790000000, "kinds": ["text"], "counts": [1], "n": 1, "attempt": 1,
               "confirmed": 1, "state": "done", "code": 0, "rev": 4, "rep": 4,
               "evidence": [["result", "OK"], ["reason", "all pages confirmed"], ["pprs", [1]],
                            ["remote_id", "+81 3 5550 1234"], ["params", "1,5,0,2,0,0,0,0"]]}
        with open(os.path.join(folder, rec["id"] + ".job"), "w") as f:
            json.dump(rec, f)


def test_unit_boots_with_a_hundred_finished_jobs_and_keeps_keep_done(tmp_path):
    """issue 13: at 222wk, 80 finished jobs stopped the unit from booting (load_all)."""
    mpy = compile_mpy(str(tmp_path / "mpy"))
    line = fast_line(tmp_path, speedup=8.0)
    lab = Lab(tmp_path, line, {"jobs": {"keep_done": 5}}, heap="222wk", mpy_dir=mpy)
    _finished(lab.fw.flash, 100)
    with lab:
        line.add_remote(REMOTE, out_dir=str(tmp_path / "remote"))
        names = sorted(os.listdir(os.path.join(lab.fw.flash, "jobs")))
        assert names == ["old-%03d.job" % i for i in range(95, 100)], names
        assert not lab.w.events("fax/status")              # all were reported: nothing re-sent
        lab.fax("new-1", REMOTE, [{"text": "after the boot"}])
        assert lab.wait_final("new-1", 60)["code"] == 0
        time.sleep(0.5)
        names = sorted(os.listdir(os.path.join(lab.fw.flash, "jobs")))
        assert names == ["new-1.job"] + ["old-%03d.job" % i for i in range(96, 100)], names
    assert "MemoryError" not in lab.fw.log()


def test_unit_repeated_cmd_fax_same_content_once_other_content_refused(tmp_path):
    line = fast_line(tmp_path, speedup=8.0)
    with Lab(tmp_path, line) as lab:
        line.add_remote(REMOTE, out_dir=str(tmp_path / "remote"))
        lab.fax("J05", REMOTE, [{"text": "one"}])
        assert lab.wait_final("J05", 60)["code"] == 0
        before = lab.statuses("J05")
        lab.fax("J05", REMOTE, [{"text": "one"}])            # a redelivery: the same job
        lab.fax("J05", REMOTE, [{"text": "two"}])            # another fax under the same id
        err = lab.wait(lambda ms: [m for t, m in ms if t.endswith("/cmd/error")], 20)
        assert err and err[0]["reason"] == "rejected", err
        assert err[0]["detail"] == "job id J05 already used with other content", err
        time.sleep(1.0)
        assert lab.statuses("J05") == before                  # no second answer, no second job
        assert len(lab.w.events("cmd/error")) == 1


def test_unit_a_bad_pbmz_is_taken_then_ends_at_204000_on_the_idle_line(tmp_path):
    """Issue 13: intake opens no document (the cmd/fax is answered -1); the modem task counts
    them on the idle line, a pbmz inflated then: a short raster ends the job at 204000 with
    the reason, never in a call (no ATD: no dial status, attempt 0); the job after it is
    sent."""
    from unit_helpers import pbmz
    line = fast_line(tmp_path, speedup=8.0)
    with Lab(tmp_path, line) as lab:
        line.add_remote(REMOTE, out_dir=str(tmp_path / "remote"))
        lab.fax("Z1", REMOTE, [{"text": "cover"}, pbmz(b"P4\n16 3\n" + b"\x00\xff" * 2)])
        lab.fax("Z2", REMOTE, [{"text": "after it"}])
        last = lab.wait_final("Z1", 60)
        assert last["code"] == 204000 and last["attempt"] == 0, last
        assert last["evidence"] == {"document": 2, "reason": "pbm: raster ends at row 2"}, last
        assert [(m["code"], m["state"]) for m in lab.statuses("Z1")] == \
            [(-1, "new"), (204000, "done")], lab.statuses("Z1")
        assert lab.wait_final("Z2", 60)["code"] == 0
    assert "MemoryError" not in lab.fw.log()
