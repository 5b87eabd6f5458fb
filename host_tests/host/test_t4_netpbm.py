"""T.4 codec cross-checked against netpbm (pbmtog3, g3topbm, pnmtoplainpnm), CPython only.

These tests FAIL (never skip) when netpbm is missing: install the Debian package `netpbm`."""
import io
import os
import shutil
import subprocess

from hypothesis import given, settings, strategies as st

from faxbridge.core.fax import mhtab, params, pbm, t4
from t4_helpers import decode, encode, pattern_rows, random_rows, text_page_rows

def _tool(name):
    path = shutil.which(name)
    assert path, "netpbm's %s is not installed: these cross-checks need it (apt-get install netpbm)" % name
    return path


def _run(args, data):
    r = subprocess.run(args, input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, "%s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace"))
    return r.stdout


def _parse_p4(data):
    f = io.BytesIO(data)
    src = pbm.PbmRows(f, ((_p4_width(data) + 7) // 8) * 8)
    row = bytearray(src.width >> 3)
    rows = []
    while src.readrow(row):
        rows.append(bytes(row))
    return src.src_width, src.src_height, b"".join(rows)


def _p4_width(data):
    return int(data.split()[1])


def corpus():
    """(name, width, height, rows)"""
    text, h = text_page_rows()
    yield "text-fine-a4", 1728, h, text
    yield "dense-random", 1728, 300, random_rows(1728, 300)
    for w in params.TABLE[2]:
        for kind in ("white", "black", "alt", "checker1", "checker8", "edges"):
            yield kind + "-%d" % w, w, 16, pattern_rows(w, 16, kind)
        yield "random-%d" % w, w, 20, random_rows(w, 20)


def test_our_pages_decode_with_g3topbm():
    g3topbm = _tool("g3topbm")
    for name, w, h, rows in corpus():
        for bps, ms in ((14400, 0), (9600, 20)):
            g3 = encode(rows, w, bps, ms, msb_first=True, chunk=512)
            out = _run([g3topbm, "-stop_error", "-width=%d" % w], g3)
            assert _parse_p4(out) == (w, h, rows), "g3topbm reads our %s page differently" % name


def test_our_lsb_first_wire_data_decodes_with_g3topbm_reversebits():
    g3topbm = _tool("g3topbm")
    for name, w, h, rows in corpus():
        if not name.startswith(("text", "random", "checker1")):
            continue
        wire = encode(rows, w, 14400, 10, msb_first=False)
        assert wire == bytes(mhtab.REV[b] for b in encode(rows, w, 14400, 10, msb_first=True))
        out = _run([g3topbm, "-stop_error", "-reversebits", "-width=%d" % w], wire)
        assert _parse_p4(out) == (w, h, rows), name


def test_pbmtog3_pages_decode_with_ours():
    pbmtog3 = _tool("pbmtog3")
    for name, w, h, rows in corpus():
        p4 = b"P4\n%d %d\n" % (w, h) + rows
        for opts in ([], ["-align8"], ["-align16"]):
            args = [pbmtog3] + opts + ([] if w == 1728 else ["-nofixedwidth"])
            g3 = _run(args, p4)
            for chunk in (None, 7):
                d, sink = decode(g3, w, msb_first=True, chunk=chunk)
                assert (d.lines, d.bad_lines) == (h, 0), "pbmtog3 %s %s: %d good %d bad" % (
                    name, opts, d.lines, d.bad_lines)
                assert d.done, "RTC of pbmtog3 not seen (%s)" % name
                assert sink.bitmap() == rows, "our decoder reads pbmtog3's %s differently" % name


def test_pbmtog3_reversebits_is_our_wire_order():
    pbmtog3 = _tool("pbmtog3")
    rows = random_rows(1728, 30)
    g3 = _run([pbmtog3, "-reversebits"], b"P4\n1728 30\n" + rows)
    d, sink = decode(g3, 1728, msb_first=False)
    assert (d.lines, d.bad_lines) == (30, 0) and sink.bitmap() == rows


def test_pbmtog3_pads_narrow_images_like_our_pbm_reader():
    # our fitting rule follows pbmtog3: keep the left edge, pad white on the right
    pbmtog3 = _tool("pbmtog3")
    img = random_rows(1216, 10)
    p4 = b"P4\n1216 10\n" + img
    d, sink = decode(_run([pbmtog3], p4), 1728, msb_first=True)
    ours = encode_pbm(p4, 1728)
    d2, sink2 = decode(ours, 1728)
    assert (d.lines, d2.lines) == (10, 10)
    assert sink.bitmap() == sink2.bitmap()


def encode_pbm(p4, width):
    from t4_helpers import read_all
    return read_all(t4.PageEncoder(pbm.PbmRows(io.BytesIO(p4), width), width))


def test_our_p1_reader_matches_netpbm_plain_conversion():
    plain = _tool("pnmtoplainpnm")
    for w, h in ((1728, 7), (13, 5), (2000, 3)):
        nb = (w + 7) // 8
        img = bytearray(random_rows(nb * 8, h))
        if w & 7:  # clear padding bits so the P4 is canonical
            for y in range(h):
                img[y * nb + nb - 1] &= (0xFF00 >> (w & 7)) & 0xFF
        p4 = b"P4\n%d %d\n" % (w, h) + bytes(img)
        p1 = _run([plain], p4)
        assert p1.startswith(b"P1")
        for width in (864, 1728):
            a = pbm.PbmRows(io.BytesIO(p4), width)
            b = pbm.PbmRows(io.BytesIO(p1), width)
            ra, rb = bytearray(width >> 3), bytearray(width >> 3)
            for _ in range(h):
                assert a.readrow(ra) and b.readrow(rb)
                assert ra == rb
            assert not a.readrow(ra) and not b.readrow(rb)


widths = st.sampled_from(params.TABLE[2])


@settings(max_examples=40, deadline=None)
@given(widths, st.integers(1, 6), st.randoms(use_true_random=False), st.sampled_from((0, 5, 10, 20, 40)),
       st.integers(1, 300))
def test_hypothesis_round_trip_and_g3topbm(w, h, rnd, ms, chunk):
    # mixes of long runs and noise, any chunking, any scan time
    nb = w >> 3
    rows = bytearray()
    for _ in range(h):
        kind = rnd.randrange(4)
        for _ in range(nb):
            rows.append((0, 0xFF, rnd.randrange(256), rnd.choice((0, 0, 0, 0x18)))[kind])
    rows = bytes(rows)
    data = encode(rows, w, 14400, ms, msb_first=True, chunk=chunk)
    d, sink = decode(data, w, msb_first=True, chunk=chunk)
    assert (d.lines, d.bad_lines) == (h, 0) and sink.bitmap() == rows
    out = _run([_tool("g3topbm"), "-stop_error", "-width=%d" % w], data)
    assert _parse_p4(out) == (w, h, rows)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), widths, st.booleans(), st.integers(1, 64))
