"""Files on flash (app/store.py): atomic JSON, folder walks, sizes and removal."""
import os

from support import tmpdir
from faxbridge.app.store import exists, load_json, names, remove, rmtree, save_json, size


def test_json_helpers_atomic_and_orphan_tmp_promoted():
    d = tmpdir("store")
    save_json(d + "/state.json", [1, 2])
    save_json(d + "/state.json", {"a": [3, 4]})
    assert load_json(d + "/state.json") == {"a": [3, 4]}
    assert load_json(d + "/none.json", "dflt") == "dflt"
    assert sorted(os.listdir(d)) == ["state.json"]
    with open(d + "/new.json.tmp", "w") as f:        # crash before the first rename (FAT path)
        f.write("[5]")
    assert load_json(d + "/new.json") == [5] and exists(d + "/new.json") and not exists(d + "/new.json.tmp")
    with open(d + "/torn.json", "w") as f:
        f.write('{"a": ')
    assert load_json(d + "/torn.json", "dflt") == "dflt"


def test_names_size_rmtree_remove():
    d = tmpdir("store")
    os.mkdir(d + "/a")
    os.mkdir(d + "/a/b")
    for i in range(11):
        with open("%s/a/f%d" % (d, i), "wb") as f:
            f.write(b"x" * (i + 1))
    with open(d + "/a/b/g", "wb") as f:
        f.write(b"y" * 100)
    assert sorted(names(d)) == ["a"]
    assert size(d + "/a") == sum(range(1, 12)) + 100 and size(d + "/a/b/g") == 100
    assert remove(d + "/a/f0") and not remove(d + "/a/f0")
    rmtree(d + "/a")                                   # more than one batch of 8 names
    assert os.listdir(d) == []


def test_u32_fields_are_big_endian_and_round_trip():
    from faxbridge.app.store import put32, u32
    b = bytearray(6)
    put32(b, 1, 0xFEDCBA98)
    assert bytes(b) == b"\x00\xfe\xdc\xba\x98\x00"
    assert u32(b, 1) == 0xFEDCBA98
    put32(b, 2, 7)
    assert u32(b, 2) == 7 and b[1] == 0xFE


def test_empty_goes_past_names_it_cannot_remove():
    """rv11: empty() stopped at a batch of 8 that removed nothing, leaving every file after
    8 it could not delete; now those are skipped (the first `bad` of a listing), the rest go."""
    from faxbridge.app.store import empty
    d = tmpdir("store")
    for i in range(30):
        with open("%s/f%02d" % (d, i), "wb") as f:
            f.write(b"x")
    stuck = []

    def rm(p):
        if len(stuck) < 8 and p not in stuck:          # the first 8 names it is given
            stuck.append(p)
        return False if p in stuck else remove(p)
    empty(d, rm)
    assert sorted(d + "/" + n for n in os.listdir(d)) == sorted(stuck) and len(stuck) == 8
    calls = []
    empty(d, lambda p: calls.append(p) or False)       # nothing removable: one walk, it ends
    assert len(calls) == 8 and len(os.listdir(d)) == 8
