"""Hostile dial strings end to end (issue 14 item 4): through the Class 2 driver (tools/faxdrive.py,
CPython and the MicroPython unix port) and through the firmware over MQTT, against the simulated
modem. The modem's transcript proves that no ATD carried an emergency number: the only ATD it
ever sees is the control number's."""
import re

import pytest

from dial_cases import HOSTILE
from fax_sim_helpers import Sim, drive, final
from modemsim_helpers import fast_line
from unit_helpers import Lab

from modemsim.atparse import dial_number  # noqa: E402

# A handful of the table: every prefix kind, AT smuggling, Unicode digits.
SAMPLE = ("184110", "186 119", "*67110", "#31#110", "0110", "+81110", "00181110", "0,110",
          "\uff11\uff11\uff10", "5551234;ATDT110", "5551234\rATDT110", "5551234!110")
EXPECTED = dict((n, code) for n, code, _ in HOSTILE)
CONTROL = "5559999"       # nobody there: dialled, ends NO CARRIER


def _dials(transcript):
    """The numbers of every ATD the modem received, as the modem reads them."""
    out = []
    for line in transcript.splitlines():
        m = re.search(r'DTE->DCE "AT(D[^"]*)"', line)
        if m:
            body = m.group(1).replace("<CR>", "")
            out.append(dial_number(body[1:]) or body)
    return out


@pytest.mark.parametrize("runtime", ("cpython", "micropython"))
def test_hostile_numbers_never_reach_the_modem_through_the_driver(runtime):
    with Sim(speedup=8.0) as s:
        page = s.path("p.txt")
        with open(page, "w") as f:
            f.write("x\n")
        for number in SAMPLE:
            rc, events, err = drive(runtime, s, ["send", number, page], sets=["dial_timeout=10"], timeout=30)
            assert rc == 0, (number, err[-2000:])
            assert final(events)["code"] == EXPECTED[number], (number, final(events))
        rc, events, err = drive(runtime, s, ["send", CONTROL, page], sets=["dial_timeout=10"], timeout=60)
        assert rc == 0, err[-2000:]
        assert final(events)["code"] != 0
        assert _dials(s.a.transcript) == [CONTROL], s.a.transcript[-3000:]


def test_hostile_numbers_over_mqtt_end_in_6002_or_cmd_error(tmp_path):
    """The firmware with its default dial policy (no dial.prefixes): the intake refuses the
    malformed ones on cmd/error, the policy the rest with 6002; nothing is dialled."""
    line = fast_line(tmp_path, speedup=8.0)
    with Lab(tmp_path, line) as lab:
        for i, number in enumerate(SAMPLE):
            lab.fax("h%d" % i, number, [{"text": "x"}])
        lab.fax("plus", "+81 5559999", [{"text": "x"}])          # + converted: dials 05559999
        for i, number in enumerate(SAMPLE):
            job = "h%d" % i
            if EXPECTED[number] == 6002:
                got = lab.wait_final(job, 30)
                assert got["code"] == 6002, (number, got)
            else:
                errs = lab.wait(lambda ms: [m for t, m in ms if t.endswith("/cmd/error")
                                            and isinstance(m, dict) and m.get("ref") == job], 30)
                assert errs and errs[0]["reason"] == "bad_field", (number, errs)
                assert not lab.statuses(job), (number, lab.statuses(job))
        lab.wait_final("plus", 60)
        assert _dials(lab.modem.transcript) == ["05559999"], lab.modem.transcript[-3000:]
        log = lab.fw.log()
        assert "Traceback" not in log, log[-3000:]
