"""`faxctl watch`: the live view of units, jobs and verdicts; flags gaps and duplicates in each
unit's seq (docs/mqtt.md)."""
import time

from faxctl_received import split_page
from faxctl_session import loads_dict


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
        d = loads_dict(payload)
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
