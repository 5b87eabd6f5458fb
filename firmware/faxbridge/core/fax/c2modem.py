"""Modem health (sans-I/O): the actions of class2.TABLE outside calls -- the init list,
the idle probe, ATZ and its back-off (docs/fax.md, Decisions: "Modem health"). Each action is
f(machine, session, result name, now); the session is None here."""
from faxbridge.core.fax.c2core import IDLE, INIT, RESET_WAIT


def init_next(m, s, name, now):
    """OK: the next init command, then idle. ERROR on a required one: reset."""
    body, required = m._init_cmds[m._init_i]
    if name != "OK" and required:
        m._reset("AT%s answered ERROR" % body, now)
        return
    m._init_i += 1
    if m._init_i < len(m._init_cmds):
        m._cmd(m._init_cmds[m._init_i][0], INIT, now)
        return
    idle(m, s, name, now)
    m._emit("modem", {"state": "ready"})
    m._idle_poll(now)


def idle(m, s, name, now):
    m._set(IDLE, now, None)
    m._idle_since = now


def reinit(m, s, name, now):
    m._start_init(now)


def no_answer(m, s, name, now):
    m._reset("no answer to AT%s" % m.last_cmd, now)


def unresponsive(m, s, name, now):
    m._emit("modem", {"state": "unresponsive", "reason": "no answer to ATZ"})
    m._set(RESET_WAIT, now, m.cfg["reset_backoff"])


def reset_again(m, s, name, now):
    m._reset("still unresponsive", now)
