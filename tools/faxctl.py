"""faxctl: talk to faxbridge units over MQTT (paho-mqtt). See `tools/faxctl --help`.

  faxctl [--host H --port P --unit U ...] send NUMBER FILE... [--job ID] [--follow [--wait S]]
  faxctl cancel JOB
  faxctl telegram FILE [--sender terminal|center] [--ref REF]   (a ref is made when not given)
  faxctl watch [--duration S]       live view of units, jobs and verdicts; flags seq gaps
  faxctl received [--out DIR] [--wait S] [--count N]   save received faxes as PNG + TIFF

Pages: *.txt is sent as text, *.pbm (P1/P4) zlib-compressed as "pbmz" (docs/mqtt.md).
Exit status: 0 done, 1 the unit answered cmd/error or a gap was seen, 2 usage/connection error.
Credentials: --user, and the password from $FAXCTL_PASSWORD or --password-file (never argv).

This module: the command line, send, cancel and telegram. The broker session is
faxctl_session.py, `watch` faxctl_watch.py, `received` faxctl_received.py.
"""
import argparse
import base64
import json
import os
import sys
import time
import uuid
import zlib

import hostpath  # noqa: F401  (firmware/ on the path: its limits and page counter, one of each)
from faxbridge.core.mqtt.commands import MAX_FAX
from faxctl_received import cmd_received
from faxctl_session import Ctl, die, loads_dict
from faxctl_watch import cmd_watch


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
            d = loads_dict(payload)
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
        d = loads_dict(payload)
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