def test_hypothesis_decoder_survives_garbage(data, w, msb, chunk):
    d, sink = decode(data, w, msb_first=msb, chunk=chunk)
    assert d.lines + d.bad_lines == len(sink.rows)
    assert all(len(r) == w >> 3 for r in sink.rows)


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(0, 10 ** 6))
def test_hypothesis_corrupted_page_resyncs(noise, where):
    rows = random_rows(1728, 12)
    data = bytearray(encode(rows, 1728, 14400, 10))
    p = 2 + where % (len(data) - 60)
    data[p:p + len(noise)] = noise
    d, sink = decode(bytes(data), 1728)
    assert d.lines + d.bad_lines <= 12 + len(noise)  # noise can hold EOLs of its own
    originals = set(rows[i * 216:(i + 1) * 216] for i in range(12))
    good = [r for r, g in zip(sink.rows, sink.good) if g]
    # a good line is one of the page's rows, unless the noise itself held a whole coded line
    assert sum(1 for r in good if r not in originals) <= len(noise) // 2
    assert d.lines >= 12 - 3  # the noise (<= 40 bytes) lies in at most 2 of the ~800-byte lines


def test_netpbm_tools_are_the_ones_we_think():
    # guard: the cross-checks only mean something if the tools really ran
    assert os.path.basename(_tool("pbmtog3")) == "pbmtog3"
    g3 = _run([_tool("pbmtog3")], b"P4\n1728 1\n" + bytes(216))
    # EOL, white make-up 1728 + white 0: 0000 0000 0001 | 0100 1101 1 ...
    assert g3[:2] == b"\x00\x14", g3[:4]
