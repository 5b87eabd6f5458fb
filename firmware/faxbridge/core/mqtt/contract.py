"""The MQTT contract (spec/mqtt.md): topics, event classes, JSON payloads (QoS and retain per
topic: docs/mqtt.md "Topics and payloads").

Payloads are ordered JSON written in place by core/mqtt/jsonw.py (the value encoding is its
docstring's), so the same event gives the same bytes on every runtime:
  {"unit":"u1","seq":42,"job":"j7","code":0,...}
The builders below give an event's fields as one tuple of its keys and values in turn
(k1, v1, k2, v2, ...): one tuple per event, not one per field.
"""
from micropython import const

from faxbridge.core.mqtt import jsonw

PREFIX = "faxbridge"

AVAILABILITY = "availability"
FAX_STATUS = "fax/status"
FAX_RECEIVED = "fax/received"
CAFIS_VERDICT = "cafis/verdict"
CMD_ERROR = "cmd/error"
# fax/page/<fax id>/<n>: a JSON head line, then the page's T.4 (docs/mqtt.md; page_topic)
ONLINE = b"online"
OFFLINE = b"offline"

# Event classes, for the outbox's full policy (docs/mqtt.md "When the outbox is full").
ANSWER = const(3)     # a command's answer (verdict, job's first fax/status, cmd/error): room reserved
RESULT = const(2)     # final fax status, received fax, CAFIS verdict: never dropped
PROGRESS = const(1)   # in-progress fax status, cmd/error replies: refused above the soft limit
# (telemetry, class 0: QoS 0, not persisted, dropped first). QoS and retain per topic: the table
# of docs/mqtt.md "Topics and payloads" (availability 1 retained, telemetry 0, every event 1).

# Inbound: every <root>/cmd/# topic is subscribed at QoS 1 (docs/mqtt.md "Commands").
CMD_FILTER = "cmd/#"

# Event kinds the application may emit through the outbox (all QoS 1, in seq order).
EVENT_TOPICS = (FAX_STATUS, FAX_RECEIVED, CAFIS_VERDICT, CMD_ERROR)


def root(unit, prefix=PREFIX):
    """`<root>` of the contract: faxbridge/<unit-id>; ValueError for a bad unit id or prefix."""
    if not unit or len(unit) > 64:
        raise ValueError("unit id must be 1..64 characters")
    for ch in unit:
        if ch in "/+#\x00" or ord(ch) < 33:
            raise ValueError("unit id must not contain / + # or blanks")
    if not prefix or "+" in prefix or "#" in prefix or "\x00" in prefix or prefix[0] == "/" or prefix[-1] == "/":
        raise ValueError("prefix must be a topic name without wildcards or outer slashes")
    return prefix + "/" + unit


def _head(unit, seq, buf, o, m):
    """{"unit":<unit>,"seq":<seq>: the head of every event and of telemetry, in buf[o:m]."""
    jsonw.begin(buf, o, m)
    jsonw._raw(b'{"unit":')
    if not jsonw._chars(unit, 0, 34, 0):
        jsonw._str(unit)
    jsonw._raw(b',"seq":')
    jsonw._int(seq)


def event(unit, seq, pairs, view=False, buf=None, o=0, m=0):
    """The payload of one event: unit and seq first, then the fields in the given order. view:
    a memoryview of the buffer, valid until the next payload is built, instead of a bytes copy
    (2, with buf: its length alone). buf, o, m: written into buf[o:m] (app/link.py: in place
    in the outbox store's record buffer, where the record's payload goes); ValueError when it
    does not fit."""
    _head(unit, seq, buf, o, m)
    jsonw._obj(pairs, 44)
    return jsonw._take(view)


# ---- builders: each topic's fields, keys and values in turn (the payload bodies of spec/mqtt.md) ----

def fax_status(job, code, category, final, attempt=1, pages=0, evidence=None, state=None, of=None):
    """fields for fax/status, exactly as the unit publishes them (core/fax/job.py calls this).

    state: new, queued, held, wait, call or done (default from the code; -3 is call); of: the
    job's page count (default pages). evidence: pairs such as (("result","BUSY"),...)."""
    if state is None:
        state = "done" if final else "new" if code == -1 else "queued" if code == -2 else \
            "held" if code == -22 else "call"
    return ("job", job, "code", code, "category", category, "final", bool(final),
            "state", state, "attempt", attempt, "pages", pages,
            "of", pages if of is None else of, "evidence", evidence or ())


