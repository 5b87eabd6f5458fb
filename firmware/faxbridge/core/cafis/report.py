"""The abnormal report CAFIS answers with (spec/cafis.md): the header of the telegram it
answers echoed, the reply's message type (異常報告 9900, or 取消報告 / 取消確認報告 for C13,
C14, C50 on fault telegrams, 表 3.3.5-2 注), trailer length set, and a trailer that begins with
the error code."""
from . import layout as _lay


def build(layout, buf, verdict, out=None):
    """Write the report for `verdict` about telegram `buf` into `out` (a bytearray of at least
    header + 3 bytes) and return its length; with out=None return a new bytes object.
    Returns 0 (or None without out) when the verdict has no report (accept, discard, terminal)."""
    code = verdict.code
    if verdict.reply is None or code is None or len(buf) < layout.hlen:
        return None if out is None else 0
    hlen = layout.hlen
    n = hlen + len(code)
    dst = bytearray(n) if out is None else out
    for i in range(hlen):
        dst[i] = buf[i]
    r = layout.row("msg_type")
    off = r[_lay.F_OFF]                       # the row itself: no tuple made per report
    for i in range(r[_lay.F_LEN]):
        dst[off + i] = verdict.reply[i]
    r = layout.row("trailer_len")
    off = r[_lay.F_OFF]
    v = len(code)
    for i in range(r[_lay.F_LEN] - 1, -1, -1):
        dst[off + i] = 48 + v % 10
        v //= 10
    for i in range(len(code)):
        dst[hlen + i] = ord(code[i])
    return bytes(dst) if out is None else n
