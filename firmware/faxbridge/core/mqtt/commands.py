"""Inbound commands (docs/mqtt.md "Commands"): topics, the one set of limits, small parsers.

route(topic, o) names the command a topic carries (its suffix, after <root>/, at o), read
in the topic's bytes: one int (kind, sender, where the ref begins), no string made;
suffix(topic, o) decodes it for a refusal's words; check_size(kind, n) refuses a payload over
its limit. cmd/cancel and
cmd/telegram are small and parsed whole from the link's preallocated command buffer
(parse_cancel, parse_telegram); cmd/fax is streamed to flash by core/mqtt/faxcmd.Parser.
A command handed to the application (link.on_command) is a tuple, its kind first (no class of
its own: less code kept in RAM):
  ("fax", job, number, pages, digest)  pages = [(kind, path on flash)] from the spool,
                                       digest = crc32 of the payload (app/inbox.py makes it)
  ("cancel", job)
  ("telegram", data, sender, ref)      data: the telegram bytes; sender "terminal"/"center";
                                       ref: the sender's ref or None
Every refusal is a CommandError(reason, detail, ref) whose fields go to cmd/error as they are.
"""
import json

from micropython import const

# ---- the limits (docs/mqtt.md "Commands" shows the same numbers) ----
MAX_FAX = const(262144)      # bytes of a cmd/fax payload: streamed, never held (base64 pages included)
MAX_CANCEL = const(256)
MAX_TELEGRAM = const(2048)   # > 1024 (longest center telegram, 3.3.4-1) so too-long ones get a verdict
# (the pages of a cmd/fax and the characters of one text page: core/mqtt/faxcmd.py, beside
# its base64 limit: only the parser reads them)
MAX_JOB = const(40)
MAX_NUMBER = const(40)
_MAX_REF = const(40)         # a telegram's ref (cmd/telegram/<sender>/<ref>)
MAX_TOPIC = const(200)       # bytes of a command topic kept (<root>/cmd/...); longer: unknown_command
MAX_ANSWER = const(768)      # payload bytes of the largest answer (verdict, cmd/error, first fax/status)
# pbmz: the unit inflates with the window the zlib header declares (CINFO, RFC 1950), and a
# 32 KB window is a third of an ESP32's heap; larger windows are refused (docs/mqtt.md). Window
# bits = CINFO (the first byte's high nibble) + 8.
PBMZ_MAX_WBITS = const(10)   # 1 KB window, what faxctl writes: a larger one would be an allocation above 2 KB

# Reason codes carried by cmd/error (stable strings, documented in docs/mqtt.md).
TOO_LARGE = "too_large"
BAD_JSON = "bad_json"
MISSING = "missing_field"
BAD_FIELD = "bad_field"
UNKNOWN_FIELD = "unknown_field"
UNKNOWN_COMMAND = "unknown_command"
EMPTY = "empty"
BUSY = "busy"                # the unit cannot take it now (queue full)
REJECTED = "rejected"        # the application refused it (e.g. unknown job to cancel)
# (the list of them, for tests: host_tests/core/mqtt_helpers.REASONS)

JOB_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"


class CommandError(Exception):
    def __init__(self, reason, detail, ref=None):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.ref = ref


def name_ok(s, limit):
    """s is 1..limit characters of JOB_CHARS (job ids and telegram refs)."""
    if not isinstance(s, str) or not 1 <= len(s) <= limit:
        return False
    for ch in s:
        if ch not in JOB_CHARS:
            return False
    return True


def at(t, i, s):
    """t[i:] begins with the bytes s (t any bytes-like: read in place, nothing allocated)."""
    n = len(s)
    if i + n > len(t):
        return False
    for j in range(n):
        if t[i + j] != s[j]:
            return False
    return True


def suffix(t, o):
    """The topic's suffix (t[o:], after <root>/) as str, for a refusal's words; a topic that is
    not UTF-8 (or None: longer than the parse buffer) is refused here."""
    try:
        return str(t[o:], "utf-8")
    except (TypeError, UnicodeError):
        raise CommandError(UNKNOWN_COMMAND, "command topic not UTF-8 or longer than %d bytes" % MAX_TOPIC)


