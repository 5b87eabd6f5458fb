"""A reception that ended, on its way to the broker (app/rx.py publish; docs/mqtt.md "Received
pages"): each stored page as a file-backed event, then fax/received naming them; a full outbox
is logged, never raised. Both runtimes."""
import os

from support import fields as as_dict, raises, tmpdir

from faxbridge.app import rx
from faxbridge.app.rx import RxSink
from faxbridge.core.mqtt import contract
from faxbridge.core.mqtt.outbox import OutboxFull

EOL = b"\x00\x10"          # MSB-first EOL: a page of no lines still makes a file
INFO = {"dir": "rx", "code": 0, "hangup": (0, "call", "normal"), "remote_id": "+1 555",
        "params": {"width": 1728, "vr_lpi": 196}}


class Link:
    """Records event_file / event; refuses files after `files`, events when `full`."""

    def __init__(self, files=99, full=False):
        self.calls = []
        self.files = files
        self.full = full

    def event_file(self, suffix, ref, pairs=()):
        if len([c for c in self.calls if c[0] == "file"]) >= self.files:
            raise OutboxFull("full")
        self.calls.append(("file", suffix, ref, pairs))

    def event(self, suffix, fields, cls=None):
        if self.full:
            raise OutboxFull("full")
        self.calls.append(("event", suffix, fields))


def _sink(pages):
    s = RxSink(tmpdir("received") + "/", "rx3-7")
    for i, data in enumerate(pages):
        s.begin_page(i, {"width": 1728})
        s.write(memoryview(data))
        s.end_page()
    return s


def _publish(link, sink, pages):
    logged = []
    info = dict(INFO)
    info["pages"] = pages
    rx.publish(link, sink, info, lambda *a: logged.append(" ".join(str(x) for x in a)))
    return logged


def test_each_page_then_fax_received_naming_them():
    s = _sink([EOL * 3, EOL * 5])
    ln = Link()
    assert _publish(ln, s, 2) == []
    assert ln.calls[:2] == [("file", "fax/page/rx3-7/1", s.page_path(0), contract.fax_page("rx3-7", 1, 2, 1728, 6)),
                            ("file", "fax/page/rx3-7/2", s.page_path(1), contract.fax_page("rx3-7", 2, 2, 1728, 10))]
    kind, sfx, fields = ln.calls[2]
    f = as_dict(fields)
    assert (kind, sfx, len(ln.calls)) == ("event", "fax/received", 3)
    assert f["id"] == "rx3-7" and f["pages"] == 2 and f["remote"] == "+1 555"
    assert f["page_bytes"] == [6, 10] and f["page_width"] == [1728, 1728] and f["folder"] == s.dir
    assert as_dict(f["hangup"]) == {"code": 0, "phase": "call", "text": "normal"}
    # the driver's params dict as it is, written with its keys sorted: the same on both runtimes
    assert b',"params":{"vr_lpi":196,"width":1728},' in contract.event("u", 1, fields)


class _WireLink(Link):
    """Encodes each payload as app/link.py does (contract.event), so its cost counts."""

    def event_file(self, suffix, ref, pairs=()):
        contract.event("u", 1, pairs)

    def event(self, suffix, fields, cls=None):
        self.payload = bytes(contract.event("u", 2, fields, True))


def test_publishing_a_reception_allocates_little():
    # issue 13: the params were sorted into a tuple of pairs, and the sizes and widths copied,
    # before fax/received was built (3168 B on MicroPython's 64-bit unix port, one page, the
    # payloads encoded); now the params dict goes as it is (contract writes it sorted, in
    # place) and the lists are not copied (~2.1 KB). Bound on MicroPython only (collector off).
    import gc
    from faxbridge.core.fax import params
    info = dict(INFO)
    info["params"] = params.describe((1, 5, 0, 2, 0, 0, 0, 0))
    info["pages"] = 1
    ln = _WireLink()
    rx.publish(ln, _sink([EOL]), info, print)
    s = _sink([EOL * 2])
    want = (b'"params":{"bft":"off","bit_rate":14400,"coding":"MH","ecm":"off","length":"unlimited",'
            b'"raw":"1,5,0,2,0,0,0,0","scan_ms":0,"vr_lpi":196,"width":1728},')
    if not hasattr(gc, "mem_alloc"):
        rx.publish(ln, s, info, print)
        assert want in ln.payload
        return
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        rx.publish(ln, s, info, print)
        n = gc.mem_alloc() - a
    finally:
        gc.enable()
    assert want in ln.payload and b'"page_bytes":[4],"page_width":[1728],' in ln.payload, ln.payload
    assert n < 2600, n


def test_a_page_the_outbox_refuses_stays_on_flash_named_null_and_logged():
    s = _sink([EOL, EOL * 2])
    ln = Link(files=1)
    logged = _publish(ln, s, 2)
    assert as_dict(ln.calls[-1][2])["page_bytes"] == [2, None]
    assert os.stat(s.page_path(1))[6] == 4 and len(logged) == 1 and "page 2 of rx3-7" in logged[0]


def test_a_full_outbox_for_fax_received_is_logged_not_raised():
    s = _sink([EOL])
    logged = _publish(Link(full=True), s, 1)
    assert len(logged) == 1 and "fax/received rx3-7 not sent" in logged[0], logged


def test_no_pages_no_folder_and_no_sink_still_an_event():
    s = _sink([])
    ln = Link()
    _publish(ln, s, 0)
    raises(OSError, os.stat, s.dir)
    assert as_dict(ln.calls[-1][2])["page_bytes"] == []
    ln = Link()
    _publish(ln, None, 0)                     # the call refused before a sink was made
    f = as_dict(ln.calls[-1][2])
    assert ln.calls[-1][1] == "fax/received" and f["id"] is None and f["page_bytes"] == []
