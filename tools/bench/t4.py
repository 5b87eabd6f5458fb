"""T.4 benchmark: scan lines/s encoded and decoded on the MicroPython unix port, as a
multiple of what a 14400 bit/s line consumes, side by side with netpbm's pbmtog3/g3topbm on
the same pages in the same run, and heap bytes allocated per scan line after warm-up.

    .venv/bin/python tools/bench/t4.py          (CPython driver; runs .venv/bin/micropython)

Pages (1728 x 2287, fine A4): "text" (80 full columns on every line, drawn by textpage),
"letter" (a short business letter, about the issue's 50 KB text page) and "dense" (random
pixels). Goal (issue 6): >= 300 x real time for the text page, 0 bytes a line.
The same file is the MicroPython worker (`micropython tools/bench/t4.py --worker ...`).
"""
import sys

IS_MP = sys.implementation.name == "micropython"
LINE_BPS = 14400


def _worker(root, paths):
    import gc
    import time
    import _path  # noqa: F401  (tools/hostpath.py: firmware/ on sys.path)
    from faxbridge.core.fax import pbm, t4, t4dec, t4py, textpage

    def now():
        return time.ticks_us()

    def since(t0):
        return time.ticks_diff(time.ticks_us(), t0) / 1e6

    for name, path in paths:
        # the page's rows in RAM (unix port: 494 KB) so the encoder alone is timed
        with open(path, "rb") as f:
            src = pbm.PbmRows(f, 1728)
            h = src.src_height
            img = bytearray(216 * h)
            row = bytearray(216)
            y = 0
            while src.readrow(row):
                img[y * 216:(y + 1) * 216] = row
                y += 1
        mv = memoryview(img)
        rows = [mv[i * 216:(i + 1) * 216] for i in range(h)]  # made before timing
        # each row coded whole into a 512-byte buffer as PageEncoder codes into a reader's
        out = bytearray(512)
        lim = 512 - 17  # t4._margin(1728)
        st = t4.PageEncoder(None, 1728)._st  # the coder's state (t4.py)
        for label, enc in (("viper", t4.encode_line), ("plain", t4py.enc)):
            total = 0
            for r in rows[:50]:  # warm-up
                while enc(r, out, lim, st) < 0:
                    pass
            gc.collect()
            gc.disable()
            m0 = gc.mem_alloc()
            t0 = now()
            for r in rows:
                k = enc(r, out, lim, st)
                while k < 0:    # a row coded in pieces of ~500 bytes (a reader's buffer)
                    total -= k
                    k = enc(r, out, lim, st)
                total += k
            dt = since(t0)
            alloc = gc.mem_alloc() - m0
            gc.enable()
            print("RESULT", name, "encode", label, h, total, dt, alloc)
        # the whole page source from the file: PBM reader + encoder + readinto(512)
        buf = bytearray(512)
        with open(path, "rb") as f:
            pe = t4.PageEncoder(pbm.PbmRows(f, 1728), 1728, LINE_BPS, 0)
            for _ in range(20):
                pe.readinto(buf)
            gc.collect()
            gc.disable()
            m0 = gc.mem_alloc()
            l0 = pe.lines
            t0 = now()
            total = 0
            while True:
                n = pe.readinto(buf)
                if not n:
                    break
                total += n
            dt = since(t0)
            alloc = gc.mem_alloc() - m0
            gc.enable()
            print("RESULT", name, "pagesource", "viper", pe.lines - l0, total, dt, alloc)
        if name != "dense":
            # text drawn with the built-in font + encoder: the whole text page source
            with open(path[:-4] + ".txt", "rb") as f:
                doc = textpage.TextPages(f, 1728, True, "+81 3 5555 0100", "2026-11-22 09:30")
                pe = t4.PageEncoder(doc.page(0), 1728, LINE_BPS, 0)
                for _ in range(20):
                    pe.readinto(buf)
                gc.collect()
                gc.disable()
                m0 = gc.mem_alloc()
                l0 = pe.lines
                t0 = now()
                total = 0
                while True:
                    n = pe.readinto(buf)
                    if not n:
                        break
                    total += n
                dt = since(t0)
                alloc = gc.mem_alloc() - m0
                gc.enable()
                print("RESULT", name, "textsource", "viper", pe.lines - l0, total, dt, alloc)
        # decode the page data (wire order) in 512-byte chunks, counting lines (receiver)
        pe = t4.PageEncoder(t4py.BytesRows(img, 1728), 1728, LINE_BPS, 0)
        data = bytearray()
        while True:
            n = pe.readinto(buf)
            if not n:
                break
            data += buf[:n]
        dmv = memoryview(data)
        chunks = [dmv[i:i + 512] for i in range(0, len(data), 512)]
        for label, plain in (("viper", False), ("plain", True)):
            for sink in (None, lambda r, g: None):
                d = t4dec.Decoder(1728, False, sink, t4py.dec if plain else None)
                d.feed(chunks[0])
                rest = chunks[1:]
                gc.collect()
                gc.disable()
                m0 = gc.mem_alloc()
                l0 = d.lines
                t0 = now()
                for c in rest:
                    d.feed(c)
                dt = since(t0)
                alloc = gc.mem_alloc() - m0
                gc.enable()
                assert d.bad_lines == 0 and d.lines == h, (d.lines, d.bad_lines)
                print("RESULT", name, "decode" if sink is None else "decode+rows", label,
                      d.lines - l0, len(data), dt, alloc)


