"""The MQTT contract (spec/mqtt.md): topics, event classes, JSON payloads (QoS and retain per
topic: docs/mqtt.md "Topics and payloads").

Payloads are built from ORDERED fields, never from dicts (MicroPython dicts have no order),
so the same event gives the same bytes on every runtime:
  {"unit":"u1","seq":42,"job":"j7","code":0,...}
(text that needs escaping goes through the runtime's json: valid JSON on both, but non-ASCII
comes out as \\u escapes on CPython and as UTF-8 on MicroPython).
Value encoding: str/int/float/bool/None as JSON; bytes -> lowercase hex string; list -> JSON
array; tuple -> nested ordered object; dict -> object, keys sorted. An object's fields are
one tuple of its keys and values in turn, (k1, v1, k2, v2, ...) (the builders below: one
tuple per event, not one per field), or a tuple of (key, value) pairs; told apart by the
first item (a str key, or a pair).
"""
import json
import sys

from micropython import const

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


MAX_PAYLOAD = const(2000)   # bytes: the buffer of a payload built with none given (host tools)

# Payloads are written piece by piece into a buffer the caller gives (app/link.py: the outbox
# store's record buffer, so the unit keeps no payload buffer of its own; docs/mqtt.md "RAM"),
# from _o up to _m: nothing grows with the payload and no piece is copied first (str written
# byte by byte, ints digit by digit, bytes as hex). With no buffer given, one of MAX_PAYLOAD
# bytes is made at first need and kept (host tools and tests; never on the unit). Not
# reentrant: one payload at a time; each begins afresh (begin), so one that failed half
# written (ValueError) leaves nothing to undo.
_b = None    # the buffer being written
_own = None  # the one made when none is given
_o = 0       # where the payload begins in _b
_n = 0       # where its next byte goes
_m = 0       # the end of its room


def begin(buf=None, o=0, m=0):
    """Begin a payload in buf[o:m] (m 0: to the end; buf None: the buffer of MAX_PAYLOAD). As
    an object written field by field: begin(), field(..)..., end() -> bytes, for a payload
    with a few computed strings (HA discovery): no pairs and no joined str are built."""
    global _b, _own, _o, _n, _m
    if buf is None:
        if _own is None:
            _own = bytearray(MAX_PAYLOAD)
        buf = _own
    _b = buf
    _o = _n = o
    _m = m or len(buf)


def _over():
    global _b
    _b = None    # the caller's buffer let go (a one-off buffer must not outlive its payload)
    raise ValueError("payload over %d bytes" % (_m - _o))


def _raw(s):
    """Write bytes s (a constant of this module, or the rare escaped text)."""
    global _n
    n = _n
    m = n + len(s)
    if m > _m:
        _over()
    _b[n:m] = s
    _n = m


def _str(v, pre=0, post=0):
    """Write str v as a JSON string, between the bytes pre and post (0: none; a key's comma
    and colon, so a field costs one call)."""
    if _chars(v, pre, 34, post):
        return
    if pre:                  # escaped by the runtime's json (rare)
        _raw(b"{" if pre == 123 else b",")
    _raw(json.dumps(v).encode())
    if post:
        _raw(b":")


def _chars(v, pre, q, post):
    """Write the bytes pre and q, the characters of str v, then q and post (a 0 byte: left
    out) if no character of v needs escaping in JSON (printable ASCII without quote or
    backslash: nearly every field), copied as they are checked -> True; else nothing written
    before _n -> False. One function for the whole piece: a call costs more than a byte here
    (_obj does the same for its keys and str values without this call)."""
    global _n
    if _n + len(v) + (2 if q else 0) + (pre > 0) + (post > 0) > _m:
        _over()
    n = _copy(_b, _n, v, pre | q << 8 | post << 16)
    if n < 0:
        return False
    _n = n
    return True


if sys.implementation.name == "micropython":   # every port the unit runs on has viper
    @micropython.viper  # noqa: F821 (the compiler's own decorator: no `micropython` name kept)
    def _copy(b, n: int, v, f: int) -> int:
        """Write to b[n:] the byte f & 255, the byte f >> 8 & 255, the characters of str v,
        the byte f >> 8 & 255 again and the byte f >> 16 (a 0 byte: left out) if each
        character is printable ASCII other than quote and backslash -> the index after them;
        else -1 (a byte of a non-ASCII character, at or before the len(v)-th byte, is above
        126). Reads the str's bytes in place: a whole key or string in one call (issue 15's
        MQTT rate: a loop of bytecode was 40 us of an event's 60, a call per piece 20 us)."""
        d = ptr8(b)  # noqa: F821 (viper)
        s = ptr8(v)  # noqa: F821
        k = int(len(v))
        c = f & 255
        if c:
            d[n] = c
            n += 1
        q = (f >> 8) & 255
        if q:
            d[n] = q
            n += 1
        i = 0
        while i < k:
            c = s[i]
            if c < 32 or c > 126 or c == 34 or c == 92:
                return -1
            d[n + i] = c
            i += 1
        n += k
        if q:
            d[n] = q
            n += 1
        c = f >> 16
        if c:
            d[n] = c
            n += 1
        return n

    @micropython.viper  # noqa: F821
    def _dec(b, n: int, v: int) -> int:
        """Write int v (|v| < 10**9: a machine int on every port) in decimal to b[n:] -> the
        index after it (its digits a loop of bytecode in _int: 3 us an int)."""
        d = ptr8(b)  # noqa: F821
        if v < 0:
            d[n] = 45    # "-"
            n += 1
            v = 0 - v
        m = n + 1
        t = v
        while t > 9:
            t = t // 10
            m += 1
        e = m
        while m > n:
            m -= 1
            d[m] = 48 + v % 10
            v = v // 10
        return e