def page_topic(fax_id, n):
    """The topic suffix of received page n (1-based) of a fax: fax/page/<fax id>/<n>."""
    return "fax/page/%s/%d" % (fax_id, n)


def fax_page(fax_id, page, of, width, nbytes):
    """fields of the JSON head line of a fax/page/<id>/<n> payload; the page's T.4 bytes
    (nbytes, MSB-first) follow the newline that ends it."""
    return ("id", fax_id, "page", page, "of", of, "width", width, "bytes", nbytes)


def fax_received(fax_id, pages, remote_id, params, hangup_code, hangup_phase, hangup_text,
                 sizes=(), widths=(), code=None, reason=None, folder=None):
    """fields for fax/received. params: the negotiated +FDCS values, as pairs or a dict
    (written with its keys sorted). sizes: bytes of
    each page published on page_topic(fax_id, n) (None: kept on flash, not published);
    widths: each page's pixels per line. The pages come before this event (seq order).
    code, reason: the reception's outcome (0 or the failure's code); folder: where the pages
    were kept on the unit's flash."""
    return ("id", fax_id, "pages", pages, "remote", remote_id, "params", params or (),
            "hangup", ("code", hangup_code, "phase", hangup_phase, "text", hangup_text),
            "page_topic", "fax/page/%s/" % fax_id if fax_id else None,
            "page_bytes", sizes if type(sizes) is list else list(sizes),
            "page_width", widths if type(widths) is list else list(widths),
            "code", code, "reason", reason, "folder", folder)


_V = ["ref", None, "verdict", None, "code", None, "rule", None, "field", None, "detail", None]


def cafis_verdict(ref, verdict, code, rule, field=None, detail=None, row=0):
    """fields for cafis/verdict. verdict: accept / discard / abnormal_report / terminal_error;
    rule: the table and row, e.g. '3.3.4-2 #3', or with row > 0 the head that row follows
    ('3.3.4-2 #' and 3: Verdict.source and .row), written as one string (jsonw.JOINED). The
    fields are this module's one list, filled in place (a telegram's verdict makes no tuple:
    128 B each, 64-bit): valid until the next call, so an event is built from it before
    another verdict is asked for."""
    v = _V
    v[1] = ref
    v[3] = verdict
    v[5] = code
    v[7] = rule
    if row:
        j = jsonw.JOINED
        j[0] = rule
        j[1] = row
        v[7] = j
    v[9] = field
    v[11] = detail
    return v


def cmd_error(cmd, reason, detail=None, ref=None):
    """fields for cmd/error: which command, a reason code (commands: the reason constants) and detail."""
    return ("cmd", cmd, "reason", reason, "detail", detail, "ref", ref)


def telemetry(unit, last_seq, tseq, pairs, groups=(), buf=None):
    """telemetry payload: seq = the last event seq the unit has accepted (telemetry is not an
    event and does not advance seq), tseq = telemetry counter since boot, then the fields, then
    each group (name, "k1,k2,...", (v1, v2, ...)) as a nested object ,"name":{"k1":v1,...}
    (no pair per field). buf: where it is built (see jsonw.begin); ValueError when it does not fit."""
    _head(unit, last_seq, buf, 0, 0)
    jsonw._raw(b',"tseq":')
    jsonw._int(tseq)
    for k, v in pairs:
        jsonw._key(k)   # after the head: a comma first
        jsonw._val(v)
    b = jsonw._b
    for name, keys, vals in groups:
        jsonw._str(name, 44, 58)
        jsonw._raw(b'{"')
        i = 0
        for ch in keys:
            if ch == ",":
                jsonw._raw(b'":')
                jsonw._val(vals[i])
                jsonw._raw(b',"')
                i += 1
            else:
                if jsonw._n >= jsonw._m:
                    jsonw._over()
                b[jsonw._n] = ord(ch)
                jsonw._n += 1
        jsonw._raw(b'":')
        jsonw._val(vals[i])
        jsonw._raw(b"}")
    jsonw._raw(b"}")
    return jsonw._take()
