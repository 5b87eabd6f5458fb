"""The abnormal report CAFIS answers with (spec/cafis.md): the header of the telegram it
answers echoed, the reply's message type (異常報告 9900, or 取消報告 / 取消確認報告 for C13,
C14, C50 on fault telegrams, 表 3.3.5-2 注), trailer length set, and a trailer that begins with
the error code."""


def build(hlen, at, buf, verdict, out=None):
    """Write the report for `verdict` about telegram `buf` (its header: hlen bytes) into `out` (a
    bytearray of at least hlen + 3 bytes) and return its length; with out=None return a new bytes
    object. at: offset and length of the message type, then of the trailer length, in its first 4
    bytes (the Checker's compiled ix; the engine passes its own). Returns 0 (or None without
    out) when the verdict has no report (accept, discard, terminal)."""
    code = verdict.code
    if verdict.reply is None or code is None or len(buf) < hlen:
        return None if out is None else 0
    n = hlen + len(code)
    dst = bytearray(n) if out is None else out
    for i in range(hlen):
        dst[i] = buf[i]
    off = at[0]
    for i in range(at[1]):
        dst[off + i] = verdict.reply[i]
    off = at[2]
    v = len(code)
    for i in range(at[3] - 1, -1, -1):
        dst[off + i] = 48 + v % 10
        v //= 10
    for i in range(len(code)):
        dst[hlen + i] = ord(code[i])
    return bytes(dst) if out is None else n
