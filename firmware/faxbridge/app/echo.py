"""The echo check (the link's `verify` option, docs/mqtt.md): every topic the unit publishes
must come back to its own subscription within `ms`. MQTT 3.1.1 PUBACKs a publish the broker's
ACL dropped, so the echo is how the unit knows it was denied.

    e = Echo(5000, root_s, link_error)
    e.reset(now)                 # connection up: availability must come back
    e.expect(sfx, seq, now)      # a publish went out (the oldest unconfirmed seq per topic)
    e.seen(sfx, payload_head)    # one of our publishes came back (app/inbox.py)
    e.check(now)                 # overdue topics: counted in e.denied, reported through error
"""
from faxbridge.core.mqtt import contract


class Echo:
    def __init__(self, ms, root_s, error):
        self.ms = ms
        self.root_s = root_s
        self.error = error
        self.denied = 0
        self.pending = {}  # topic suffix -> [seq, deadline]

    def reset(self, now):
        self.pending = {contract.AVAILABILITY: [0, now + self.ms]}

    def expect(self, sfx, seq, now):
        # a received page (fax/page/<id>/<n>) is not read back: its topic is deeper than the
        # fax/+ subscription, and echoing it would bring the whole page back to the unit; the
        # fax/received that names it is read back
        if sfx is not None and sfx not in self.pending and not sfx.startswith(contract.FAX_PAGE):
            self.pending[sfx] = [seq, now + self.ms]

    def seen(self, sfx, b):
        p = self.pending.get(sfx)
        if p is None:
            return
        if sfx == contract.AVAILABILITY:
            if b == contract.ONLINE:
                del self.pending[sfx]
            return
        seq = _seq_of(b)
        if seq is not None and seq >= p[0]:
            del self.pending[sfx]

    def check(self, now):
        if not self.pending:
            return
        for sfx in list(self.pending):
            seq, dl = self.pending[sfx]
            if now >= dl:
                del self.pending[sfx]
                self.denied += 1
                self.error("broker never delivered %s/%s (seq %d) back within %d ms: publish (or"
                           " read-back) denied by its ACL?" % (self.root_s, sfx, seq, self.ms))


def _seq_of(payload):
    """The seq of one of our own event payloads ({"unit":"..","seq":N,...}) or None."""
    b = bytes(payload)
    i = b.find(b'"seq":')
    if i < 0:
        return None
    i += 6
    n = 0
    j = i
    while j < len(b) and 48 <= b[j] <= 57:
        n = n * 10 + b[j] - 48
        j += 1
    return n if j > i else None