def route(t, o=0):
    """The command topic t (bytes-like; its suffix, what follows <root>/, at o) read in place ->
    one int: bits 0-1 the kind (0 fax, 1 cancel, 2 telegram), bits 2-3 the telegram's sender
    (0 the default, 1 terminal, 2 center), bits 4.. where its ref begins in t (0: none; it
    runs to the end). Topics: cmd/fax, cmd/cancel, cmd/telegram, cmd/telegram/<sender>,
    cmd/telegram/<sender>/<ref> (docs/mqtt.md "Commands"). Nothing is allocated for a good one
    (every telegram's topic is routed: issue 13)."""
    n = len(t)
    s = o
    if at(t, o, b"cmd/"):
        o += 4
        if at(t, o, b"fax") and n == o + 3:
            return 0
        if at(t, o, b"cancel") and n == o + 6:
            return 1
        if at(t, o, b"telegram") and (n == o + 8 or t[o + 8] == 0x2F):   # (else: no such command)
            o += 8
            if n == o:
                return 2
            if at(t, o, b"/terminal"):
                r, o = 6, o + 9
            elif at(t, o, b"/center"):
                r, o = 10, o + 7
            else:
                r = 0
            if r and n == o:
                return r
            if r and t[o] == 0x2F:      # "/": the ref, 1..40 of JOB_CHARS (ASCII)
                i = o = o + 1
                while i < n:
                    c = t[i]
                    if not (97 <= c <= 122 or 65 <= c <= 90 or 48 <= c <= 58 or c == 46 or c == 95
                            or c == 45):
                        break
                    i += 1
                if i == n and 0 < n - o <= _MAX_REF:
                    return r | o << 4
                while i < n and t[i] != 0x2F:   # a "/" further on: not a ref topic at all
                    i += 1
                if i == n:
                    suffix(t, s)    # not UTF-8: unknown_command, as any such topic
                    raise CommandError(BAD_FIELD, "telegram ref must be 1..%d of A-Z a-z 0-9 . _ : -"
                                       % _MAX_REF)
            suffix(t, s)
            raise CommandError(UNKNOWN_COMMAND, "telegram topics are cmd/telegram, cmd/telegram/<sender>"
                               " and cmd/telegram/<sender>/<ref>, sender terminal or center")
    raise CommandError(UNKNOWN_COMMAND, "no such command: %s" % suffix(t, s))


def check_size(kind, total):
    """Refuse an over-long payload before a byte of it is read. (An empty one never gets here:
    it is how a retained command is cleared, and gets no answer; docs/mqtt.md.)"""
    n = MAX_FAX if kind == "fax" else MAX_CANCEL if kind == "cancel" else MAX_TELEGRAM
    if total > n:
        raise CommandError(TOO_LARGE, "cmd/%s payload is %d bytes, limit %d" % (kind, total, n))


def parse_cancel(payload):
    """payload: the whole cmd/cancel payload (bytes-like, at most MAX_CANCEL) -> ("cancel", job)."""
    try:
        doc = json.loads(str(payload, "utf-8"))
    except (ValueError, UnicodeError, RuntimeError):
        raise CommandError(BAD_JSON, "not valid UTF-8 JSON")
    if not isinstance(doc, dict):
        raise CommandError(BAD_JSON, "payload must be a JSON object")
    job = doc.get("job")
    if job is None:
        raise CommandError(MISSING, "job is required")
    if not name_ok(job, MAX_JOB):
        raise CommandError(BAD_FIELD, "job must be 1..%d of A-Z a-z 0-9 . _ : -" % MAX_JOB)
    for k in doc:
        if k != "job":
            raise CommandError(UNKNOWN_FIELD, "unknown field %s" % json.dumps(k), job)
    return "cancel", job


def parse_telegram(payload, sender, ref=None):
    """payload: the whole telegram (bytes-like, 1..MAX_TELEGRAM bytes) -> ("telegram", its
    bytes copied, sender, ref)."""
    return "telegram", bytes(payload), sender, ref
