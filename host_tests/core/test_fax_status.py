from faxbridge.core.fax import hangup, status


def test_every_table_5_5_code_has_phase_and_text():
    rows = hangup.CODES.split("\n")[1:]      # "<code> <text>", a row a line
    assert len(rows) == 40
    for code, txt in (r.split(" ", 1) for r in rows):
        code = int(code)
        c, ph, t = hangup.describe(code)
        assert c == code and t == txt and ph is not None


def test_phases_follow_table_headings():
    assert hangup.phase(0) == "call"
    assert hangup.phase(11) == "A"
    assert hangup.phase(25) == "B"
    assert hangup.phase(43) == "C"
    assert hangup.phase(54) == "D"
    assert hangup.phase(73) == "rB"
    assert hangup.phase(91) == "rC"
    assert hangup.phase(101) == "rD"
    assert hangup.phase(200) == "recv"
    assert hangup.phase(300) is None


def test_unlisted_code_gets_group_heading():
    assert hangup.describe(45)[2] == "Transmit Phase C Hangup Codes"
    assert hangup.describe(999) == (999, None, "Unknown hang-up code")


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


def test_every_mapped_code_is_known_and_final_rules():
    for _, code in status.RESULTS:
        assert code in status.CODES
    for _, _, code in status.HANGUPS:
        assert code in status.CODES
    assert status.category(-3) == "in progress" and status.category(0) == "success"
    assert status.category(12345) == "unknown" and 12345 not in status.CODES
    t = status.CODES                    # code, category, row by row
    assert len(t) % 2 == 0 and [1 for k in range(0, len(t), 2)
                                if not isinstance(t[k], int) or not isinstance(t[k + 1], str)] == []
    assert 263 in status.RETRYABLE and 6002 not in status.RETRYABLE and 403 not in status.RETRYABLE
    assert status.category(263) == "busy"


def test_answer_results_never_use_dialling_codes():
    assert status.from_answer("VOICE") == 3936
    assert status.from_answer("NO CARRIER") == 488
    for r in ("ERROR", "BUSY", "NO DIALTONE", "NO ANSWER", "3"):
        assert status.from_answer(r) == 205001, r
