"""faxctl: talk to faxbridge units over MQTT (paho-mqtt). See `tools/faxctl --help`.

  faxctl [--host H --port P --unit U ...] send NUMBER FILE... [--job ID] [--follow [--wait S]]
  faxctl cancel JOB
  faxctl telegram FILE [--sender terminal|center] [--ref REF]   (a ref is made when not given)
  faxctl watch [--duration S]       live view of units, jobs and verdicts; flags seq gaps
  faxctl received [--out DIR] [--wait S] [--count N]   save received faxes as PNG + TIFF

Pages: *.txt is sent as text, *.pbm (P1/P4) zlib-compressed as "pbmz" (docs/mqtt.md).
Exit status: 0 done, 1 the unit answered cmd/error or a gap was seen, 2 usage/connection error.
Credentials: --user, and the password from $FAXCTL_PASSWORD or --password-file (never argv).
"""
import argparse
import base64
import json
import os
import queue
import sys
import time
import uuid
import zlib

import paho.mqtt.client as paho

import hostpath  # noqa: F401  (firmware/ on the path: its limits and page counter, one of each)
from faxbridge.core.mqtt.commands import MAX_FAX


class Ctl:
    def __init__(self, a, client_id=None):
        """client_id: a persistent session (the broker queues QoS 1 messages for it while
        faxctl is not running); None: a fresh clean session."""
        self.a = a
        self.q = queue.Queue()
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=client_id or "faxctl-" + uuid.uuid4().hex[:8],
                             clean_session=client_id is None, protocol=paho.MQTTv311)
        if a.user:
            self.c.username_pw_set(a.user, password(a))
        if a.cafile or a.tls:
            self.c.tls_set(ca_certs=a.cafile)
        self.connected = None
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.q.put((m.topic, bytes(m.payload), m.retain))

    def _on_connect(self, c, u, flags, rc, props=None):
        self.connected = rc

    def start(self, topics):
        self.topics = topics
        try:
            self.c.connect(self.a.host, self.a.port, 30)
        except OSError as e:
            die("cannot connect to %s:%d: %s" % (self.a.host, self.a.port, e))
        self.c.loop_start()
        end = time.monotonic() + 10
        while self.connected is None and time.monotonic() < end:
            time.sleep(0.02)
        if self.connected is None:
            die("no answer from the broker at %s:%d" % (self.a.host, self.a.port))
        if self.connected != 0:
            die("broker refused the connection: %s" % self.connected)
        for t in topics:
            self.c.subscribe(t, 1)
        time.sleep(0.1)

    def root(self):
        return "%s/%s" % (self.a.prefix, self.a.unit)

    def publish(self, suffix, payload):
        info = self.c.publish(self.root() + "/" + suffix, payload, 1)
        info.wait_for_publish(10)
        if not info.is_published():
            die("the broker did not acknowledge the publish to %s" % suffix)

    def messages(self, timeout, idle=False):
        """Yield (topic, payload, retained) until timeout; with idle, None every half second
        without traffic (so a caller can refresh its view)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                yield self.q.get(timeout=min(left, 0.5))
            except queue.Empty:
                if idle:
                    yield None

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def die(msg, code=2):
    sys.stderr.write("faxctl: %s\n" % msg)
    sys.exit(code)


def password(a):
    """The broker password: --password-file, else $FAXCTL_PASSWORD, else None. Never argv:
    a command line is visible to every user of the machine (ps)."""
    if a.password_file:
        try:
            with open(a.password_file) as f:
                return f.readline().rstrip("\r\n")
        except OSError as e:
            die("cannot read the password file %s: %s" % (a.password_file, e.strerror))
    return os.environ.get("FAXCTL_PASSWORD")


def count_pages(path):
    """How many fax pages the unit will make of this file: the unit's own counter
    (faxbridge.app.pages.count), so the number printed is the number sent."""
    from faxbridge.app import pages
    kind = "text" if path.lower().endswith(".txt") else "pbm"
    n, why = pages.count(kind, path)
    if why:
        die("%s: %s" % (path, why))
    return n


def page_of(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        die("cannot read %s: %s" % (path, e.strerror))
    if path.lower().endswith(".txt"):
        try:
            return {"text": data.decode("utf-8")}
        except UnicodeDecodeError:
            die("%s is not UTF-8 text" % path)
    if data[:2] in (b"P1", b"P4"):
        # a 1 KB window (wbits=10): the unit allocates the window the stream declares and
        # refuses more than 4 KB; zlib's default 32 KB is a third of an ESP32's heap
        c = zlib.compressobj(9, zlib.DEFLATED, 10)
        return {"pbmz": base64.b64encode(c.compress(data) + c.flush()).decode()}
    die("%s: only .txt (text) and PBM images (P1/P4) are sent as pages" % path)


def _loads(p):
    try:
        d = json.loads(p)
        return d if isinstance(d, dict) else None
    except ValueError:
        return None


def status_line(d):
    """One fax/status as a progress line: `-3 sending page 2/3, attempt 1`."""
    code, of, pages = d.get("code"), d.get("of") or 0, d.get("pages") or 0
    if d.get("final"):
        return "%s %s (final), %d of %d pages confirmed" % (code, d.get("category"), pages, of)
    text = "%s %s" % (code, d.get("category"))
    if code == -3 and of:
        page = pages + 1 if pages < of else of
        text += " page %d/%d" % (page, of)
    if d.get("attempt"):
        text += ", attempt %s" % d.get("attempt")
    return text


def _answers(ctl, job, timeout, follow, wait):
    """Print the unit's answers about job; return the exit status. The first answer must come
    within `timeout` s; with follow, each later status within `wait` s of the one before."""
    got = False
    while True:
        for topic, payload, _r in ctl.messages(wait if got else timeout):
            d = _loads(payload)
            if d is None:
                continue
            if topic.endswith("/cmd/error") and d.get("ref") in (job, None):
                print("error: %s (%s)" % (d.get("detail"), d.get("reason")))
                return 1
            if topic.endswith("/fax/status") and d.get("job") == job:
                print("status: " + status_line(d), flush=True)
                if d.get("final") or not follow:
                    return 0 if d.get("code") in (0, 403) or not d.get("final") else 1
                got = True
                break
        else:
            if got:
                print("no new status within %d s: the job is still open on the unit" % wait)
            else:
                print("no answer from the unit within %d s" % timeout)
            return 1


def cmd_send(ctl, a):
    job = a.job or "J" + time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]
    doc = json.dumps({"job": job, "number": a.number, "pages": [page_of(f) for f in a.files]},
                     separators=(",", ":"))
    if len(doc) > MAX_FAX:
        die("the job is %d bytes, the unit takes at most %d: send fewer pages per job" % (len(doc), MAX_FAX))
    n = sum(count_pages(f) for f in a.files)
    ctl.start([ctl.root() + "/cmd/error", ctl.root() + "/fax/status"])
    ctl.publish("cmd/fax", doc)
    print("job %s sent to %s (%d page%s in %d file%s)" % (job, a.unit, n, "" if n == 1 else "s",
                                                          len(a.files), "" if len(a.files) == 1 else "s"))
    return _answers(ctl, job, a.timeout, a.follow, a.wait)


def cmd_cancel(ctl, a):
    ctl.start([ctl.root() + "/cmd/error", ctl.root() + "/fax/status"])
    ctl.publish("cmd/cancel", json.dumps({"job": a.job}))
    print("cancel %s sent to %s" % (a.job, a.unit))
    return _answers(ctl, a.job, a.timeout, False, a.timeout)


def cmd_telegram(ctl, a):
    try:
        with open(a.file, "rb") as f:
            data = f.read()
    except OSError as e:
        die("cannot read %s: %s" % (a.file, e.strerror))
    # always named: the verdict carrying this ref is ours, whoever else sends telegrams
    ref = a.ref or "fc-" + uuid.uuid4().hex[:12]
    ctl.start([ctl.root() + "/cmd/error", ctl.root() + "/cafis/verdict"])
    ctl.publish("cmd/telegram/%s/%s" % (a.sender, ref), data)
    print("telegram of %d bytes sent to %s as %s, ref %s" % (len(data), a.unit, a.sender, ref))
    for topic, payload, _r in ctl.messages(a.timeout):
        d = _loads(payload)
        if d is None:
            continue
        if topic.endswith("/cmd/error"):
            if d.get("cmd") != "telegram" or d.get("ref") not in (ref, None):
                continue   # another command's or another sender's refusal
            print("error: %s (%s)" % (d.get("detail"), d.get("reason")))
            return 1
        if d.get("ref") != ref:
            continue   # another sender's answer
        if topic.endswith("/cafis/verdict"):
            print("verdict: %s code=%s rule=%s field=%s" % (d.get("verdict"), d.get("code"), d.get("rule"),
                                                          d.get("field")))
            return 0
    print("no verdict within %d s" % a.timeout)
    return 1


class View:
    """The watch state: per unit availability, last seq, gaps and duplicates, jobs, verdicts."""

    def __init__(self, out=print):
        self.units = {}
        self.out = out
        self.gaps = 0

    def unit(self, u):
        if u not in self.units:
            self.units[u] = {"avail": "?", "seq": None, "gaps": [], "dups": 0, "jobs": {},
                             "verdicts": {}, "telemetry": None}
        return self.units[u]

    def feed(self, topic, payload, retained=False):
        parts = topic.split("/", 2)
        if len(parts) < 3:
            return
        u, sfx = parts[1], parts[2]
        st = self.unit(u)
        if sfx == "availability":
            st["avail"] = payload.decode(errors="replace")
            self.out("%s %-10s %s%s" % (_ts(), u, st["avail"], " (retained)" if retained else ""))
            return
        if sfx.startswith("cmd/") and sfx != "cmd/error":
            return
        if sfx.startswith("fax/page/"):
            payload = split_page(payload)[0]   # its JSON head: the page's seq and size
        d = _loads(payload)
        if d is None:
            self.out("%s %-10s %s: not JSON: %r" % (_ts(), u, sfx, payload[:60]))
            return
        seq = d.get("seq")
        if sfx == "telemetry":
            st["telemetry"] = d
            pend = (seq - st["seq"]) if isinstance(seq, int) and st["seq"] is not None else 0
            self.out("%s %-10s telemetry tseq=%s unit at seq %s%s" % (
                _ts(), u, d.get("tseq"), seq, " (%d not seen yet)" % pend if pend > 0 else ""))
            return
        mark = ""
        if isinstance(seq, int):
            last = st["seq"]
            if last is not None and seq > last + 1:
                st["gaps"].append((last + 1, seq - 1))
                self.gaps += 1
                mark = "  GAP: seq %d..%d missing" % (last + 1, seq - 1)
            elif last is not None and seq <= last:
                st["dups"] += 1
                mark = "  (duplicate)"
            if last is None or seq > last:
                st["seq"] = seq
        if sfx == "fax/status":
            st["jobs"][d.get("job")] = (d.get("code"), d.get("category"), d.get("final"))
            text = "job %s: %s %s%s" % (d.get("job"), d.get("code"), d.get("category"),
                                        " final" if d.get("final") else "")
        elif sfx == "cafis/verdict":
            v = d.get("verdict")
            st["verdicts"][v] = st["verdicts"].get(v, 0) + 1
            text = "verdict %s %s %s %s" % (v, d.get("code") or "", d.get("rule") or "", d.get("field") or "")
        elif sfx == "fax/received":
            text = "fax received %s: %s pages from %s" % (d.get("id"), d.get("pages"), d.get("remote"))
        elif sfx == "cmd/error":
            text = "cmd/error %s %s: %s" % (d.get("cmd"), d.get("reason"), d.get("detail"))
        else:
            text = sfx
        self.out("%s %-10s #%s %s%s" % (_ts(), u, seq, text.rstrip(), mark))

    def summary(self):
        lines = []
        for u in sorted(self.units):
            st = self.units[u]
            lines.append("%s: %s, last seq %s, %d gaps%s, %d duplicates, %d jobs, verdicts %s" % (
                u, st["avail"], st["seq"], len(st["gaps"]),
                (" " + ",".join("%d..%d" % g for g in st["gaps"])) if st["gaps"] else "",
                st["dups"], len(st["jobs"]),
                " ".join("%s=%d" % kv for kv in sorted(st["verdicts"].items())) or "-"))
            for job in sorted(st["jobs"])[-10:]:
                code, cat, final = st["jobs"][job]
                lines.append("    job %s: %s %s%s" % (job, code, cat, " (final)" if final else ""))
            t = st["telemetry"]
            if t:
                ob = t.get("outbox") or {}
                lines.append("    telemetry: uptime %s, outbox depth %s, dropped %s, refused %s/%s" % (
                    t.get("uptime", "?"), ob.get("depth", "?"), ob.get("dropped_telemetry", "?"),
                    ob.get("refused_progress", "?"), ob.get("refused_result", "?")))
        return "\n".join(lines)


def _ts():
    return time.strftime("%H:%M:%S")


def cmd_watch(ctl, a):
    view = View(lambda s: print(s, flush=True))
    unit = a.unit if a.unit_given else "+"
    ctl.start(["%s/%s/#" % (a.prefix, unit)])
    nxt = time.monotonic() + a.every if a.every else None
    try:
        for m in ctl.messages(a.duration if a.duration else 10 ** 9, True):
            if m is not None:
                view.feed(*m)
            if nxt is not None and time.monotonic() >= nxt:
                print("--- %s\n%s" % (_ts(), view.summary()), flush=True)
                nxt = time.monotonic() + a.every
    except KeyboardInterrupt:
        pass
    print("--- summary")
    print(view.summary() or "no units seen", flush=True)
    return 1 if view.gaps else 0


# ---- received faxes (docs/mqtt.md "Received pages")

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
            h = _loads(head) or {}
            if h.get("bytes") not in (None, len(data)):
                return None   # not the page its head announces: wait for a good copy
            self.pages.setdefault(key, {})[n] = data
        elif topic.endswith("/fax/received"):
            d = _loads(payload)
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


def main(argv=None):
    def common(p, top):
        d = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
        p.add_argument("--host", default=d(os.environ.get("FAXCTL_HOST", "127.0.0.1")))
        p.add_argument("--port", type=int, default=d(int(os.environ.get("FAXCTL_PORT", "1883"))))
        p.add_argument("--unit", default=d(None), help="unit id (default $FAXCTL_UNIT or u1; watch: all)")
        p.add_argument("--prefix", default=d("faxbridge"))
        p.add_argument("--user", default=d(os.environ.get("FAXCTL_USER")))
        p.add_argument("--password-file", default=d(None),
                       help="read the broker password from this file (or set $FAXCTL_PASSWORD)")
        p.add_argument("--tls", action="store_true", default=d(False), help="TLS with the system CAs")
        p.add_argument("--cafile", default=d(None), help="TLS with this CA certificate")
        p.add_argument("--timeout", type=float, default=d(5.0), help="seconds to wait for the unit's answer")

    # allow_abbrev=False: `--password` must not silently mean `--password-file`
    ap = argparse.ArgumentParser(prog="faxctl", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    common(ap, True)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send", allow_abbrev=False, help="send a fax job: NUMBER FILE...")
    common(s, False)
    s.add_argument("number")
    s.add_argument("files", nargs="+")
    s.add_argument("--job")
    s.add_argument("--follow", action="store_true", help="print every status until the final one")
    s.add_argument("--wait", type=float, default=900,
                   help="with --follow: give up when no status came for S seconds (default 900:"
                        " longer than a retry delay or a page at 2400 bit/s)")
    c = sub.add_parser("cancel", allow_abbrev=False, help="cancel a job")
    common(c, False)
    c.add_argument("job")
    t = sub.add_parser("telegram", allow_abbrev=False, help="send one CAFIS telegram (raw bytes from FILE)")
    common(t, False)
    t.add_argument("file")
    t.add_argument("--sender", choices=("terminal", "center"), default="center",
                   help="who sent it (default center, as the unit's own default)")
    t.add_argument("--ref", help="name the telegram: the verdict carries it, a repeat gets no second one")
    w = sub.add_parser("watch", allow_abbrev=False, help="live view of units, jobs and verdicts; flags gaps in seq")
    common(w, False)
    w.add_argument("--duration", type=float, default=0, help="stop after S seconds (default: Ctrl-C)")
    w.add_argument("--every", type=float, default=30, help="print the summary table every S seconds (0: only at exit)")
    r = sub.add_parser("received", allow_abbrev=False,
                       help="save received faxes as PNG per page and a multi-page TIFF (G3)")
    common(r, False)
    r.add_argument("--out", default="received", help="folder to save into (default ./received)")
    r.add_argument("--wait", type=float, default=10, help="stop after S seconds without a message")
    r.add_argument("--count", type=int, default=0, help="stop after N faxes")
    r.add_argument("--client-id", default=None,
                   help="the persistent session's id (default faxctl-rx-<unit>)")
    a = ap.parse_args(argv)
    a.unit_given = a.unit is not None
    if a.unit is None:
        a.unit = os.environ.get("FAXCTL_UNIT", "u1")
    cid = None
    if a.cmd == "received":
        cid = a.client_id or "faxctl-rx-" + (a.unit if a.unit_given else "all")
    ctl = Ctl(a, cid)
    try:
        return {"send": cmd_send, "cancel": cmd_cancel, "telegram": cmd_telegram, "watch": cmd_watch,
                "received": cmd_received}[a.cmd](ctl, a)
    finally:
        ctl.stop()


if __name__ == "__main__":
    sys.exit(main())
