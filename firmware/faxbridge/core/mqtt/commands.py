"""Inbound commands (docs/mqtt.md "Commands"): topics, the one set of limits, small parsers.

route(suffix) -> (kind, sender, ref) names the command a topic carries (suffix = the topic
after <root>/); check_size(kind, n) refuses a payload over its limit. cmd/cancel and
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


def route(suffix, default_sender="center"):
    """suffix = topic after <root>/ -> (kind, sender, ref): kind "fax" / "cancel" / "telegram".
    Topics: cmd/fax, cmd/cancel, cmd/telegram, cmd/telegram/<sender>, cmd/telegram/<sender>/<ref>."""
    if suffix == "cmd/fax":
        return "fax", None, None
    if suffix == "cmd/cancel":
        return "cancel", None, None
    if suffix == "cmd/telegram":
        return "telegram", default_sender, None
    if suffix.startswith("cmd/telegram/"):
        # read in place (no split): the sender, then "/" and the ref, or the end
        ref = None
        for sender in ("terminal", "center"):
            e = 13 + len(sender)
            if suffix.startswith(sender, 13) and (len(suffix) == e or suffix.startswith("/", e)):
                ref = suffix[e + 1:] if len(suffix) > e else None
                break
        else:
            ref = "/"
        if ref is not None and "/" in ref:
            raise CommandError(UNKNOWN_COMMAND, "telegram topics are cmd/telegram, cmd/telegram/<sender>"
                               " and cmd/telegram/<sender>/<ref>, sender terminal or center")
        if ref is not None and not name_ok(ref, _MAX_REF):
            raise CommandError(BAD_FIELD, "telegram ref must be 1..%d of A-Z a-z 0-9 . _ : -" % _MAX_REF)
        return "telegram", sender, ref
    raise CommandError(UNKNOWN_COMMAND, "no such command: %s" % suffix)


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
