"""Text pages, property-based (CPython, hypothesis): any text lays out, nothing is lost."""
from hypothesis import given, settings, strategies as st

from faxbridge.core.fax import textpage

alphabet = st.sampled_from(list("ab cd efgh\n\n\f\t\r") + ["\u00e9", "\u20ac", "x" * 30, "\x01"])
texts = st.lists(alphabet, max_size=400).map("".join)


def _pages(doc, order):
    out = {}
    taken = 0
    row = bytearray(doc.width >> 3)
    for i in order:
        src = doc.page(i)
        rows = []
        while src.readrow(row):
            rows.append(bytes(row))
        assert len(rows) == doc.page_lines
        assert src.s[textpage.TAKEN] <= doc.body_lines    # body text lines taken on the page
        taken += src.s[textpage.TAKEN]
        out[i] = b"".join(rows)
    return out, taken


@settings(max_examples=40, deadline=None)
@given(texts, st.sampled_from((864, 1216, 1728)), st.integers(100, 300))
def test_any_text_lays_out_and_nothing_is_lost(text, width, page_lines):
    doc = textpage.TextPages(text, width, fine=False, page_lines=page_lines, station="S", when="W")
    assert doc.count >= 1
    in_order, taken = _pages(doc, range(doc.count))
    # after the last page the text is used up
    assert doc.peek() == -2
    # pages taken in any order are the same pages
    back, _ = _pages(doc, reversed(range(doc.count)))
    assert back == in_order
    # every text line the layout makes is drawn on exactly one page
    lay = textpage.TextPages(text, width, fine=False, page_lines=page_lines)   # at the text's start
    line = bytearray(doc.cols)
    n_lines = 0
    while True:
        r = lay.next(line)
        if r == -2:
            break
        if r >= 0:
            n_lines += 1
    assert taken == n_lines
    assert doc.count <= n_lines + text.count("\f") + 1
