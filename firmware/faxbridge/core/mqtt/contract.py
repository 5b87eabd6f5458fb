"""The MQTT contract (spec/mqtt.md): topics, QoS, retain, event classes, JSON payloads.

Payloads are built from ORDERED (key, value) pairs, never from dicts (MicroPython dicts have
no order), so the same event gives the same bytes on every runtime:
  {"unit":"u1","seq":42,"job":"j7","code":0,...}
Value encoding: str/int/float/bool/None as JSON; bytes -> lowercase hex string; list -> JSON
array; tuple of (key, value) pairs -> nested ordered object; dict -> object, keys sorted.
"""
import binascii
import json

from micropython import const

PREFIX = "faxbridge"

AVAILABILITY = "availability"
FAX_STATUS = "fax/status"
FAX_RECEIVED = "fax/received"
CAFIS_VERDICT = "cafis/verdict"
TELEMETRY = "telemetry"
CMD_FAX = "cmd/fax"
CMD_CANCEL = "cmd/cancel"
CMD_TELEGRAM = "cmd/telegram"
CMD_ERROR = "cmd/error"
FAX_PAGE = "fax/page"    # fax/page/<fax id>/<n>: a JSON head line, then the page's T.4 (docs/mqtt.md)
ONLINE = b"online"
OFFLINE = b"offline"

# Event classes, for the outbox's full policy (docs/mqtt.md "When the outbox is full").
ANSWER = const(3)     # a command's answer (verdict, job's first fax/status, cmd/error): room reserved
RESULT = const(2)     # final fax status, received fax, CAFIS verdict: never dropped
PROGRESS = const(1)   # in-progress fax status, cmd/error replies: refused above the soft limit
TELEMETRY_CLASS = const(0)  # periodic, QoS 0, not persisted: dropped first

# Outbound topics: suffix, qos, retain (spec/mqtt.md table rows 1-5 and cmd/error).
OUT = (
    (AVAILABILITY, 1, True),
    (FAX_STATUS, 1, False),
    (FAX_RECEIVED, 1, False),
    (CAFIS_VERDICT, 1, False),
    (TELEMETRY, 0, False),
    (CMD_ERROR, 1, False),
    (FAX_PAGE, 1, False),
)
# Inbound: every <root>/cmd/# topic is subscribed at QoS 1 (docs/mqtt.md "Commands").
CMD_FILTER = "cmd/#"

# Event kinds the application may emit through the outbox (all QoS 1, in seq order).
EVENT_TOPICS = (FAX_STATUS, FAX_RECEIVED, CAFIS_VERDICT, CMD_ERROR)


def root(unit, prefix=PREFIX):
    """`<root>` of the contract: faxbridge/<unit-id>."""
    check_unit(unit)
    if not prefix or "+" in prefix or "#" in prefix or "\x00" in prefix or prefix[0] == "/" or prefix[-1] == "/":
        raise ValueError("prefix must be a topic name without wildcards or outer slashes")
    return prefix + "/" + unit


def check_unit(unit):
    if not unit or len(unit) > 64:
        raise ValueError("unit id must be 1..64 characters")
    for ch in unit:
        if ch in "/+#\x00" or ord(ch) < 33:
            raise ValueError("unit id must not contain / + # or blanks")
    return unit


def qos_of(suffix):
    for s, q, _r in OUT:
        if s == suffix:
            return q
    raise ValueError("not an outbound topic: %s" % suffix)


MAX_PAYLOAD = const(2000)   # bytes: every payload is built in one preallocated buffer (no growth)


class _Writer:
    """The one buffer payloads are written into, piece by piece: nothing grows with the
    payload (a list of pieces or a join would), the only allocation of its size is the bytes
    handed out at the end (at most MAX_PAYLOAD). Not reentrant: one payload at a time."""

    def __init__(self):
        self.buf = bytearray(MAX_PAYLOAD)
        self.mv = memoryview(self.buf)
        self.n = 0

    def put(self, s):
        b = s if isinstance(s, (bytes, bytearray)) else s.encode()
        n = self.n
        m = n + len(b)
        if m > MAX_PAYLOAD:
            raise ValueError("payload over %d bytes" % MAX_PAYLOAD)
        self.mv[n:m] = b
        self.n = m

    def take(self):
        b = bytes(self.mv[:self.n])
        self.n = 0
        return b


_w = _Writer()


def _str(v, out):
    # fast path: printable ASCII without quote or backslash needs no escaping (most fields)
    for ch in v:
        if ch < " " or ch > "~" or ch == '"' or ch == "\\":
            out.put(json.dumps(v))
            return
    out.put('"')
    out.put(v)
    out.put('"')


