"""Job store (firmware/faxbridge/app/store.py): atomic records that survive a crash."""
import os

from support import tmpdir
from faxbridge.app.store import JobStore, valid_id, load_json, save_json


def test_valid_ids():
    assert valid_id("job-1_a.b")
    for bad in ("", ".hidden", "a/b", "x" * 41, "a b", 5, None, "ü", "a\\b"):
        assert not valid_id(bad), bad


def test_save_load_roundtrip_and_order():
    d = tmpdir("store")
    s = JobStore(d + "/jobs")
    s.save({"id": "b", "created": 2, "state": "queued", "docs": 1})
    s.save({"id": "a", "created": 1, "state": "queued", "n": 0})
    s.write_page("b", 0, b"P4\n1 1\n\x00")
    jobs = s.load_all()
    assert [j["id"] for j in jobs] == ["a", "b"]
    with open(s.page_path("b", 0), "rb") as f:
        assert f.read() == b"P4\n1 1\n\x00"
    s.delete(jobs[1])
    assert [j["id"] for j in s.load_all()] == ["a"]
    assert not s.exists("b")


def test_orphan_tmp_promoted_and_torn_tmp_removed():
    d = tmpdir("store")
    s = JobStore(d + "/jobs")
    # crash after writing the temp file of a new record, before the rename
    with open(s.path("c") + ".tmp", "w") as f:
        f.write('{"id": "c", "created": 5, "state": "call"}')
    # crash while writing the temp file of an existing record: old record stays
    s.save({"id": "d", "created": 6, "state": "queued"})
    with open(s.path("d") + ".tmp", "w") as f:
        f.write('{"id": "d", "crea')
    jobs = s.load_all()
    assert [(j["id"], j["state"]) for j in jobs] == [("c", "call"), ("d", "queued")]
    names = sorted(os.listdir(d + "/jobs"))
    assert names == ["c.job", "d.job"], names


def test_json_helpers():
    d = tmpdir("store")
    save_json(d + "/state.json", [1, 2])
    save_json(d + "/state.json", [3, 4])
    assert load_json(d + "/state.json") == [3, 4]
    assert load_json(d + "/none.json", "dflt") == "dflt"


def test_prune_done_keeps_newest_reported():
    d = tmpdir("store")
    s = JobStore(d + "/jobs")
    for i in range(5):
        s.save({"id": "j%d" % i, "created": i, "state": "done", "code": 0, "reported": 0})
    s.save({"id": "u", "created": 0, "state": "done", "code": 263, "reported": -3})
    s.prune_done(2)
    assert [j["id"] for j in s.load_all()] == ["u", "j3", "j4"]
