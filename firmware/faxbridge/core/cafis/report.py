"""The abnormal report CAFIS answers with (spec/cafis.md): the header of the telegram it
answers echoed, the reply's message type (異常報告 9900, or 取消報告 / 取消確認報告 for C13,
C14, C50 on fault telegrams, 表 3.3.5-2 注), trailer length set, and a trailer that begins with
the error code."""


def build(layout, buf, verdict, out=None):
    """Write the report for `verdict` about telegram `buf` into `out` (a bytearray of at least
    header + 3 bytes) and return its length; with out=None return a new bytes object.
    Returns 0 (or None without out) when the verdict has no report (accept, discard, terminal)."""
    if verdict.reply is None or verdict.code_b is None or len(buf) < layout.hlen:
        return None if out is None else 0
    hlen = layout.hlen
    code = verdict.code_b
    n = hlen + len(code)
    dst = bytearray(n) if out is None else out
    for i in range(hlen):
        dst[i] = buf[i]
    off, ln = layout.pos["msg_type"]
    for i in range(ln):
        dst[off + i] = verdict.reply[i]
    off, ln = layout.pos["trailer_len"]
    v = len(code)
    for i in range(ln - 1, -1, -1):
        dst[off + i] = 48 + v % 10
        v //= 10
    for i in range(len(code)):
        dst[hlen + i] = code[i]
    return bytes(dst) if out is None else n
