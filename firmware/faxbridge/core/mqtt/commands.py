"""Inbound commands (spec/mqtt.md): cmd/fax, cmd/cancel, cmd/telegram, validated.

parse(suffix, payload, total) -> Fax | Cancel | Telegram, or raises CommandError(reason,
detail, ref) whose fields go to cmd/error as they are. `suffix` is the topic after <root>/,
`payload` the (possibly truncated) bytes, `total` the payload's real length on the wire.

Formats (docs/mqtt.md "Commands"):
  cmd/fax       {"job":"J1","number":"0312345678","pages":[{"text":"..."},{"pbm":"<b64>"},
                 {"pbmz":"<b64 of zlib(pbm)>"}]}
  cmd/cancel    {"job":"J1"}
  cmd/telegram  the raw telegram bytes; cmd/telegram/terminal and cmd/telegram/center name the
                sender (plain cmd/telegram means the configured default sender)
"""
import binascii
import json

from micropython import const

from faxbridge.core.fax import dial

MAX_FAX = const(24576)       # bytes of a cmd/fax payload (base64 pages included)
MAX_CANCEL = const(256)
MAX_TELEGRAM = const(2048)   # > 1024 (longest center telegram, 3.3.4-1) so too-long ones get a verdict
MAX_PAGES = const(50)
MAX_TEXT = const(16000)      # characters of one text page
MAX_JOB = const(40)
MAX_NUMBER = const(40)
# pbmz: the unit inflates with the window the zlib header declares (CINFO, RFC 1950), and a
# 32 KB window is a third of an ESP32's heap; larger windows are refused (docs/mqtt.md).
PBMZ_MAX_WBITS = const(12)   # 4 KB; faxctl compresses with wbits=10 (1 KB)

# Reason codes carried by cmd/error (stable strings, documented in docs/mqtt.md).
TOO_LARGE = "too_large"
BAD_JSON = "bad_json"
MISSING = "missing_field"
BAD_FIELD = "bad_field"
UNKNOWN_FIELD = "unknown_field"
UNKNOWN_COMMAND = "unknown_command"
EMPTY = "empty"
BUSY = "busy"                # the unit cannot take it now (outbox full, queue full)
REJECTED = "rejected"        # the application refused it (e.g. unknown job to cancel)
REASONS = (TOO_LARGE, BAD_JSON, MISSING, BAD_FIELD, UNKNOWN_FIELD, UNKNOWN_COMMAND, EMPTY,
           BUSY, REJECTED)

JOB_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
# The dial alphabet is the driver's (core/fax/dial.py, one definition; docs/fax.md "Dial policy").
DIAL_CHARS = dial.DIAL_CHARS
SENDERS = ("terminal", "center")


class CommandError(Exception):
    def __init__(self, reason, detail, ref=None):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.ref = ref


class Fax:
    """A fax job: pages is a list of (kind, data): ("text", str), ("pbm", bytes),
    ("pbmz", bytes of zlib-compressed PBM)."""

    def __init__(self, job, number, pages):
        self.job = job
        self.number = number
        self.pages = pages


class Cancel:
    def __init__(self, job):
        self.job = job


class Telegram:
    def __init__(self, data, sender):
        self.data = data
        self.sender = sender


def _json(payload, total, limit, cmd):
    if total > limit:
        raise CommandError(TOO_LARGE, "%s payload is %d bytes, limit %d" % (cmd, total, limit))
    if total == 0:
        raise CommandError(EMPTY, "empty payload")
    try:
        doc = json.loads(str(payload, "utf-8"))
    except (ValueError, UnicodeError, RuntimeError, MemoryError) as e:
        raise CommandError(BAD_JSON, "not valid UTF-8 JSON: %s" % (e,))
    if not isinstance(doc, dict):
        raise CommandError(BAD_JSON, "payload must be a JSON object")
    return doc


def _allowed(doc, keys, ref=None):
    for k in doc:
        if k not in keys:
            raise CommandError(UNKNOWN_FIELD, "unknown field %s" % json.dumps(k), ref)


def _job(doc):
    j = doc.get("job")
    if j is None:
        raise CommandError(MISSING, "job is required")
    if not isinstance(j, str) or not 1 <= len(j) <= MAX_JOB:
        raise CommandError(BAD_FIELD, "job must be a string of 1..%d characters" % MAX_JOB)
    for ch in j:
        if ch not in JOB_CHARS:
            raise CommandError(BAD_FIELD, "job may hold only letters, digits and . _ : -")
    return j


def _number(doc, ref):
    n = doc.get("number")
    if n is None:
        raise CommandError(MISSING, "number is required", ref)
    if not isinstance(n, str) or not 1 <= len(n) <= MAX_NUMBER:
        raise CommandError(BAD_FIELD, "number must be a string of 1..%d characters" % MAX_NUMBER, ref)
    code, why = dial.form(n, 2 * MAX_NUMBER)   # the length limit is the one above
    if code is not None:
        raise CommandError(BAD_FIELD, "number: " + why, ref)
    return n