else:
    def _dec(b, n, v):
        """The same on CPython."""
        t = str(v).encode()
        b[n:n + len(t)] = t
        return n + len(t)

    def _copy(b, n, v, f):
        """The same on CPython (a str has no buffer there)."""
        if f & 255:
            b[n] = f & 255
            n += 1
        q = (f >> 8) & 255
        if q:
            b[n] = q
            n += 1
        for ch in v:
            c = ord(ch)
            if c < 32 or c > 126 or c == 34 or c == 92:
                return -1
            b[n] = c
            n += 1
        if q:
            b[n] = q
            n += 1
        if f >> 16:
            b[n] = f >> 16
            n += 1
        return n


def _piece(v):
    """Write str v inside a JSON string begun (escaped if it must be)."""
    if not _chars(v, 0, 0, 0):
        _raw(json.dumps(v)[1:-1].encode())


def _int(v):
    """Write int v in decimal, digit by digit (its sign too: no call for it); by _dec where
    it is short and the room sure (_obj does the same without this call)."""
    global _n
    n = _n
    if -1000000000 < v < 1000000000 and n + 10 <= _m:
        _n = _dec(_b, n, v)
        return
    s = v < 0
    if s:
        v = -v
    m = n + 1 + s
    t = v
    while t > 9:
        t //= 10
        m += 1
    if m > _m:
        _over()
    _n = m
    b = _b
    if s:
        b[n] = 45    # "-"
        n += 1
    while m > n:
        m -= 1
        b[m] = 48 + v % 10
        v //= 10


def _hex(v):
    """Write bytes-like v as a JSON string of lowercase hex."""
    global _n
    n = _n
    m = n + 2 * len(v) + 2
    if m > _m:
        _over()
    b = _b
    b[n] = 34
    for x in v:
        b[n + 1] = b"0123456789abcdef"[x >> 4]
        b[n + 2] = b"0123456789abcdef"[x & 15]
        n += 2
    b[n + 1] = 34
    _n = m


def _val(v):
    """Write the JSON text of v (see the module docstring for the mapping). (Lists, dicts and
    bytes have a function each: written in here, every call of _val was slower, a fax/received
    by a quarter.)"""
    t = type(v)
    if t is str:             # the commonest first (type(True) is bool, not int)
        _str(v)
    elif t is int:
        _int(v)
    elif v is None:
        _raw(b"null")
    elif v is True:
        _raw(b"true")
    elif v is False:
        _raw(b"false")
    elif t is tuple:
        _obj(v)
    elif t is bytes or t is bytearray or t is memoryview:
        _hex(v)
    elif t is list:
        _list(v)
    elif t is dict:
        _dict(v)
    elif t is float:
        _raw(json.dumps(v).encode())
    else:
        raise TypeError("cannot encode %r as JSON" % (t,))


def _list(v):
    c = b"["
    for x in v:
        _raw(c)
        c = b","
        _val(x)
    if c == b"[":
        _raw(c)
    _raw(b"]")


def _dict(d):
    """Write dict d as a JSON object, its keys in sorted order (the same on both runtimes), one
    key at a time: the next is the least key above the last written (no sorted list, no pairs;
    a dict here has a few keys)."""
    c = 123   # "{", then ","
    last = None
    for _i in range(len(d)):
        k = None
        for x in d:
            if (last is None or x > last) and (k is None or x < k):
                k = x
        _str(k, c, 58)
        c = 44
        _val(d[k])
        last = k
    if c == 123:
        _raw(b"{")
    _raw(b"}")


