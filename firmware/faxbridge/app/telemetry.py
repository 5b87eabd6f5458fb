"""The link's telemetry message (docs/mqtt.md "Topics", `<root>/telemetry`): the unit's fields,
then the outbox's and the link's counters as two groups, read through their public fields and
written straight into the buffer given (one tuple of values per group, no pairs; app/link.py
gives the outbox store's record buffer).
"""
from faxbridge.core.mqtt import contract


def payload(link, pairs, buf=None):
    """The telemetry payload of app/link.Link `link` with the unit's fields `pairs`, built in
    buf (contract.telemetry: ValueError when it does not fit)."""
    ob = link.outbox
    s = link.session
    return contract.telemetry(link.unit, ob.last, link.tseq, pairs, (
        ("outbox", "depth,bytes,last_seq,dropped_telemetry,refused_progress,refused_result,"
         "refused_answer,lost_files",
         (ob.depth(), ob.store.used(), ob.last, ob.dropped_telemetry, ob.refused_progress,
          ob.refused_result, ob.refused_answer, ob.lost_files)),
        ("link", "state,connects,errors,denied,resent,held,redelivered,last_error",
         (link.state(), link.connects, link.errors, link.denied,
          s.stats_resent, link.held, link.redelivered, link.last_error))), buf)
