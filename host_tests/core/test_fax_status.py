from faxbridge.core.fax import dialect, status


def test_every_table_5_5_code_has_phase_and_text():
    rows = dialect.CLASS2["hangup_text"][0].split("\n")[1:]      # "<code> <text>", a row a line
    assert len(rows) == 40
    for code, txt in (r.split(" ", 1) for r in rows):
        code = int(code)
        c, ph, t = dialect.describe_hangup(code)
        assert c == code and t == txt and ph is not None


def test_phases_follow_table_headings():
    assert dialect.describe_hangup(0)[1] == "call"
    assert dialect.describe_hangup(11)[1] == "A"
    assert dialect.describe_hangup(25)[1] == "B"
    assert dialect.describe_hangup(43)[1] == "C"
    assert dialect.describe_hangup(54)[1] == "D"
    assert dialect.describe_hangup(73)[1] == "rB"
    assert dialect.describe_hangup(91)[1] == "rC"
    assert dialect.describe_hangup(101)[1] == "rD"
    assert dialect.describe_hangup(200)[1] == "recv"
    assert dialect.describe_hangup(300)[1] is None


def test_unlisted_code_gets_group_heading():
    assert dialect.describe_hangup(45)[2] == "Transmit Phase C Hangup Codes"
    assert dialect.describe_hangup(999) == (999, None, "Unknown hang-up code")


def test_hangup_mapping_per_spec():
    expect = {0: 0, 1: 488, 2: 7200, 3: 205001, 10: 9001, 11: 9001, 20: 3211, 21: 3211,
              24: 3211, 25: 3224, 26: 3211, 27: 3233, 28: 3211, 40: 3268, 43: 205001,
              50: 3268, 58: 3268, 70: 7200, 91: 7200, 101: 7200}
    for hsc, code in expect.items():
        assert status.from_hangup(hsc) == code, (hsc, status.from_hangup(hsc), code)


def test_result_mapping_per_spec():
    assert status.from_result("BUSY") == 263
    assert status.from_result("NO ANSWER") == 8021
    assert status.from_result("NO CARRIER") == 3912
    assert status.from_result("VOICE") == 3936
    assert status.from_result("NO DIALTONE") == 205001
    assert status.from_result("ERROR") == 6027
    assert status.from_result("OK") is None
    # the rows are one str read in place: only a whole result at a row's start is one
    for r in ("", "NO", "NO DIAL", "BUSY 263", "263", "USY", "ERRORS", "\nBUSY", " BUSY", "busy", "BUSY\n"):
        assert status.from_result(r) is None, r
    assert status.from_result("NO DIAL TONE") == 205001
    assert status.from_result("NO CARRIER", status.ANSWER_RESULTS) == 488


def test_every_mapped_code_is_known_and_final_rules():
    for t in (status.RESULTS, status.ANSWER_RESULTS):      # "\n<result> <code>", row by row
        rows = t.split("\n")
        assert rows[0] == "" and len(rows) > 2
        for r in rows[1:]:
            name, code = r.rsplit(" ", 1)
            assert status.from_result(name, t) == int(code) and status.category(int(code)) != "unknown", r
    t = status.HANGUPS
    assert len(t) % 3 == 0
    for k in range(2, len(t), 3):
        assert status.category(t[k]) != "unknown", t[k]
    assert status.category(-3) == "in progress" and status.category(0) == "success"
    assert status.category(12345) == "unknown" and status.category(3) == "unknown"
    assert status.category(-2) == "in progress" and status.category(205001) == "system error"
    rows = status.CODES.split("\n")    # "\n<code> <category>", row by row
    assert rows[0] == "" and len(rows) == 23
    for r in rows[1:]:
        code, cat = r.split(" ", 1)
        assert status.category(int(code)) == cat and cat and cat != "unknown", r
    assert 263 in status.RETRYABLE and 6002 not in status.RETRYABLE and 403 not in status.RETRYABLE
    assert status.category(263) == "busy"


def test_answer_results_never_use_dialling_codes():
    a = status.ANSWER_RESULTS
    assert status.from_result("VOICE", a) == 3936
    assert status.from_result("NO CARRIER", a) == 488
    for r in ("ERROR", "BUSY", "NO DIALTONE", "NO ANSWER", "3"):
        assert status.from_result(r, a) is None, r    # c2call.call_failed: 205001
