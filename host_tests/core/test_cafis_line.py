"""The telegram line (core/cafis/line.py, docs/unit.md "Telegram line"): framing, sender prefix,
hex, and every bad line answered once. Both runtimes."""
from support import consts

from faxbridge.core.cafis import line as _line
from faxbridge.core.cafis.line import Line

# private in line.py (no module name each): read from its source
MAX_LINE = consts(_line, "_MAX_LINE ")["_MAX_LINE"]
MAX_PREFIX = consts(_line, "_MAX_PREFIX ")["_MAX_PREFIX"]

NOT_HEX = (None, "bad_field", "telegram line is not hex")


def _results(ln, data):
    """Every line finished in data, as (sender, center, bytes) or (None, reason, detail)."""
    out = []
    i = 0
    while True:
        i = ln.feed(data, i)
        if i < 0:
            return out
        if ln.who is None:
            out.append((None, ln.where, ln.why))
        else:
            out.append((ln.who, ln.where, bytes(ln.data[:ln.k])))


def _feed(data, sender="center", center="", max_line=MAX_LINE):
    return _results(Line(sender, center, max_line), data)


def test_the_hex_alone_takes_the_configured_sender_and_center():
    assert _feed(b"30313233\n") == [("center", None, b"0123")]
    assert _feed(b"3031\n", "terminal", "B") == [("terminal", "B", b"01")]
    assert _feed(b"3a3A\n") == [("center", None, b"::")]


def test_a_sender_prefix_names_the_sender_and_center():
    assert _feed(b"center:A 3030\n", "terminal", "Z") == [("center", "A", b"00")]
    assert _feed(b"terminal 3031\n", "center", "Z") == [("terminal", "Z", b"01")]
    assert _feed(b"center: 3032\n", "terminal", "Z") == [("center", "Z", b"02")]
    assert _feed(b"  center:AB\t 3033  \n") == [("center", "AB", b"03")]


def test_a_first_word_that_is_no_sender_is_ignored():
    assert _feed(b"foo:A 3030\n", "terminal") == [("terminal", None, b"00")]
    assert _feed(b"centre:A 3030\n") == [("center", None, b"00")]


def test_a_prefix_that_is_not_utf8_is_no_sender_prefix():
    assert _feed(b"\xff\xfe:A1 3030\n", "terminal") == [("terminal", None, b"00")]
    assert _feed(b"center:\xff 3030\n", "terminal") == [("terminal", None, b"00")]


def test_a_prefix_longer_than_the_limit_is_no_sender_prefix():
    word = b"center:" + b"A" * (MAX_PREFIX - 7)
    assert _feed(word + b" 3030\n", "terminal") == [("center", "A" * (MAX_PREFIX - 7), b"00")]
    assert _feed(word + b"A 3030\n", "terminal") == [("terminal", None, b"00")]


def test_lf_cr_and_crlf_end_lines_and_empty_lines_are_skipped():
    got = _feed(b"3030\r\n3031\n\n\r3032\r\r\n3033\n")
    assert got == [("center", None, b"00"), ("center", None, b"01"), ("center", None, b"02"),
                   ("center", None, b"03")], got


def test_a_line_split_across_reads_is_one_telegram():
    ln = Line("center", "")
    got = []
    for chunk in (b"cen", b"ter:", b"Q 30", b"3", b"1\r", b"\n32", b"33\n"):
        got.extend(_results(ln, memoryview(chunk)))
    assert got == [("center", "Q", b"01"), ("center", None, b"23")], got


def test_a_line_without_its_end_yields_nothing_yet():
    ln = Line("center", "")
    assert _results(ln, b"3030") == []
    assert _results(ln, b"\n") == [("center", None, b"00")]


def test_bad_hex_is_refused_once_and_the_next_line_is_read():
    for bad in (b"zz", b"303", b"30 30 30", b"center:A 30 30", b"center:A zz", b" \t ", b"30-31",
                b"center:A", b"\x00\x01"):
        got = _feed(bad + b"\n3130\n")
        assert got == [NOT_HEX, ("center", None, b"10")], (bad, got)


