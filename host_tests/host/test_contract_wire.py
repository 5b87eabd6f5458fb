"""The MQTT contract checked on what the unit really sends (issue 15: the contract is the
single source of every payload). The firmware runs the make-run demo against a real Mosquitto
(a fax sent, one busy, one refused, telegrams good and bad, a malformed command, a fax
received); every message captured from the broker must have exactly the keys, in exactly the
order, that the contract.* builder of its topic returns, under the contract's head
(unit, seq), and its values must be of the kinds the builder gives."""
import json

from modemsim import Line
from unit_helpers import Lab, demo_scenario

from faxbridge.core.mqtt import contract

HEAD = ["unit", "seq"]
# the builders (keys and values in turn), called once with throwaway values: only their keys
# and order matter here
BUILT = {
    "fax/status": contract.fax_status("j", 0, "success", True, 1, 1, (("result", "OK"),), "done", 1),
    "fax/received": contract.fax_received("r", 1, "id", (), 0, "", "", (10,), (1728,), 0, None, "rx/r"),
    "cafis/verdict": contract.cafis_verdict("ref", "accept", None, None),
    "cmd/error": contract.cmd_error("fax", "bad_json", "x", None),
    "fax/page": contract.fax_page("r", 1, 1, 1728, 10),
}
KINDS = {"seq": int, "code": (int, str, type(None)), "final": bool, "pages": int, "of": int,
         "attempt": int, "page": int, "width": int, "bytes": int, "verdict": str, "reason": (str, type(None))}


def _keys(pairs):
    return [k for k, _v in pairs]


def _ordered(raw):
    return json.loads(raw, object_pairs_hook=lambda kv: kv)


def test_every_payload_the_unit_sends_is_the_contracts(tmp_path):
    line = Line(speedup=40.0, t30_delay=0.02, ring_interval=0.2, dial_delay=0.05, result_delay=0.1,
                log_dir=str(tmp_path / "logs"))
    with Lab(tmp_path, line, {"telemetry": {"interval_s": 1}}) as lab:
        demo_scenario(lab, str(tmp_path))
        lab.w.publish(lab.root + "cmd/fax", "{not json")     # the demo's malformed command
        assert lab.wait(lambda ms: [1 for t, m in ms if t.endswith("/cmd/error")], 10)
        lab.wait(lambda ms: [1 for t, m in ms if t.endswith("/telemetry")], 5)
        # the watcher keeps each payload as it came: JSON parsed with its keys in wire order
        # (Python dicts keep insertion order), anything else as bytes
        msgs = list(lab.w.msgs)
    seen = set()
    for topic, payload in msgs:
        sfx = topic.split("/", 2)[2]
        if sfx == "availability":
            assert payload in (contract.ONLINE, contract.OFFLINE), payload
            continue
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()    # back to text, the order kept
        if sfx.startswith("cmd/") and sfx != contract.CMD_ERROR:
            continue                       # commands in, the watcher's own
        if sfx.startswith("fax/page/"):
            head, _nl, body = payload.partition(b"\n")
            pairs = _ordered(head)
            kind = "fax/page"
            assert len(body) == dict(pairs)["bytes"], (topic, dict(pairs), len(body))
        else:
            pairs = _ordered(payload)
            kind = sfx
        keys = _keys(pairs)
        if kind == "telemetry":
            assert keys[:3] == ["unit", "seq", "tseq"], keys
            continue
        assert kind in BUILT, "a topic the contract has no builder for: %s" % topic
        assert keys == HEAD + list(BUILT[kind][::2]), (topic, keys)
        for k, v in pairs:
            if k in KINDS:
                assert isinstance(v, KINDS[k]), (topic, k, v)
        seen.add(kind)
    # the demo exercises every event topic
    assert seen == set(BUILT), seen