def _b64(s, where, ref):
    if not isinstance(s, str) or not s:
        raise CommandError(BAD_FIELD, where + " must be a non-empty base64 string", ref)
    try:
        return binascii.a2b_base64(s)
    except ValueError:  # binascii.Error is a ValueError on CPython
        raise CommandError(BAD_FIELD, where + " is not valid base64", ref)


def pbmz_wbits(head):
    """The window bits a zlib stream's header declares (CINFO + 8, RFC 1950)."""
    return (head[0] >> 4) + 8


def _page(i, p, ref):
    where = "pages[%d]" % i
    if not isinstance(p, dict) or len(p) != 1:
        raise CommandError(BAD_FIELD, where + ' must be an object with one of "text", "pbm", "pbmz"', ref)
    for kind in p:
        v = p[kind]
        if kind == "text":
            if not isinstance(v, str):
                raise CommandError(BAD_FIELD, where + ".text must be a string", ref)
            if len(v) > MAX_TEXT:
                raise CommandError(TOO_LARGE, where + ".text longer than %d characters" % MAX_TEXT, ref)
            return ("text", v)
        if kind == "pbm":
            data = _b64(v, where + ".pbm", ref)
            if data[:2] not in (b"P1", b"P4"):
                raise CommandError(BAD_FIELD, where + ".pbm is not a PBM image (P1/P4)", ref)
            return ("pbm", data)
        if kind == "pbmz":
            data = _b64(v, where + ".pbmz", ref)
            if len(data) < 2 or data[0] & 0x0F != 8 or ((data[0] << 8) | data[1]) % 31:
                raise CommandError(BAD_FIELD, where + ".pbmz is not zlib data", ref)
            wbits = pbmz_wbits(data)
            if wbits > PBMZ_MAX_WBITS:
                raise CommandError(BAD_FIELD, "%s.pbmz declares a %d-byte zlib window, at most %d: compress "
                                   "with wbits <= %d (zlib.compressobj(9, zlib.DEFLATED, 10))"
                                   % (where, 1 << wbits, 1 << PBMZ_MAX_WBITS, PBMZ_MAX_WBITS), ref)
            return ("pbmz", data)
        raise CommandError(UNKNOWN_FIELD, where + ": unknown page kind %s" % json.dumps(kind), ref)


def parse_fax(payload, total):
    doc = _json(payload, total, MAX_FAX, "cmd/fax")
    job = _job(doc)
    _allowed(doc, ("job", "number", "pages"), job)
    number = _number(doc, job)
    pages = doc.get("pages")
    if pages is None:
        raise CommandError(MISSING, "pages is required", job)
    if not isinstance(pages, list) or not pages:
        raise CommandError(BAD_FIELD, "pages must be a non-empty list", job)
    if len(pages) > MAX_PAGES:
        raise CommandError(TOO_LARGE, "%d pages, limit %d" % (len(pages), MAX_PAGES), job)
    out = []
    for i in range(len(pages)):
        out.append(_page(i, pages[i], job))
        pages[i] = None  # let the decoded copy replace the base64 text in memory
    return Fax(job, number, out)


def parse_cancel(payload, total):
    doc = _json(payload, total, MAX_CANCEL, "cmd/cancel")
    job = _job(doc)
    _allowed(doc, ("job",), job)
    return Cancel(job)


def parse_telegram(payload, total, sender):
    if total > MAX_TELEGRAM:
        raise CommandError(TOO_LARGE, "telegram is %d bytes, limit %d" % (total, MAX_TELEGRAM))
    if total == 0:
        raise CommandError(EMPTY, "empty telegram")
    return Telegram(bytes(payload), sender)


def parse(suffix, payload, total, default_sender="center"):
    """Parse one command; suffix is the topic after <root>/ (e.g. 'cmd/fax')."""
    if suffix == "cmd/fax":
        return parse_fax(payload, total)
    if suffix == "cmd/cancel":
        return parse_cancel(payload, total)
    if suffix == "cmd/telegram":
        return parse_telegram(payload, total, default_sender)
    if suffix.startswith("cmd/telegram/"):
        s = suffix[13:]
        if s not in SENDERS:
            raise CommandError(UNKNOWN_COMMAND, "telegram sender must be terminal or center")
        return parse_telegram(payload, total, s)
    raise CommandError(UNKNOWN_COMMAND, "no such command: %s" % suffix)


def name(cmd):
    """The command's name as it appears in cmd/error ('fax', 'cancel', 'telegram')."""
    if isinstance(cmd, Fax):
        return "fax"
    if isinstance(cmd, Cancel):
        return "cancel"
    return "telegram"
