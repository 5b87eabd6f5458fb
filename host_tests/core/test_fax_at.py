from support import raises

from faxbridge.core.fax import at

FINAL = 1       # at's _FINAL (private there: a final result is the kind no other line is)


def cl(line):
    """at.classify as a (kind, name, args) triple."""
    o = [None, None]
    kind = at.classify(line, o)
    return (kind, o[0], o[1])


def lines_of(data, size=192):
    r = at.LineReader(size, 0)
    out = []
    i = 0
    while True:
        i = r.take(data, i)
        item = r.item
        if item is None:
            return out, r
        out.append(item)


def test_verbose_finals():
    assert cl("OK") == (FINAL, "OK", "")
    assert cl("CONNECT 9600") == (FINAL, "CONNECT", "9600")
    assert cl("NO CARRIER") == (FINAL, "NO CARRIER", "")
    assert cl("NO DIAL TONE") == (FINAL, "NO DIALTONE", "")
    assert cl("no dialtone")[:2] == (FINAL, "NO DIALTONE")
    assert cl("BUSY")[1] == "BUSY" and cl("VOICE")[1] == "VOICE"
    assert cl("NO ANSWER")[1] == "NO ANSWER" and cl("ERROR")[1] == "ERROR"



def test_a_final_is_a_whole_name_or_a_name_and_a_space():
    # the names are one str between bars, compared in place: no name's prefix, no longer
    # word, no bar and no partial name is final
    for line in ("OKAY", "NO CARRIERS", "NO", "NO DIAL", "CONNECTED", "|OK|", "OK|", "BUSY|OK", "K", "|"):
        assert cl(line)[0] == at.INFO, line
    assert cl("ok") == (FINAL, "OK", "") and cl(" BUSY ") == (FINAL, "BUSY", "")
    assert cl("CONNECT  14400/V17") == (FINAL, "CONNECT", "14400/V17")
    assert cl("NO DIAL TONE 2") == (FINAL, "NO DIALTONE", "2")
    assert cl("DELAYED")[:2] == (FINAL, "DELAYED") and cl("BLACKLISTED 5") == (FINAL, "BLACKLISTED", "5")
    assert cl("no answer") == (FINAL, "NO ANSWER", "")

def test_numeric_finals():
    assert cl("0")[:2] == (FINAL, "OK")
    assert cl("1")[:2] == (FINAL, "CONNECT")
    assert cl("2")[:2] == (at.RING, "RING")
    assert cl("3")[:2] == (FINAL, "NO CARRIER")
    assert cl("4")[:2] == (FINAL, "ERROR")
    assert cl("6")[:2] == (FINAL, "NO DIALTONE")
    assert cl("7")[:2] == (FINAL, "BUSY")
    assert cl("8")[:2] == (FINAL, "NO ANSWER")
    assert cl("12")[:2] == (FINAL, "CONNECT")
    assert cl("123")[0] == at.INFO


def test_fax_responses_with_and_without_space():
    assert cl("+FHNG:0") == (at.FAX, "+FHNG", "0")
    assert cl("+FHNG: 25") == (at.FAX, "+FHNG", "25")
    assert cl("+FCON") == (at.FAX, "+FCON", "")
    assert cl("+fdis:1,3,0,2,0,0,0,0") == (at.FAX, "+FDIS", "1,3,0,2,0,0,0,0")
    assert cl('+FTSI: "  +1 555 0100"') == (at.FAX, "+FTSI", '"  +1 555 0100"')
    v = [9] * 4
    assert at.ints("1,300,0,0", v, 4) == 4 and v == [1, 300, 0, 0]
    assert at.ints("1,, 2", v, 3) == 3 and v == [1, 0, 2, 0]
    assert at.ints("", v, 1) == 1 and v[0] == 0
    assert at.ints("7,x,9", v, 1) == 3 and v[0] == 7         # fields past `upto` not read
    assert at.ints("a0", v, 1, 16) == 1 and v[0] == 0xA0     # +FHS is hex (T.32)
    raises(ValueError, at.ints, "1,x", v, 2)
    raises(ValueError, at.ints, "a0", v, 1)
    raises(ValueError, at.ints, "-1", v, 1)


