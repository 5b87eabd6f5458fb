"""Replay the DTE side of the reference transcripts (efax and mgetty sendfax, byte for byte)
against the simulator and check that it answers exactly as the reference modem did.

host_tests/core/data/class2/ (byte-level dialogues of efax and mgetty's sendfax recorded against a
simulated modem; docs/modemsim.md says how they were made).
"""
import os
import re

import pytest
from modemsim_helpers import Dte, fast_line

from modemsim import ModemConfig
from modemsim.bits import DLE, ETX, EolScanner, reverse_bits

NAMES = {"CR": 0x0d, "LF": 0x0a, "XON": 0x11, "XOFF": 0x13, "DC2": 0x12, "DLE": 0x10, "ETX": 0x03, "CAN": 0x18}
EVENT = re.compile(r'^\[\s*[\d.]+\] (DTE->DCE|DCE->DTE) (?:"(.*)"|DATA\[\d+\] ([0-9a-f ]+))$')


def _reference_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "core", "data", "class2"))


def _decode(text):
    out = bytearray()
    for tok in re.split(r"(<[A-Z0-9]+>)", text):
        if tok.startswith("<") and tok.endswith(">") and tok[1:-1] in NAMES:
            out.append(NAMES[tok[1:-1]])
        else:
            out += tok.encode("latin-1")
    return bytes(out)


def load(name):
    """[(who, kind, bytes)] with kind 'text' or 'data'."""
    events = []
    with open(os.path.join(_reference_dir(), name)) as f:
        for line in f:
            m = EVENT.match(line.rstrip("\n"))
            if m:
                who, text, hexdata = m.groups()
                if hexdata is not None:
                    events.append((who, "data", bytes.fromhex(hexdata)))
                else:
                    events.append((who, "text", _decode(text)))
    return events


def lines_of(data):
    data = data.replace(b"\x11", b"").replace(b"\x13", b"")
    return [x.decode("latin-1") for x in re.split(rb"[\r\n]+", data) if x.strip()]


def unstuff(data):
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == DLE and i + 1 < len(data):
            if data[i + 1] == ETX:
                break
            if data[i + 1] == DLE:
                out.append(DLE)
            i += 2
            continue
        out.append(data[i])
        i += 1
    return bytes(out)


REFERENCE_MODEM = dict(identity="FAKEMODEM Class 2 simulator rev 0.1", manufacturer="FAKEMODEM LAB",
                       model="CLASS2-SIM")


def replay(events, d, on_text=None):
    """Drive the DTE side; compare every DCE reply with the reference. Returns DCE page data."""
    pages = []
    i = 0
    while i < len(events):
        who, kind, data = events[i]
        if who != "DTE->DCE":
            i += 1
            continue
        # everything the DTE sent in a row, then everything the DCE answered until the DTE's next turn
        sent = bytearray()
        while i < len(events) and events[i][0] == "DTE->DCE":
            sent += events[i][2]
            i += 1
        reply_text, reply_data = bytearray(), bytearray()
        while i < len(events) and events[i][0] == "DCE->DTE":
            (reply_data if events[i][1] == "data" else reply_text).extend(events[i][2])
            i += 1
        d.write(bytes(sent))
        if on_text:
            on_text(bytes(sent))
        if reply_data:
            got = d.read_page(timeout=30)
            assert got == unstuff(bytes(reply_data)), "page data differs from the reference"
            pages.append(got)
        want = lines_of(bytes(reply_text))
        got = [d.read_line(timeout=30) for _ in want]
        assert got == want, "after DTE sent %r" % bytes(sent[:60])
    return pages


@pytest.mark.parametrize("name,config", [("efax_send.txt", {}), ("sendfax_send.txt", {})])
def test_sending_dialogues_replay_exactly(tmp_path, name, config):
    events = load(name)
    line = fast_line(tmp_path, speedup=20.0).start()
    try:
        m = line.add_modem("5550199", config=ModemConfig(**dict(REFERENCE_MODEM, **config)))
        r = line.add_remote("5551234", out_dir=str(tmp_path / "rx"), csi="+1 555 0100", dis=(1, 3, 0, 2, 0, 0, 0, 0))
        d = Dte(m.path)
        replay(events, d)
        rec = r.wait_pages(1, 5)[0]
        # the reference remote's own count: efax 320 lines (20 header + 300), sendfax 300 lines
        assert rec["lines"] == (320 if name.startswith("efax") else 300) and rec["rtc"] and rec["ppr"] == 1
        d.close()
    finally:
        line.stop()


def test_receiving_dialogue_replays_exactly(tmp_path):
    events = load("efax_recv.txt")
    page = unstuff(b"".join(e[2] for e in events if e[0] == "DCE->DTE" and e[1] == "data"))
    sc = EolScanner()
    sc.feed(reverse_bits(page))
    assert sc.rtc and sc.line_count == 300
    line = fast_line(tmp_path, speedup=20.0).start()
    try:
        m = line.add_modem("5550199", config=ModemConfig(fpts_fields=4, **REFERENCE_MODEM))
        r = line.add_remote("5550100", csi="+1 555 0100", dis=(1, 3, 0, 2, 0, 0, 0, 0))
        d = Dte(m.path)
        jobs = []

        def on_text(sent):
            if sent == b"ATA\r":          # the far end calls as efax answers (as in the reference)
                jobs.append(r.send_fax("5550199", [page]))
        pages = replay(events, d, on_text)
        assert len(pages) == 1 and jobs[0].wait(5) == "OK"
        d.close()
    finally:
        line.stop()
