"""`faxctl received`: received faxes from fax/page/<id>/<n> and fax/received, saved as G3 and PNG
per page and one multi-page G3 TIFF (docs/mqtt.md "Received pages")."""
import os

import hostpath  # noqa: F401  (firmware/ on the path: the unit's own T.4 decoder)
from faxctl_session import loads_dict


def split_page(payload):
    """A fax/page/<id>/<n> payload -> (its JSON head line, the page's T.4 bytes)."""
    i = payload.find(b"\n")
    return (payload[:i], payload[i + 1:]) if i >= 0 else (b"", payload)


def g3_rows(data, width):
    """The rows of one received page (raw T.4 MH, MSB-first) as packed PBM rows (1 = black),
    decoded by the unit's own decoder; returns (rows, bad lines)."""
    from faxbridge.core.fax import t4dec
    rows = []
    d = t4dec.Decoder(width, True, lambda row, good: rows.append(bytes(row)))
    d.feed(data)
    _lines, bad = d.end()
    return rows, bad


def page_image(rows, width, dpi):
    """A Pillow mode "1" image of the rows (PBM: 1 = black; Pillow "1": 1 = white)."""
    from PIL import Image
    img = Image.frombytes("1", (width, max(1, len(rows))),
                          b"".join(bytes(0xFF ^ b for b in r) for r in rows) or bytes(width // 8))
    img.info["dpi"] = dpi
    return img


class Received:
    """Collects fax/page/<id>/<n> payloads (a JSON head line, then the page's T.4 bytes) and
    fax/received metadata per (unit, fax id); a fax is complete when every page its
    fax/received lists (page_bytes not null) has arrived."""

    def __init__(self):
        self.pages = {}   # (unit, id) -> {n: bytes}
        self.meta = {}    # (unit, id) -> fax/received dict
        self.done = set()

    def feed(self, topic, payload):
        """One message; returns the key of a fax it completed, else None."""
        parts = topic.split("/")
        if len(parts) >= 6 and parts[-4:-2] == ["fax", "page"]:
            key = (parts[-5], parts[-2])
            try:
                n = int(parts[-1])
            except ValueError:
                return None
            head, data = split_page(bytes(payload))
            h = loads_dict(head) or {}
            if h.get("bytes") not in (None, len(data)):
                return None   # not the page its head announces: wait for a good copy
            self.pages.setdefault(key, {})[n] = data
        elif topic.endswith("/fax/received"):
            d = loads_dict(payload)
            if d is None or not d.get("id"):
                return None
            key = (topic.split("/")[-3], d["id"])
            self.meta[key] = d
        else:
            return None
        return key if key not in self.done and self.complete(key) else None

    def expected(self, key):
        m = self.meta.get(key)
        if m is None:
            return None
        return [n for n, b in enumerate(m.get("page_bytes") or [], 1) if b is not None]

    def complete(self, key):
        want = self.expected(key)
        have = self.pages.get(key, {})
        return want is not None and all(n in have for n in want)

    def save(self, key, out):
        """Write <out>/<unit>/<id>/p<n>.g3 and .png, and <out>/<unit>/<id>.tif (all pages, CCITT
        Group 3, Class F resolution); returns the paths written."""
        unit, fid = key
        m = self.meta[key]
        folder = os.path.join(out, unit, fid)
        os.makedirs(folder, exist_ok=True)
        widths = m.get("page_width") or []
        p = m.get("params")
        dpi = (204, 98 if isinstance(p, dict) and p.get("vr_lpi") == 98 else 196)  # Class F
        imgs = []
        written = []
        for n in self.expected(key):
            data = self.pages[key][n]
            w = widths[n - 1] if n - 1 < len(widths) and widths[n - 1] else 1728
            g3 = os.path.join(folder, "p%d.g3" % n)
            with open(g3, "wb") as f:
                f.write(data)
            rows, _bad = g3_rows(data, w)
            img = page_image(rows, w, dpi)
            png = os.path.join(folder, "p%d.png" % n)
            img.save(png, dpi=dpi)
            imgs.append(img)
            written += [g3, png]
        if imgs:
            tif = os.path.join(out, unit, fid + ".tif")
            imgs[0].save(tif, compression="group3", dpi=dpi, save_all=True, append_images=imgs[1:])
            written.append(tif)
        self.done.add(key)
        return written


def cmd_received(ctl, a):
    """Save every received fax that arrives as PNG pages and a multi-page TIFF. The session is
    persistent (client id faxctl-rx-<unit>): the broker keeps pages for faxctl between runs."""
    unit = a.unit if a.unit_given else "+"
    ctl.start(["%s/%s/fax/page/#" % (a.prefix, unit), "%s/%s/fax/received" % (a.prefix, unit)])
    rec = Received()
    saved = 0
    try:
        while True:
            for m in ctl.messages(a.wait):
                break
            else:
                break   # nothing for `wait` seconds
            key = rec.feed(m[0], m[1])
            if key is None:
                continue
            paths = rec.save(key, a.out)
            meta = rec.meta[key]
            print("fax %s from unit %s: %d page%s from %r" % (key[1], key[0], len(rec.expected(key)),
                  "" if len(rec.expected(key)) == 1 else "s", meta.get("remote")), flush=True)
            for p in paths:
                if not p.endswith(".g3"):
                    print("  saved " + p, flush=True)
            saved += 1
            if a.count and saved >= a.count:
                return 0
    except KeyboardInterrupt:
        pass
    missing = [k for k in set(rec.meta) | set(rec.pages) if k not in rec.done]
    for k in sorted(missing):
        print("fax %s from unit %s: incomplete (pages %s of %s)" % (
            k[1], k[0], sorted(rec.pages.get(k, {})), rec.expected(k)))
    if not saved and not missing:
        print("no received fax (nothing for %d s)" % a.wait)
    return 1 if missing or (a.count and saved < a.count) else 0