def test_echo_ring_info():
    assert cl("ATE0")[0] == at.ECHO
    assert cl("at+fdt")[0] == at.ECHO
    assert cl("RING")[0] == at.RING
    assert cl("FAKEMODEM LAB")[0] == at.INFO
    assert cl("1,5,0,2,0,0,0,0")[0] == at.INFO


def test_line_reader_splits_and_skips_blank_lines():
    out, _ = lines_of(b"\r\n+FCON\r\n\r\n+FCSI:+1 555 0100\r\n\r\nOK\r\n")
    assert out == ["+FCON", "+FCSI:+1 555 0100", "OK"]


def test_line_reader_reports_flow_control_between_lines():
    out, _ = lines_of(b"\r\nCONNECT\r\n\x11\x13\x11\r\nOK\r\n")
    assert out == ["CONNECT", 0x11, 0x13, 0x11, "OK"]


def test_line_reader_resumes_across_chunks():
    r = at.LineReader()
    i = r.take(b"\r\n+FH", 0)
    assert r.item is None and i == 5
    i = r.take(b"NG:0\r\n", 0)
    assert r.item == "+FHNG:0" and i == 5


def test_line_reader_cuts_long_lines_and_replaces_binary():
    out, r = lines_of(b"A" * 300 + b"\r\n\xff\x00ok\r\n", size=16)
    assert out == ["A" * 16, "??ok"] and r.overflows == 284


def test_command_format():
    assert at.command("+FDT") == b"AT+FDT\r"
    assert at.command('+FLID="123"') == b'AT+FLID="123"\r'
    raises(ValueError, at.command, "D123\rATH")


def test_commands_are_made_in_the_readers_command_buffer_lines_never_reach_it():
    r = at.LineReader()                         # 192 bytes: lines in 128, commands in 64
    assert len(r.cmd) == 64 and len(r._buf) == 192
    v = at.command("+FDT", r.cmd)
    assert isinstance(v, memoryview) and bytes(v) == b"AT+FDT\r"
    i = r.take(b"B" * 300 + b"\r\n", 0)
    assert r.item == "B" * 128 and r.overflows == 172 and i == 301
    assert bytes(v) == b"AT+FDT\r"              # the line did not touch the command
    long = "+FLID=" + "x" * 60                  # does not fit: new bytes, the view untouched
    b = at.command(long, r.cmd)
    assert b == ("AT" + long + "\r").encode() and bytes(v) == b"AT+FDT\r"
    try:
        at.command("D1\r", r.cmd)
        raise AssertionError("a CR in a body was accepted")
    except ValueError:
        pass


def test_a_remote_id_is_read_without_its_quotes_and_padding():
    """+FTSI/+FCSI (+FTI/+FCI quoted in T.32): dialect.read keeps the id without the quotes and
    the padding spaces of T.30 ids."""
    from fax_helpers import Rig

    from faxbridge.core.fax import dialect, evidence
    m = Rig().m
    s = evidence.Session()
    for args in ('"  +1 555 0100"', "+1 555 0100", ' "+1 555 0100  " '):
        s.remote_id = None
        dialect.read(m, s, "+FTSI", args, 0)
        assert s.remote_id == "+1 555 0100", (args, s.remote_id)


def test_a_final_result_is_the_kind_no_other_line_is_and_the_module_keeps_12_names():
    """The final kind is private (at._FINAL): it is none of the public kinds, and the module
    keeps 12 names (a table of 12 slots, not 17; MicroPython's count)."""
    import sys
    kinds = (at.FAX, at.RING, at.ECHO, at.INFO)
    assert FINAL not in kinds and len(set(kinds)) == 4
    out = [None, None]
    for line in ("OK", "0", "BUSY", "CONNECT 9600", "12"):
        assert at.classify(line, out) not in kinds, line
    for name in ("FINAL", "NUMERIC", "VERBOSE"):
        assert not hasattr(at, name), name
    if sys.implementation.name == "micropython":
        assert len(at.__dict__) <= 12, sorted(at.__dict__)
