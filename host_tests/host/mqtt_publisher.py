"""The unit's stand-in for the MQTT tests: runs faxbridge.app.link.Link on MicroPython (unix
port) or CPython and emits events until the outbox has accepted --count of them.

Prints (flushed): `A <seq>` once an event is accepted (persisted), `E <text>` for link errors,
`C <json>` for each command received, `DONE <last> <depth>` when all are delivered.
Usage: mqtt_publisher.py --port P --outbox DIR [--host H] [--unit U] [--count N] [--gap-ms MS]
        [--user U --password P] [--ca FILE] [--linger-ms MS] [--keepalive S] [--compact BYTES]
        [--seen FILE] [--spool DIR]
"""
import sys

import asyncio

from faxbridge.app.link import Link
from faxbridge.app.transport import make_tls
from faxbridge.app.outbox_store import FileStore
from faxbridge.app.seen import Seen
from faxbridge.core.mqtt import commands, contract, jsonw, outbox


def out(*a):
    print(*a)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def args(argv):
    o = {"host": "127.0.0.1", "unit": "u1", "count": "10", "gap-ms": "0", "linger-ms": "0",
         "keepalive": "10", "outbox": None, "user": None, "password": None, "ca": None,
         "port": "1883", "hostname": None, "verify": "1", "compact": "8192", "seen": None,
         "spool": None}
    i = 1
    while i < len(argv):
        o[argv[i][2:]] = argv[i + 1]
        i += 2
    return o


def obj(*pairs):
    """An ordered JSON object from pairs, as str (the contract's own writer)."""
    jsonw.begin()
    for k, v in pairs:
        jsonw.field(k, v)
    return jsonw.end().decode()


def on_command(cmd):
    if cmd[0] == "fax":      # ("fax", job, number, pages, digest): core/mqtt/commands.py
        out("C", obj(("cmd", "fax"), ("job", cmd[1]), ("number", cmd[2]),
                     ("pages", [k for k, _d in cmd[3]])))
    elif cmd[0] == "cancel":
        if cmd[1] == "unknown":
            raise commands.CommandError(commands.REJECTED, "no such job", cmd[1])
        out("C", obj(("cmd", "cancel"), ("job", cmd[1])))
    else:
        out("C", obj(("cmd", "telegram"), ("sender", cmd[2]), ("data", cmd[1])))


async def main(o):
    if not o["outbox"]:
        sys.exit("--outbox DIR is required (the link's store)")
    store = FileStore(o["outbox"], int(o["compact"]))
    tls = make_tls(cafile=o["ca"]) if o["ca"] else None
    spool = None
    if o["spool"]:
        from faxbridge.app.spool import Spool
        spool = Spool(o["spool"])
    link = Link(o["unit"], o["host"], int(o["port"]), store, username=o["user"],
                password=o["password"], tls=tls, server_name=o["hostname"],
                keepalive=int(o["keepalive"]), verify=o["verify"] == "1",
                backoff_min_ms=100, backoff_max_ms=1000, on_error=lambda t: out("E", t),
                seen=Seen(o["seen"]) if o["seen"] else None, spool=spool)
    link.on_command = on_command
    task = asyncio.create_task(link.run())
    count = int(o["count"])
    gap = int(o["gap-ms"])
    i = 0
    while link.outbox.last < count:
        i += 1
        final = i % 3 != 0
        fields = contract.fax_status("J%d" % i, 0 if final else -3, "success" if final else "in progress",
                                     final, 1, i % 5)
        try:
            seq = link.event(contract.FAX_STATUS, fields)
            out("A", seq)
        except outbox.OutboxFull:
            await asyncio.sleep_ms(20) if hasattr(asyncio, "sleep_ms") else await asyncio.sleep(0.02)
            continue
        if gap:
            await asyncio.sleep(gap / 1000)
        else:
            await asyncio.sleep(0)
    link.telemetry((("uptime", 1),))
    for _ in range(3000):
        if link.outbox.depth() == 0 and link.state() == "up":
            break
        await asyncio.sleep(0.01)
    linger = int(o["linger-ms"])
    if linger:
        await asyncio.sleep(linger / 1000)
    out("DONE", link.outbox.last, link.outbox.depth())
    await link.stop()
    await asyncio.wait_for(task, 5)


asyncio.run(main(args(sys.argv)))