def _measure():
    """Run the MicroPython worker and netpbm on the same pages; returns a dict of figures."""
    import os
    import shutil
    import subprocess
    import tempfile

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import _path  # noqa: F401
    from faxbridge.core.fax import textpage

    mp = os.path.join(root, ".venv", "bin", "micropython")
    tmp = tempfile.mkdtemp(prefix="t4bench-")
    full = ("Invoice 2026-11-22 No. 0042  Dear customer, the quick brown fox jumps over the lazy dog. "
            "PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS 0123456789\n") * 60
    letter = ("ACME Trading K.K.\nPurchase order 0042\n\nDear Sir or Madam,\n\n" +
              "Please deliver the items below to our Osaka office by Friday.\n" * 4 + "\n" +
              "".join("  %2d  Widget type %c, 10 boxes          %5d.00 JPY\n" % (i, 65 + i, 1200 + 37 * i)
                      for i in range(12)) +
              "\nKind regards,\n\nT. Yamada, purchasing\n")
    texts = (("text", full), ("letter", letter))
    pages = []
    h = 0
    for name, text in texts:
        doc = textpage.TextPages(text, 1728, fine=True, station="+81 3 5555 0100", when="2026-11-22 09:30")
        src = doc.page(0)
        row = bytearray(216)
        rows = bytearray()
        while src.readrow(row):
            rows += row
        h = len(rows) // 216
        pages.append((name, bytes(rows)))
        with open(os.path.join(tmp, name + ".txt"), "w") as f:
            f.write(text)
    pages.append(("dense", os.urandom(216 * h)))
    paths = []
    for name, data in pages:
        p = os.path.join(tmp, name + ".pbm")
        with open(p, "wb") as f:
            f.write(b"P4\n1728 %d\n" % h + data)
        paths.append((name, p))
    arg = ";".join("%s=%s" % np for np in paths)
    try:
        r = subprocess.run([mp, "-X", "heapsize=64M", os.path.abspath(__file__), "--worker", root, arg],
                           capture_output=True, text=True, timeout=900)
        if r.returncode:
            raise RuntimeError("micropython worker failed:\n" + r.stdout + r.stderr)
        res = [ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
        rt = {}
        for name, stage, label, lines, nbytes, dt, alloc in res:
            if stage == "encode" and label == "viper":
                rt[name] = LINE_BPS / (int(nbytes) * 8.0 / int(lines))
        net = {}
        for name, p in paths:
            with open(p, "rb") as f:
                pbmdata = f.read()
            t_enc, g3 = _netpbm(["pbmtog3"], pbmdata)
            t_dec, _ = _netpbm(["g3topbm", "-stop_error"], g3)
            net[name] = (t_enc, t_dec)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"mp": mp, "h": h, "res": res, "rt": rt, "net": net, "pages": [n for n, _p in paths]}


def _netpbm(args, data, reps=5):
    """Best of `reps` runs of a netpbm tool (whole process, start-up included): (s, output)."""
    import subprocess
    import time
    best = None
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = subprocess.run(args, input=data, capture_output=True, check=True).stdout
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, out


