"""What a check answers: the verdict kinds and Verdict, the one object a Checker refills
(checks.py) and the session engine builds its own with (cafisside.py). The 3.3.5 catalogue
(errors.py) is not imported here: tools look a verdict's guidance up with
errors.guidance(v.code, v.fault), and the unit never loads it (the board's import graph does
not reach it)."""

# The four kinds are "accept", "discard", "abnormal_report" and "terminal_error" (Verdict.kind).
# Named here: the two the engine compares against (cafisside); the checks write all four as
# literals (each module-level name is a slot of the module's table when frozen). The response
# 異常報告 and the codes 取消報告 / 取消確認報告 carry (表 3.3.5-2 注) are errors.ABN and
# errors.CANCEL_REPORT_CODES (tools only); the checks write them as literals too.
ACCEPT = "accept"
ABNORMAL = "abnormal_report"


class Verdict:
    """One verdict. kind: accept / discard / abnormal_report / terminal_error; code: Cnn, CAFnn
    or None; rule: '3.3.4-2 #3' or None (source and row below); field: the seed's item name or None; section: the part
    of 3.3.4 (2) the telegram was checked under ('A'..'F(b)'); handling: the 表 3.3.4-7 row for
    state errors; response: the telegram CAFIS answers with (異常報告, 取消報告, 取消確認報告);
    reply: its message type (bytes); fault: True for fault telegrams (guidance from 表 3.3.5-2).
    A Checker returns its one Verdict, refilled by every check; Verdict().set(...) makes one;
    report() writes the abnormal report it answers with (the module report.py once did).
    (kind, code, rule, field) is what tests and tools compare.
    The rule is kept as source and row: a rule in full ('3.3.4 A(a)') and row 0, or a numbered
    content table's head ('3.3.4-2 #') and the row's number (3), which the unit writes as one
    JSON string without building it (contract.cafis_verdict); rule() joins them (a new str)."""

    def set(self, kind, code, rule, field, section, handling, response, reply, fault, row=0):
        """Fill in this verdict; rule: the rule in full, or with row > 0 the head it follows."""
        self.kind = kind
        self.code = code
        self.source = rule
        self.row = row
        self.field = field
        self.section = section
        self.handling = handling
        self.response = response
        self.reply = reply
        self.fault = fault
        return self

    def report(self, hlen, at, buf, out=None):
        """The abnormal report CAFIS answers this verdict with (spec/cafis.md): the header of
        telegram `buf` (hlen bytes) echoed, the reply's message type (異常報告 9900, or 取消報告 /
        取消確認報告 for C13, C14, C50 on fault telegrams, 表 3.3.5-2 注), the trailer length set and
        a trailer that begins with the error code. Written into `out` (a bytearray of at least
        hlen + 3 bytes), its length returned; with out=None a new bytes object. at: offset and
        length of the message type, then of the trailer length, in its first 4 bytes (the
        Checker's compiled ix; the engine passes its own). 0 (None without out) when the
        verdict has no report (accept, discard, terminal)."""
        code = self.code
        if self.reply is None or code is None or len(buf) < hlen:
            return None if out is None else 0
        n = hlen + len(code)
        dst = bytearray(n) if out is None else out
        for i in range(hlen):
            dst[i] = buf[i]
        off = at[0]
        for i in range(at[1]):
            dst[off + i] = self.reply[i]
        off = at[2]
        v = len(code)
        for i in range(at[3] - 1, -1, -1):
            dst[off + i] = 48 + v % 10
            v //= 10
        for i in range(len(code)):
            dst[hlen + i] = ord(code[i])
        return bytes(dst) if out is None else n

    def rule(self):
        """The rule in full ('3.3.4-2 #3'), or None: a new str (tools and tests; the unit writes
        source and row). A method, not a property: a class with a property makes every
        attribute store on its instances look the class up first, and set() stores ten
        (MicroPython; the discard and CAF03 checks ran at half their rate)."""
        return self.source if not self.row else "%s%d" % (self.source, self.row)

    def __repr__(self):
        return "Verdict(%r, %r, %r, %r)" % (self.kind, self.code, self.rule(), self.field)