def test_a_line_longer_than_the_buffer_is_refused_once_and_its_tail_dropped():
    tail = b"30" * 50                       # valid hex: read as a telegram of its own before
    got = _feed(b"31" * (MAX_LINE // 2) + b"3" + tail + b"\n3132\n")
    assert got == [(None, "too_large", "telegram line longer than %d characters" % MAX_LINE),
                   ("center", None, b"12")], got[:3]


def test_a_line_of_exactly_the_limit_is_taken():
    got = _feed(b"31" * (MAX_LINE // 2) + b"\n")
    assert got == [("center", None, b"1" * (MAX_LINE // 2))]


def test_the_buffers_are_allocated_once_never_grow_and_stay_under_2_kb():
    ln = Line("center", "", 8)
    data, head = ln.data, ln.head
    got = _results(ln, b"3031323334353637383940\n30313233\n" + b"c" * 100 + b"\n")
    assert got == [(None, "too_large", "telegram line longer than 8 characters"),
                   ("center", None, b"0123"),
                   (None, "too_large", "telegram line longer than 8 characters")], got
    assert ln.data is data and len(data) == 4 and ln.head is head and len(head) == MAX_PREFIX + 1
    big = Line("center", "")
    assert len(big.data) + len(big.head) < 1200 and len(big.data) < 2048


def test_upper_and_lower_case_hex_and_every_byte_value():
    raw = bytes(range(256))
    got = _feed(raw.hex().encode() + b"\n" + raw.hex().upper().encode() + b"\n")
    assert got == [("center", None, raw), ("center", None, raw)]


def test_a_prefix_word_that_is_hex_is_still_the_prefix_of_two_words():
    assert _feed(b"3031 3233\n") == [("center", None, b"23")]


def test_a_too_long_line_ended_across_reads_is_refused_once():
    ln = Line("center", "", 4)
    got = []
    for chunk in (b"3030", b"30", b"3030303030", b"30\r", b"\n3031\n"):
        got.extend(_results(ln, chunk))
    assert got == [(None, "too_large", "telegram line longer than 4 characters"),
                   ("center", None, b"01")], got


def test_feed_reads_only_up_to_end_and_resumes_after_the_line():
    ln = Line("center", "")
    buf = bytearray(b"3031\n3233\nzzzz")
    assert ln.feed(buf, 0, 9) == 5 and (ln.who, ln.where, bytes(ln.data[:ln.k])) == ("center", None, b"01")
    assert ln.feed(buf, 5, 9) == -1                  # "3233" read, its line end not yet
    assert ln.feed(buf, 9, 10) == 10 and bytes(ln.data[:ln.k]) == b"23"


def test_a_center_named_again_is_the_same_str_and_a_new_one_replaces_it():
    ln = Line("terminal", "Z")
    assert ln.feed(b"center:AB 3030\n") > 0
    first = ln.where
    assert ln.feed(b"center:AB 3031\n") > 0 and ln.where is first and ln.where == "AB"
    assert ln.feed(b"center:AC 3031\n") > 0 and ln.where == "AC" and ln.who == "center"
    assert ln.feed(b"center:\xc3\xa9 3032\n") > 0 and ln.where == "\xe9"      # UTF-8 é
    assert ln.feed(b"center:\xe9 3032\n") > 0 and (ln.who, ln.where) == ("terminal", "Z")   # not UTF-8


def test_framing_a_line_allocates_nothing():
    """Hex decoded into the Line's buffer, the prefix compared in place, the center named
    before reused (MicroPython: gc.mem_alloc, the second pass; CPython: the results only)."""
    import gc
    import sys
    mp = sys.implementation.name == "micropython"
    ln = Line("center", "")
    mv = memoryview(b"center:A " + b"30" * 200 + b"\r\n" + b"terminal " + b"31" * 47 + b"\n3233\n")
    for warm in (False, True):
        i = got = 0
        if mp:
            gc.collect()
            gc.disable()
            a = gc.mem_alloc()
        try:
            while True:
                i = ln.feed(mv, i)
                if i < 0:
                    break
                got += ln.k
            used = gc.mem_alloc() - a if mp else 0
        finally:
            if mp:
                gc.enable()
        assert got == 200 + 47 + 2
        assert used == 0 or not warm, used


def test_the_limits_are_private_constants():
    """The line's limits are const() with a leading underscore: no module name each (issue 13)."""
    assert MAX_LINE == 2 * 1024 + 64 and MAX_PREFIX == 64
    assert not hasattr(_line, "MAX_LINE") and not hasattr(_line, "MAX_PREFIX")