def _obj(t, c=123):
    """Write t as a JSON object: its keys and values in turn (k1, v1, k2, v2, ...: the
    builders' fields, one tuple) or (key, value) pairs; c=44 (",") goes on with the object
    open."""
    global _n
    z = len(t)
    flat = z and type(t[0]) is str
    b = _b
    m = _m
    i = 0
    while i < z:
        if flat:
            k = t[i]
            v = t[i + 1]
            i += 2
        else:
            k, v = t[i]
            i += 1
        # {"k": or ,"k": and a str, bool or None value written as _chars does, without its
        # call (an event's fields cost their calls: issue 15's MQTT rate); _str escapes (rare)
        if _n + len(k) + 4 > m:
            _over()
        j = _copy(b, _n, k, c | 0x3A2200)    # c " k " :
        if j < 0:
            _str(k, c, 58)
        else:
            _n = j
        c = 44
        y = type(v)
        if y is str:
            if _n + len(v) + 2 > m:
                _over()
            j = _copy(b, _n, v, 0x2200)      # " v "
            if j < 0:
                _str(v)
            else:
                _n = j
        elif y is int:
            if -1000000000 < v < 1000000000 and _n + 10 <= m:
                _n = _dec(b, _n, v)
            else:
                _int(v)
        elif y is bool or v is None:
            v = "null" if v is None else "true" if v else "false"
            if _n + len(v) > m:
                _over()
            _n = _copy(b, _n, v, 0)
        else:
            _val(v)
    if c == 123:
        _raw(b"{")
    _raw(b"}")


def _take(view=False):
    """The payload written, as bytes (or a view of the buffer; view 2: its length alone, the
    payload lying in the buffer from where it was begun); the buffer is free again."""
    global _b, _n
    if view == 2:    # in place in the caller's buffer: no view made (app/link.py event)
        _b = None
        b = _n - _o
        _n = _o
        return b
    b = (_b if type(_b) is memoryview else memoryview(_b))[_o:_n]   # a view given: one view less
    _n = _o
    _b = None    # no reference kept to the caller's buffer (Link._built's one-off buffer)
    return b if view else bytes(b)


def field(k, v, more=None, last=None):
    """One field of the object begun. v: any value; with more (and last), v, more and last are
    str pieces written as one JSON string."""
    _key(k)
    if more is None:
        _val(v)
        return
    _raw(b'"')
    _piece(v)
    _piece(more)
    if last is not None:
        _piece(last)
    _raw(b'"')


def span(k, t, i, j, pre, mid, post):
    """Field k: str pieces pre and mid, bytes t[i:j] (a table's printable ASCII without quote
    or backslash, copied as it is) and str post, as one JSON string (core/mqtt/discovery.py)."""
    global _n
    _key(k)
    _raw(b'"')
    _piece(pre)
    _piece(mid)
    n = _n
    m = n + j - i
    if m > _m:
        _over()
    b = _b
    while i < j:
        b[n] = t[i]
        n += 1
        i += 1
    _n = m
    _piece(post)
    _raw(b'"')


def nest(k):
    """A nested object opens as field k of the object begun; end(depth) closes it."""
    _key(k)
    _raw(b"{")


def _key(k):
    # "{" first; the first field of a nested object has no comma
    _str(k, 123 if _n == _o else 44 if _b[_n - 1] != 123 else 0, 58)


def end(depth=1):
    """Close the object begun (and depth-1 nested objects in it); the payload as bytes."""
    if _n == _o:
        _raw(b"{")
    for _i in range(depth):
        _raw(b"}")
    return _take()


def _head(unit, seq, buf, o, m):
    """{"unit":<unit>,"seq":<seq>: the head of every event and of telemetry, in buf[o:m]."""
    begin(buf, o, m)
    _raw(b'{"unit":')
    if not _chars(unit, 0, 34, 0):
        _str(unit)
    _raw(b',"seq":')
    _int(seq)


def event(unit, seq, pairs, view=False, buf=None, o=0, m=0):
    """The payload of one event: unit and seq first, then the fields in the given order. view:
    a memoryview of the buffer, valid until the next payload is built, instead of a bytes copy
    (2, with buf: its length alone). buf, o, m: written into buf[o:m] (app/link.py: in place
    in the outbox store's record buffer, where the record's payload goes); ValueError when it
    does not fit."""
    _head(unit, seq, buf, o, m)
    _obj(pairs, 44)
    return _take(view)


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


def cafis_verdict(ref, verdict, code, rule, field=None, detail=None):
    """fields for cafis/verdict. verdict: accept / discard / abnormal_report / terminal_error;
    rule: the table and row, e.g. '3.3.4-2 #3'. The fields are this module's one list, filled
    in place (a telegram's verdict makes no tuple: 128 B each, 64-bit): valid until the next
    call, so an event is built from it before another verdict is asked for."""
    v = _V
    v[1] = ref
    v[3] = verdict
    v[5] = code
    v[7] = rule
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
    (no pair per field). buf: where it is built (see begin); ValueError when it does not fit."""
    global _n
    _head(unit, last_seq, buf, 0, 0)
    _raw(b',"tseq":')
    _int(tseq)
    for k, v in pairs:
        _key(k)   # after the head: a comma first
        _val(v)
    b = _b
    for name, keys, vals in groups:
        _str(name, 44, 58)
        _raw(b'{"')
        i = 0
        for ch in keys:
            if ch == ",":
                _raw(b'":')
                _val(vals[i])
                _raw(b',"')
                i += 1
            else:
                if _n >= _m:
                    _over()
                b[_n] = ord(ch)
                _n += 1
        _raw(b'":')
        _val(vals[i])
        _raw(b"}")
    _raw(b"}")
    return _take()
