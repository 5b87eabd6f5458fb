"""The actions of table (2) of 3.3.1 (the member center's side, seed 002): what the member
does with a telegram from CAFIS in the cell its row and column name (principles.py numbers the
actions 1..12), and the mode changes they make: started, online (held telegrams sent), stopped.

Functions here work on a Member engine (engine.py) and append effects to a list, as origin.py's.
"""
from . import dest as _dest
from . import origin as _origin


def answer(m, tg, rule, effs):
    """The report to a command: the command echoed with its answer type (3.3.4 B(b))."""
    ro = m.roles
    code = ro.answer.get(ro.mtype(tg))
    if code is None:
        effs.append(("discard", ro.route(tg), tg, rule + ": no answer type in the catalogue", None))
        return
    effs.append(("send", ro.route(tg), ro.with_type(tg, code), rule, None))


def _wait(m, row, rule, effs):
    if row not in ("idle", "stopped", "cafis_fault"):
        effs.append(("wait", None, row, rule, None))


def act(m, now, n, row, col, route, tg, rule, effs):
    """Action `n` of table (2) (principles.member_action) for telegram `tg` in column `col`."""
    if n == 1:      # answer; wait for request telegrams (start sequence)
        answer(m, tg, rule, effs)
        m.control = None
        _started(m, now, tg, rule, effs)
    elif n == 2:    # answer / process; keep waiting
        _process(m, now, col, route, tg, rule, effs)
        _wait(m, row, rule, effs)
    elif n == 3:    # stop waiting; i) end notice ii) end command
        m.control = None
        answer(m, tg, rule, effs)
        if col == "end_notice":
            m.ending = True
            effs.append(("wait", None, "end_cmd", rule + " i", None))
        else:
            _stop(m, now, rule + " ii", effs)
    elif n == 4:    # answer and restart at once
        answer(m, tg, rule, effs)
        m.control = None
        effs.append(("restart", None, None, rule, None))
        _started(m, now, tg, rule, effs)
    elif n == 5:    # not received
        effs.append(("ignore", route, tg, rule, None))
    elif n == 6:    # answer
        answer(m, tg, rule, effs)
    elif n == 7:    # discard; keep waiting
        effs.append(("discard", route, tg, rule, None))
        _wait(m, row, rule, effs)
    elif n == 8:    # answer if ready to start, else discard
        if m.cfg.ready:
            answer(m, tg, rule, effs)
            _started(m, now, tg, rule, effs)
        else:
            effs.append(("discard", route, tg, rule + " not ready", None))
    elif n == 9:    # discard
        effs.append(("discard", route, tg, rule, None))
    elif n == 10:   # answer the notice at once
        answer(m, tg, rule, effs)
    elif n == 11:   # accept the report; keep waiting
        effs.append(("deliver", route, tg, rule, None))
        _wait(m, row, rule, effs)
    elif n == 12:   # answer and hold the request sent
        answer(m, tg, rule, effs)
        for r in sorted(m.routes):
            p = m.routes[r]
            p.held = True
            p.deadline = now + m.cfg.t_hold
            effs.append(("hold_request", r, p.tg, rule, p.ref))


def _process(m, now, col, route, tg, rule, effs):
    """② / normal processing of a CAFIS telegram by its column."""
    if col == "request":
        _dest.on_request(m, now, route, tg, rule, effs, True)
    elif col in ("cancel", "cancel_confirm"):
        _dest.on_request(m, now, route, tg, rule, effs, False)
    elif col == "other_report":
        effs.append(("deliver", route, tg, rule, None))
    else:             # end notice, line check, counter: answer
        answer(m, tg, rule, effs)
        if col == "end_notice":
            m.ending = True


def _started(m, now, tg, rule, effs):
    if m.roles.kind(tg) == "permit_cmd":
        online(m, now, rule, effs)
    else:
        m.mode = m.STARTING
        m.ending = False


def online(m, now, rule, effs):
    """Online: what was held for CAFIS is sent now."""
    m.mode = m.ONLINE
    m.ending = False
    effs.append(("online", None, None, rule, None))
    flush(m, now, effs, False)


def _stop(m, now, rule, effs):
    m.mode = m.STOPPED
    m.ending = False
    m.control = None
    for route in sorted(m.routes):
        p = m.routes[route]
        effs.append(("abandon", route, p.tg, rule, p.ref))
        _origin.time_over(m, now, route, p, effs, False, rule + " -> 表3.3.2-1")
    effs.append(("stop", None, None, rule, None))


def flush(m, now, effs, due_only):
    """Send what the hold queue holds (only what is due, with due_only) while online."""
    if m.mode != m.ONLINE or not len(m.held):
        return
    for p in m.held.take(now, due_only):
        if p.kind == "report":
            effs.append(("send", m.roles.route(p.tg), p.tg, "3.3.3(2) held report sent", p.ref))
        else:
            _origin.resend(m, now, p, effs)
