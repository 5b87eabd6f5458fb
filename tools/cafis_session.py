"""Session replay for `cafis-check --session` (seed 002, 3.3.1-3.3.3).

Replays a capture whose lines carry "t" (seconds) through the session engine:
- an "in" line from a center is a telegram the member center sent: CAFIS receives it (table
  (1) of 3.3.1, then the 3.3.4 checks) and the member center's engine sends it (3.3.2 / 3.3.3);
- an "in" line from a terminal is checked by 3.3.4 only (the tables are about centers);
- an "out" line is a telegram CAFIS sent: CAFIS notes it, the member center receives it
  (table (2) of 3.3.1, 3.3.2 (2), 3.3.3 (1)).
Before each line, the time-overs and resends due by its "t" fire, each at its own time.
Per telegram (and per timer) one JSON line shows, for each side, the state before and after
and the actions taken; --table prints the same as readable text.
"""
import json
import sys

import hostpath  # noqa: F401

from faxbridge.core.cafis import cafisside, engine, outbound  # noqa: E402
from faxbridge.core.cafis import roles as _roles  # noqa: E402
from faxbridge.core.cafis.dest import Pending  # noqa: E402
from faxbridge.core.cafis.roles import protected as _protected  # noqa: E402


def _hexless(b):
    try:
        return b.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        return b.hex()


def effect_json(ro, e):
    """One effect as a small JSON object."""
    kind, route, data, rule, extra = e
    out = {"do": kind}
    if route:
        out["route"] = _hexless(route)
    if isinstance(data, (bytes, bytearray)):
        out["msg"] = _hexless(bytes(data[ro.off_type:ro.off_type + ro.len_type])) if len(data) >= ro.hlen else "?"
    elif data is not None:
        out["what"] = data
    if rule:
        out["rule"] = rule
    if isinstance(extra, str):
        out["ref" if kind in ("send", "terminal_error", "to_terminal", "hold") else "code"] = extra
    elif isinstance(extra, tuple):
        out["verdict"] = list(extra)
    return out


class Session:
    """Engines for one replay: CAFIS's side and one member engine per center."""

    def __init__(self, reg, config=None, emit=None):
        self.reg = reg
        self.checker = outbound.Checker(reg)
        self.cafis = cafisside.Cafis(reg, self.checker)
        self.config = dict(config or {})
        self.config.setdefault("initial", "online")
        self.members = {}
        self.emit = emit or (lambda rec: None)
        self.t = None
        self.bad = 0

    def member(self, center):
        m = self.members.get(center)
        if m is None:
            m = engine.Member(self.config, self.reg, center)
            self.members[center] = m
        return m

    def _side(self, ro, before, effs, after):
        return {"before": before, "actions": [effect_json(ro, e) for e in effs], "after": after}

    def advance(self, t):
        """Fire every timer due by `t`, each at its own deadline, in time order."""
        for _ in range(100000):
            best = None
            for cid in sorted(self.members):
                d = self.members[cid].next_deadline()
                if d is not None and d <= t and (best is None or d < best[0]):
                    best = (d, cid)
            if best is None:
                return
            d, cid = best
            m = self.members[cid]
            before = m.describe()
            effs = m.poll(d)
            if not effs and m.next_deadline() == d:
                return                      # nothing due after all (cannot happen; never loop)
            self.emit({"t": d, "timer": True, "center": cid,
                       "member": self._side(m.roles, before, effs, m.describe())})

    def feed(self, lineno, t, d, frm, center, tel):
        if self.t is not None and t < self.t:
            self.bad += 1
            self.emit({"error": "line %d: \"t\" goes back in time (%s < %s)" % (lineno, t, self.t), "line": lineno})
            return
        self.advance(t)
        self.t = t
        ro = self.cafis.roles
        rec = {"line": lineno, "t": t, "dir": d, "from": frm, "center": center}
        if len(tel) >= ro.hlen and frm == "center":
            rec["msg"] = _hexless(bytes(tel[ro.off_type:ro.off_type + ro.len_type]))
            rec["route"] = _hexless(bytes(tel[ro.off_route:ro.off_route + ro.len_route]))
        if frm == "terminal":
            v = self.checker.check(tel, "terminal", center)
            rec["cafis"] = {"verdict": [v.kind, v.code, v.rule(), v.field]}
            self.emit(rec)
            return
        m = self.member(center)
        mb = m.describe()
        cb = self.cafis.describe(center)
        if d == "in":
            ce = self.cafis.receive(t, center, tel)
            me = self._observe(m, t, tel)
        else:
            ce = self.cafis.sent(t, center, tel)
            me = m.receive(t, tel)
        rec["cafis"] = self._side(ro, cb, ce, self.cafis.describe(center))
        rec["member"] = self._side(m.roles, mb, me, m.describe())
        self.emit(rec)

    def _observe(self, m, t, tel):
        """The member center sent `tel`: if the engine already sent (or holds) the same telegram
        it is noted as expected; otherwise the engine sends it (and says if it would not)."""
        ro = m.roles
        tel = bytes(tel)
        route = ro.route(tel)
        p = m.routes.get(route)
        if p is not None and ro.mtype(p.tg) == ro.mtype(tel):
            return m.poll(t) + [("expected", route, tel, "the engine sent this already", None)]
        k = ro.kind(tel)
        if k == "report" and ro.cls(tel) == _roles.CTRL_REP:
            return m.poll(t) + [("expected", route, tel, "answer to a command (the engine answers them itself)", None)]
        if (p is not None and k in ("cancel", "cancel_confirm") and p.kind in ("request", k)
                and _protected(ro, p.tg) == _protected(ro, tel)):
            # the member center's time-over came before the engine's: follow the capture
            m.routes[route] = Pending(k, tel, t + m.cfg.t_fault, ref=p.ref,
                                     tries=0 if p.kind == "request" else p.tries + 1)
            return m.poll(t) + [("expected", route, tel, "fault telegram before the engine's time-over "
                                 "(the member's timer is shorter than the config's)", None)]
        for h in list(m.held.items):
            if h.tg == tel:
                m.held.items.remove(h)
                return m.poll(t) + [("expected", route, tel, "held telegram sent", None)]
        return m.send(t, tel)


