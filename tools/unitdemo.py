"""The demo `make run` submits (and the end-to-end tests reuse): pages and CAFIS telegrams; the
page makers the tests and benchmarks share (blocky_pbm, pbmz: a bitmap page for cmd/fax)."""
import base64
import random
import zlib

TEXT = """faxbridge demo

This page was typeset by the unit itself (core/fax/textpage.py), encoded as
T.4 Modified Huffman while it streamed to the Class 2 modem, and received by
the simulated remote fax machine at the other end of the virtual line.

Every status change went out on MQTT: -1 accepted, -2 ready, -3 sending,
0 done.
"""
# A general request (0100) from center A on route 0002 to issuer B (docs/cafis-registry.example.json).
REQUEST = (
    ("route", "0002"), ("seq", "000123"), ("center_id", "A1"), ("line", "001"),
    ("cafis_seq", "      "), ("org_co", "ACQ0001"), ("org_sub", "1200"), ("dst_co", "ISS0002"),
    ("dst_sub", "0000"), ("msg_type", "0100"), ("cafis_date", "1122"), ("cat_status", "0"),
    ("org_date", "22"), ("proxy_report", "00"), ("proxy_error", "000"), ("proxy_reroute", "0"),
)


def center_telegram(changes=(), trailer=b"DATA", tlen=None):
    """A center telegram laid out by the default 63-byte header (spec/cafis.md)."""
    from faxbridge.core.cafis import layout
    lay = layout.center()
    buf = bytearray(b" " * lay.hlen)
    fields = dict(REQUEST)
    fields.update(dict(changes))
    fields["trailer_len"] = tlen if tlen is not None else "%03d" % len(trailer)
    for key, val in fields.items():
        off, ln = lay.at(key)
        v = val.encode()
        assert len(v) == ln, (key, val)
        buf[off:off + ln] = v
    return bytes(buf) + trailer


def telegrams():
    """(label, telegram bytes, expected (verdict, code, rule)) for the demo, in order."""
    return [
        ("good general request", center_telegram(), ("accept", None, None)),
        ("originating sequence number not numeric", center_telegram((("route", "0003"), ("seq", "00012X"))),
         ("abnormal_report", "C58", "3.3.4-2 #3")),
        ("trailer length does not match", center_telegram((("route", "0004"),), tlen="005"),
         ("abnormal_report", "C03", "3.3.4-2 #14")),
        ("shorter than a header", b"0002000123A1", ("discard", None, "3.3.4-1 #2")),
    ]


def pbm_pattern(width=1728, height=600):
    """A test bitmap (P4): a frame, a chequer band, diagonal stripes and solid blocks."""
    wb = width // 8
    rows = []
    for y in range(height):
        row = bytearray(wb)
        for x in range(width):
            black = (x < 16 or x >= width - 16 or y < 16 or y >= height - 16)
            if not black and 60 <= y < 180:
                black = ((x // 24) + (y // 24)) % 2 == 0
            elif not black and 220 <= y < 420:
                black = (x + y) % 48 < 12
            elif not black and 460 <= y < 560:
                black = (x // 200) % 2 == 0 and 100 <= x < width - 100
            if black:
                row[x >> 3] |= 0x80 >> (x & 7)
        rows.append(bytes(row))
    return b"P4\n%d %d\n" % (width, height) + b"".join(rows)


def blocky_pbm(rows, seed, width=1728):
    """A page (P4) of random black blocks: deterministic, and it compresses well."""
    rnd = random.Random(seed)
    rb = width // 8
    body = bytearray(rb * rows)
    for _ in range(rows // 4):
        y, x = rnd.randrange(rows), rnd.randrange(rb - 8)
        h, w = rnd.randrange(1, 12), rnd.randrange(1, 8)
        for yy in range(y, min(rows, y + h)):
            for xx in range(x, x + w):
                body[yy * rb + xx] = 0xFF
    return b"P4\n%d %d\n" % (width, rows) + bytes(body)


def pbmz(data):
    """A bitmap page for cmd/fax, zlib-compressed with a 1 KB window (wbits=10): the unit
    allocates the window the stream declares, and zlib's default (32 KB) is a third of an
    ESP32's heap (docs/unit.md)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 10)
    return {"pbmz": base64.b64encode(c.compress(data) + c.flush()).decode()}
