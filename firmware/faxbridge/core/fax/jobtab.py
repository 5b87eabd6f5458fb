"""The fax job lifecycle as data (spec/fax.md "The result side", docs/unit.md "Fax jobs"): the
transition table ROWS, read by core.fax.job.Jobs, and the pure helpers around a job record.
"""
from faxbridge.core.fax import status
from faxbridge.core.mqtt import commands, contract

# The transitions: (from states, event, to state, code); code None is the event's own (the
# call's InterFAX code from the driver, the dial policy's 6002/6027, the caller's 205001).
# "" is no state yet. Rows cite spec/fax.md's status table unless said otherwise.
ROWS = (
    (("",), "submit", "new", -1),                 # job accepted, pages being prepared
    (("",), "refuse", "done", None),              # dial policy: refused 6002 / malformed 6027
    (("new",), "ready", "queued", -2),            # ready, waiting for the line
    (("new",), "bad_page", "done", 204000),       # page image could not be made
    (("new",), "no_memory", "done", 205001),      # not counted for jobs.modem_wait_s: docs/fax.md
    (("queued", "wait"), "hold", "held", -22),    # held: the page quota is spent
    (("held",), "expire", "done", 205000),        # quota hold older than quota.hold_s (24 h)
    (("queued", "wait", "held"), "dial", "call", -3),   # dialling / sending
    (("call",), "page", "call", -3),              # sending: one more page confirmed
    (("call",), "retry", "wait", -3),             # retryable outcome, attempts left ("Retries")
    (("call",), "end", "done", None),             # the call's final code (0 = all pages)
    (("call",), "cancelled", "done", 403),        # cancelled during the call (AT+FK)
    (("new", "queued", "wait", "held"), "cancel", "done", 403),   # cancelled on request
    (("new", "queued", "wait", "held"), "no_modem", "done", None),   # modem unusable: 205001
    (("call",), "restart", "wait", -3),           # docs/unit.md: the unit restarted in the call,
    (("call",), "restart_end", "done", 205001),   # redialled if allowed, else system error
)


def valid_id(job_id):
    """A job id is 1..40 of commands.JOB_CHARS and does not start with '.' (a file name)."""
    return commands.name_ok(job_id, commands.MAX_JOB) and job_id[0] != "."


def pairs(ev):
    """Evidence as a tuple of pairs: as given when it is one already (the record in RAM), one
    tuple of the pairs given in a list (the driver's evidence), else built (a record read
    back from JSON holds lists)."""
    for p in ev:
        if type(p) is not tuple:
            return tuple(tuple(p) for p in ev)
    return ev if type(ev) is tuple else tuple(ev)


def fields(rec, evidence=True):
    """The fax/status payload fields of a record (contract.fax_status); evidence=False puts a
    note in place of the evidence (a status too large for an outbox record). Every status of
    a call is in progress (-3): a negative code's category is "in progress" (status.CODES:
    every negative code is), not looked up (status.category
    formats the code and slices the table, 160 B a status on 64-bit; the modules are
    imported once, at the top, not per status: 64 B more)."""
    ev = rec.get("evidence") if evidence else (("omitted", "larger than an outbox record"),)
    code = rec["code"]
    return contract.fax_status(rec["id"], code, "in progress" if code < 0 else status.category(code),
                               rec["state"] == "done",
                               rec.get("attempt", 0), rec.get("confirmed", 0),
                               pairs(ev) if ev else None, rec["state"], rec.get("n", 0))