def _val(v, out):
    """Write the JSON text of v (see the module docstring for the mapping)."""
    if v is None:
        out.put("null")
    elif v is True:
        out.put("true")
    elif v is False:
        out.put("false")
    elif isinstance(v, str):
        _str(v, out)
    elif isinstance(v, int):
        out.put("%d" % v)
    elif isinstance(v, tuple):
        _obj(v, out)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        out.put('"')
        out.put(binascii.hexlify(v))
        out.put('"')
    elif isinstance(v, list):
        out.put("[")
        first = True
        for x in v:
            if not first:
                out.put(",")
            first = False
            _val(x, out)
        out.put("]")
    elif isinstance(v, dict):
        _obj(tuple((k, v[k]) for k in sorted(v)), out)
    elif isinstance(v, float):
        out.put(json.dumps(v))
    else:
        raise TypeError("cannot encode %r as JSON" % (type(v),))


def _obj(pairs, out, first=True):
    if first:
        out.put("{")
    for k, v in pairs:
        if not first:
            out.put(",")
        first = False
        _str(k, out)
        out.put(":")
        _val(v, out)
    out.put("}")


def _build(fn, *a):
    """Run a writer function on the shared buffer; the payload as bytes."""
    _w.n = 0
    try:
        fn(*a, _w)
    except Exception:
        _w.n = 0
        raise
    return _w.take()


def value(v):
    """One JSON value as str (see the module docstring for the mapping)."""
    return _build(_val, v).decode()


def obj(pairs):
    """An ordered JSON object from (key, value) pairs, as str."""
    return _build(_obj, pairs).decode()


def obj_bytes(pairs):
    """The same as obj(), as bytes (what a PUBLISH carries: no second copy)."""
    return _build(_obj, pairs)


def _head(name, unit, seq, out):
    out.put('{"unit":')
    _str(unit, out)
    out.put(',"%s":%d' % (name, seq))


def _event(unit, seq, pairs, out):
    _head("seq", unit, seq, out)
    _obj(pairs, out, False)


def event(unit, seq, pairs):
    """The payload of one event: unit and seq first, then the fields in the given order."""
    return _build(_event, unit, seq, pairs)


# ---- builders: ordered field lists per topic (the payload bodies of spec/mqtt.md) ----

def fax_status(job, code, category, final, attempt=1, pages=0, evidence=None, state=None, of=None):
    """fields for fax/status, exactly as the unit publishes them (core/fax/job.py calls this).

    state: new, queued, held, wait, call or done (default from the code; -3 is call); of: the
    job's page count (default pages). evidence: pairs such as (("result","BUSY"),...)."""
    if state is None:
        state = "done" if final else "new" if code == -1 else "queued" if code == -2 else \
            "held" if code == -22 else "call"
    return (("job", job), ("code", code), ("category", category), ("final", bool(final)),
            ("state", state), ("attempt", attempt), ("pages", pages),
            ("of", pages if of is None else of), ("evidence", evidence or ()))


def page_topic(fax_id, n):
    """The topic suffix of received page n (1-based) of a fax: fax/page/<fax id>/<n>."""
    return "%s/%s/%d" % (FAX_PAGE, fax_id, n)


def fax_page(fax_id, page, of, width, nbytes):
    """fields of the JSON head line of a fax/page/<id>/<n> payload; the page's T.4 bytes
    (nbytes, MSB-first) follow the newline that ends it."""
    return (("id", fax_id), ("page", page), ("of", of), ("width", width), ("bytes", nbytes))


def fax_received(fax_id, pages, remote_id, params, hangup_code, hangup_phase, hangup_text,
                 sizes=(), widths=(), code=None, reason=None, folder=None):
    """fields for fax/received. params: pairs of the negotiated +FDCS values. sizes: bytes of
    each page published on page_topic(fax_id, n) (None: kept on flash, not published);
    widths: each page's pixels per line. The pages come before this event (seq order).
    code, reason: the reception's outcome (0 or the failure's code); folder: where the pages
    were kept on the unit's flash."""
    return (("id", fax_id), ("pages", pages), ("remote", remote_id), ("params", params or ()),
            ("hangup", (("code", hangup_code), ("phase", hangup_phase), ("text", hangup_text))),
            ("page_topic", "%s/%s/" % (FAX_PAGE, fax_id) if fax_id else None),
            ("page_bytes", list(sizes)), ("page_width", list(widths)),
            ("code", code), ("reason", reason), ("folder", folder))


def cafis_verdict(ref, verdict, code, rule, field=None, detail=None):
    """fields for cafis/verdict. verdict: accept / discard / abnormal_report / terminal_error;
    rule: the table and row, e.g. '3.3.4-2 #3'."""
    return (("ref", ref), ("verdict", verdict), ("code", code), ("rule", rule),
            ("field", field), ("detail", detail))


def cmd_error(cmd, reason, detail=None, ref=None):
    """fields for cmd/error: which command, a reason code (commands.REASONS) and detail."""
    return (("cmd", cmd), ("reason", reason), ("detail", detail), ("ref", ref))


def _telemetry(unit, last_seq, tseq, pairs, out):
    _head("seq", unit, last_seq, out)
    out.put(',"tseq":%d' % tseq)
    _obj(pairs, out, False)


def telemetry(unit, last_seq, tseq, pairs):
    """telemetry payload: seq = the last event seq the unit has accepted (telemetry is not an
    event and does not advance seq), tseq = telemetry counter since boot, then the fields."""
    return _build(_telemetry, unit, last_seq, tseq, pairs)
