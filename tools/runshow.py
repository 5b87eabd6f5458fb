"""What `make run` (tools/run.py) shows: each event the unit publishes as one readable line
(Show), the received fax saved from MQTT as `faxctl received` saves it, and received pages
(.g3) as PNG."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def say(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Show:
    """Prints what the unit publishes, one readable line per event."""

    def __init__(self, out=None):
        import faxctl_received
        self.last_seq = None
        self.finals = {}
        self.verdicts = []
        self.received = []
        self.out = out                  # where received faxes are saved (faxctl received)
        self.rx = faxctl_received.Received()
        self.saved = []                 # paths written for the received faxes

    def _collect(self, topic, payload):
        key = self.rx.feed(topic, payload)
        if key is not None and self.out:
            paths = self.rx.save(key, self.out)
            self.saved += paths
            say("fax %s reached the host through MQTT: %s" % (
                key[1], ", ".join(p for p in paths if p.endswith(".tif"))))

    def _seq(self, seq):
        if isinstance(seq, int):
            if self.last_seq is not None and seq > self.last_seq + 1:
                say("!! gap in seq: %d -> %d" % (self.last_seq, seq))
            self.last_seq = seq if self.last_seq is None else max(seq, self.last_seq)

    def __call__(self, topic, m):
        sfx = topic.split("/", 2)[-1]
        if "/fax/page/" in topic and isinstance(m, (bytes, bytearray)):
            import faxctl_received
            head = json.loads(faxctl_received.split_page(m)[0] or b"{}")
            self._seq(head.get("seq"))
            say("received page %s/%s of %s on MQTT (%s bytes of T.4)" % (
                head.get("page"), head.get("of"), head.get("id"), head.get("bytes")))
            self._collect(topic, m)
            return
        if not isinstance(m, dict):
            if sfx == "availability":
                say("unit is %s" % m.decode(errors="replace"))
            return
        if sfx in ("fax/status", "fax/received", "cafis/verdict", "cmd/error"):
            self._seq(m.get("seq"))
        if sfx == "fax/status":
            ev = m.get("evidence") or {}
            extra = ""
            if m.get("state") == "call" and "page" in ev:
                extra = "page %s confirmed" % ev["page"]
            elif m.get("state") == "call":
                extra = "dialling %s" % ev.get("dialling", "")
            elif m.get("state") == "wait":
                extra = "%s, retry in %ss" % (ev.get("result") or ev.get("reason"), ev.get("retry_in"))
            elif m.get("final"):
                extra = ev.get("reason") or ev.get("result") or ""
            say("fax %-10s %7d  %-22s %s/%s pages  attempt %s  %s" % (
                m["job"], m["code"], m["category"], m["pages"], m["of"], m["attempt"], extra))
            if m.get("final"):
                self.finals[m["job"]] = m["code"]
        elif sfx == "cafis/verdict":
            say("telegram %-12s %-16s code=%s rule=%s field=%s" % (
                m["ref"], m["verdict"], m["code"], m["rule"], m["field"]))
            self.verdicts.append(m)
        elif sfx == "fax/received":
            say("fax received %s: %s pages from %r, hang-up %s" % (
                m.get("id"), m.get("pages"), m.get("remote"), (m.get("hangup") or {}).get("code")))
            self.received.append(m)
            self._collect(topic, json.dumps(m).encode())
        elif sfx == "cmd/error":
            say("command refused: %s %s: %s" % (m.get("cmd"), m.get("reason"), m.get("detail")))
        elif sfx == "telemetry":
            say("telemetry: up %ss, heap free %s, modem %s, outbox depth %s" % (
                m.get("uptime"), m.get("heap_free"), m.get("modem"), (m.get("outbox") or {}).get("depth")))


def g3_to_png(g3, png):
    """A received page (.g3, MSB-first) as PNG, with tools/g3topng (our T.4 decoder, Pillow)."""
    r = subprocess.run([sys.executable, os.path.join(HERE, "g3topng"), "-o", png, g3],
                       capture_output=True, timeout=60)
    return r.returncode == 0 and os.path.exists(png)


def pngs(folder):
    out = []
    for dp, _dn, fns in os.walk(folder):
        for f in sorted(fns):
            if f.endswith(".g3"):
                src = os.path.join(dp, f)
                dst = src[:-3] + ".png"
                if os.path.exists(dst) or g3_to_png(src, dst):
                    out.append(dst)
    return out