def _figure(m, name, stage, label="viper"):
    for x in m["res"]:
        if x[0] == name and x[1] == stage and x[2] == label:
            return int(x[3]), int(x[4]), float(x[5]), int(x[6])
    return None


def run():
    """Rows for tools/bench.py."""
    m = _measure()
    h, rt, rows = m["h"], m["rt"], []
    for name in m["pages"]:
        t_enc, t_dec = m["net"][name]
        for stage, t_net, tool in (("encode", t_enc, "pbmtog3"), ("decode", t_dec, "g3topbm")):
            lines, _nb, dt, _a = _figure(m, name, stage)
            lps = lines / dt
            rows.append({"figure": "%s %s page (1728x%d fine), MicroPython" % (stage, name, h),
                         "value": round(lps / rt[name]), "unit": "x real time",
                         "goal": ">= 300" if name in ("text", "letter") and stage == "encode" else "",
                         "note": "%.0f lines/s; %s %.0fx real time, ours takes %.2fx its time" % (
                             lps, tool, h / t_net / rt[name], dt / t_net)})
    for stage in ("pagesource", "textsource"):
        f = _figure(m, "text", stage)
        if f:
            lines, _nb, dt, _a = f
            rows.append({"figure": "%s text page, MicroPython" % ("PBM file -> wire" if stage == "pagesource"
                                                                  else "text -> font -> wire"),
                         "value": round(lines / dt / rt["text"]), "unit": "x real time",
                         "note": "%.0f lines/s, the whole page source (readinto 512)" % (lines / dt)})
    worst = max(int(x[6]) / float(x[3]) for x in m["res"])
    rows.append({"figure": "heap per scan line (encode, decode, page sources)", "value": round(worst, 2),
                 "unit": "B", "goal": "0", "note": "gc.mem_alloc() over whole pages after warm-up"})
    return rows


def _driver():
    m = _measure()
    mp, h, res, rt = m["mp"], m["h"], m["res"], m["rt"]

    print("T.4 MH benchmark, MicroPython unix port (%s) vs netpbm, pages 1728 x %d (fine A4)" % (mp, h))
    print("real time = lines/s a %d bit/s line carries for that page (its MH bits, no fill)" % LINE_BPS)
    print()
    hdr = "%-6s %-11s %-6s %9s %12s %10s %12s" % ("page", "stage", "loops", "lines/s", "x real time",
                                                    "us/line", "heap B/line")
    print(hdr)
    print("-" * len(hdr))
    for name, stage, label, lines, nbytes, dt, alloc in res:
        lines, dt, alloc = int(lines), float(dt), int(alloc)
        lps = lines / dt if dt else float("inf")
        print("%-6s %-11s %-6s %9.0f %12.0f %10.1f %12.1f" % (name, stage, label, lps, lps / rt[name],
                                                          1e6 * dt / lines, alloc / float(lines)))
    print()
    print("netpbm in the same run (best of 5, whole process incl. start-up):")
    for name in m["pages"]:
        t_enc, t_dec = m["net"][name]
        ours_enc = [float(x[5]) for x in res if x[0] == name and x[1] == "encode" and x[2] == "viper"][0]
        ours_dec = [float(x[5]) for x in res if x[0] == name and x[1] == "decode" and x[2] == "viper"][0]
        print("%-6s pbmtog3 %7.2f ms (%8.0f lines/s, %6.0f x real time); ours/pbmtog3 time %.2f" % (
            name, t_enc * 1e3, h / t_enc, h / t_enc / rt[name], ours_enc / t_enc))
        print("%-6s g3topbm %7.2f ms (%8.0f lines/s, %6.0f x real time); ours/g3topbm time %.2f" % (
            name, t_dec * 1e3, h / t_dec, h / t_dec / rt[name], ours_dec / t_dec))
    print()
    for name in rt:
        print("%-6s real time at %d bit/s: %.0f lines/s (%.1f s for the page)" % (
            name, LINE_BPS, rt[name], h / rt[name]))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], [tuple(x.split("=", 1)) for x in sys.argv[3].split(";")])
    else:
        try:
            _driver()
        except RuntimeError as e:
            sys.exit(str(e))
