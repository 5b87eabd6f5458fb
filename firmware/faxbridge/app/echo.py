"""The echo check (the link's `verify` option, docs/mqtt.md): every topic the unit publishes
must come back to its own subscription within `verify` ms. MQTT 3.1.1 PUBACKs a publish the
broker's ACL dropped, so the echo is how the unit knows it was denied.

Plain functions on the link (app/link.Link: its `verify` ms, `ep` list, `denied` count,
`root` and `error`):
    reset(ln, now)               # connection up: availability must come back
    expect(ln, sfx, seq, now)    # a publish went out (the oldest unconfirmed seq per topic)
    seen(ln, sfx, payload_head)  # one of our publishes came back (app/inbox.py)
    check(ln, now)               # overdue topics: counted in ln.denied, reported through error()

RAM: the link's one list `ep`, made once by slots(): two numbers per topic that can be waited
for (the contract's event topics, then availability): [seq, deadline, ...], seq -1 when
nothing is awaited.
"""
from faxbridge.core.mqtt import contract

_TOPICS = contract.EVENT_TOPICS + (contract.AVAILABILITY,)


def slots():
    """The link's `ep` list: nothing awaited."""
    return [-1, 0] * len(_TOPICS)


def _slot(sfx):
    """2 * the index of sfx in _TOPICS, -1 for any other topic (a received page's, say)."""
    for i in range(len(_TOPICS)):
        if _TOPICS[i] == sfx:
            return 2 * i
    return -1


def reset(ln, now):
    p = ln.ep
    for i in range(0, len(p), 2):
        p[i] = -1
    p[-2] = 0            # availability: `online` must come back
    p[-1] = now + ln.verify


def expect(ln, sfx, seq, now):
    # a received page (fax/page/<id>/<n>) is not read back: its topic is deeper than the
    # fax/+ subscription, and echoing it would bring the whole page back to the unit; the
    # fax/received that names it is read back (it is no slot: _slot gives -1)
    i = _slot(sfx)
    p = ln.ep
    if i >= 0 and p[i] < 0:
        p[i] = seq
        p[i + 1] = now + ln.verify


def seen(ln, sfx, b):
    i = _slot(sfx)
    p = ln.ep
    if i < 0 or p[i] < 0:
        return
    if sfx == contract.AVAILABILITY:
        if b == contract.ONLINE:
            p[i] = -1
        return
    # the seq of one of our own event payloads ({"unit":"..","seq":N,...}), read in place (b:
    # the head kept in the socket buffer, any bytes-like): nothing is copied
    n = len(b)
    j = 0
    while j + 6 <= n:          # '"seq":' (34 115 101 113 34 58)
        if (b[j] == 34 and b[j + 1] == 115 and b[j + 2] == 101 and b[j + 3] == 113
                and b[j + 4] == 34 and b[j + 5] == 58):
            break
        j += 1
    else:
        return
    j += 6
    v = 0
    k = j
    while k < n and 48 <= b[k] <= 57:
        v = v * 10 + b[k] - 48
        k += 1
    if k > j and v >= p[i]:
        p[i] = -1


def check(ln, now):
    p = ln.ep
    for i in range(0, len(p), 2):
        if p[i] >= 0 and now >= p[i + 1]:
            seq = p[i]
            p[i] = -1
            ln.denied += 1
            ln.error("broker never delivered %s%s (seq %d) back within %d ms: publish (or"
                      " read-back) denied by its ACL?" % (str(ln.root, "utf-8"), _TOPICS[i >> 1], seq,
                                                         ln.verify))