def _table_line(rec):
    if "error" in rec:
        return "%5s  ERROR  %s" % (rec["line"], rec["error"])
    out = []
    if rec.get("timer"):
        head = "%5s  t=%-8s timer   center %s" % ("", rec["t"], rec["center"])
    else:
        head = "%5s  t=%-8s %-3s %-8s center %s  %s route %s" % (
            rec["line"], rec["t"], rec["dir"], rec["from"], rec["center"], rec.get("msg", "-"),
            rec.get("route", "-"))
    out.append(head)
    for side in ("cafis", "member"):
        s = rec.get(side)
        if s is None:
            continue
        if "verdict" in s:
            out.append("         %-6s verdict %s" % (side, s["verdict"]))
            continue
        out.append("         %-6s %s" % (side, s["before"]))
        for a in s["actions"]:
            bits = [a["do"]] + [str(a[k]) for k in ("msg", "what", "code", "route") if k in a]
            out.append("           -> %s%s" % (" ".join(bits), ("  [" + a["rule"] + "]") if "rule" in a else ""))
        out.append("         %-6s %s" % ("", s["after"]))
    return "\n".join(out)


MAX_T = engine.MAX_SECONDS   # "t" is at most this many seconds (deadlines stay finite numbers)


def _seconds(t):
    """True when t is a JSON number of seconds the replay takes: finite, 0 <= t <= MAX_T."""
    return (isinstance(t, (int, float)) and not isinstance(t, bool) and t == t and t - t == 0
            and 0 <= t <= MAX_T)


def run(reg, src, out, parse_record, table=False, config=None, write_json=None):
    """Replay capture `src` (an iterable of byte lines) against registry `reg`, writing JSON
    lines (or a table) to `out`. parse_record is cafis-check's line parser, write_json its
    writer of one JSON line. Returns the number of bad lines."""
    def emit(rec):
        if table:
            out.write(_table_line(rec) + "\n")
        elif write_json is not None:
            write_json(out, rec)
        else:
            out.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")

    s = Session(reg, config, emit)
    for lineno, raw in enumerate(src, 1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            s.bad += 1
            emit({"error": "line %d: not UTF-8 text" % lineno, "line": lineno})
            continue
        if not text.strip():
            continue
        try:
            d, frm, center, tel, rec = parse_record(text)
            t = rec.get("t")
            if not _seconds(t):
                raise ValueError("\"t\" must be a finite number of seconds, 0 to %d" % MAX_T)
            if frm == "center" and center not in reg.by_id:
                raise ValueError("center %r is not in the registry" % (center,))
        except Exception as e:
            s.bad += 1
            emit({"error": "line %d: %s" % (lineno, e), "line": lineno})
            continue
        s.feed(lineno, t, d, frm, center, tel)
    return s.bad


def load_config(path, load_json=json.loads):
    """Engine configuration (timers, limits) from a JSON file, for --session-config CONFIG.json:
    a JSON object of engine.Config options. Anything else is refused with one line (SystemExit)."""
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        raise SystemExit("cafis-check: cannot read session config %s: %s" % (path, e.strerror))
    except UnicodeDecodeError:
        raise SystemExit("cafis-check: session config %s refused: not UTF-8 text" % path)
    try:
        d = load_json(text)
    except (ValueError, RecursionError) as e:
        raise SystemExit("cafis-check: session config %s refused: not valid JSON (%s)" % (path, e))
    try:
        engine.Config(d)        # every value checked (engine.SCHEMA), timers at most 10^12 s
    except ValueError as e:
        raise SystemExit("cafis-check: session config %s refused: %s" % (path, e))
    return d


def main(reg, capture, table=False, config_path=None, parse_record=None, write_json=None, load_json=json.loads):
    """cafis-check --session: exit status 0, 1 if any line was bad, 2 if a file cannot be used."""
    config = load_config(config_path, load_json)
    try:
        src = sys.stdin.buffer if capture == "-" else open(capture, "rb")
    except OSError as e:
        print("cafis-check: cannot read capture %s: %s" % (capture, e.strerror), file=sys.stderr)
        return 2
    with src:
        bad = run(reg, src, sys.stdout, parse_record, table=table, config=config, write_json=write_json)
    sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit("use: cafis-check --session --registry R.json CAPTURE.jsonl")
