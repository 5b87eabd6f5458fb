"""MQTT figures: QoS 1 events/s through a real Mosquitto on loopback (outbox on file: the
link has no other store; TCP_NODELAY on/off, echo check on/off), on CPython and on the MicroPython unix port,
plus heap per event and the link's static footprint on MicroPython. Prints; asserts nothing.

Usage: .venv/bin/python tools/bench/mqtt.py [--events N]   (or `make bench`: run() gives rows)
The unit side is tools/bench/_mqtt_unit.py, run on each runtime in a subprocess.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import pwd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")


def broker(d):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = os.path.join(d, "m.conf")
    with open(conf, "w") as f:
        f.write("user %s\nlistener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n"
                "set_tcp_nodelay true\n" % (pwd.getpwuid(os.getuid()).pw_name, port))
    p = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, port
        except OSError:
            time.sleep(0.02)
    p.kill()
    sys.exit("mosquitto did not start")


def run_unit(runtime, port, n, store, nodelay, verify, window):
    prog = os.path.join(HERE, "_mqtt_unit.py")
    args = [str(port), str(n), store, "1" if nodelay else "0", "1" if verify else "0", str(window)]
    env = dict(os.environ)
    if runtime == "micropython":
        cmd = [MP, "-X", "heapsize=8M", prog] + args
        env["MICROPYPATH"] = os.path.join(ROOT, "firmware") + ":.frozen"
    else:
        cmd = [sys.executable, prog] + args
        env["PYTHONPATH"] = os.path.join(ROOT, "firmware") + ":" + os.path.join(ROOT, "tools", "shim")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode:
        return {"error": (r.stdout + r.stderr).strip().splitlines()[-1:]}
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def naive(port, n, nodelay):
    """A blocking client that writes each PUBLISH in three pieces (fixed header, topic + id,
    payload) and waits for its PUBACK, as simple clients do: this is where Nagle hurts."""
    import _path  # noqa: F401  (tools/hostpath.py: firmware/ and the shims on sys.path)
    from faxbridge.core.mqtt import codec
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
    s.sendall(codec.encode_connect("naive", 30))
    s.recv(4)
    payload = b'{"unit":"naive","seq":1,"job":"J1","code":-3}'
    hdr = bytearray(64)
    t0 = time.monotonic()
    for i in range(n):
        pid = i % 65535 + 1
        k = codec.publish_header_into(hdr, b"faxbridge/naive/fax/status", len(payload), 1, False, False, pid)
        pkt = bytes(hdr[:k]) + payload
        s.sendall(pkt[:2])
        s.sendall(pkt[2:-len(payload)])
        s.sendall(pkt[-len(payload):])
        got = b""
        while len(got) < 4:
            got += s.recv(4 - len(got))
    dt = time.monotonic() - t0
    s.close()
    return int(n / dt)


CONFIGS = (  # store, TCP_NODELAY, verify (echo check), QoS 1 window
    ("file", True, False, 8), ("file", True, True, 8),
    ("file", False, False, 8), ("file", True, False, 1), ("file", False, False, 1))


def measure(events):
    """-> list of dicts: runtime, store, nodelay, verify, window, events_per_s, heap_per_event,
    link_heap (the last two on MicroPython only) and the naive-client reference figures."""
    if not os.path.exists("/usr/sbin/mosquitto"):
        raise RuntimeError("mosquitto is needed (make sysdeps)")
    d = tempfile.mkdtemp(prefix="mqttbench")
    p, port = broker(d)
    res = []
    try:
        for runtime in ("cpython", "micropython"):
            for store, nodelay, verify, window in CONFIGS:
                n = events if nodelay else max(100, events // 10)
                sdir = tempfile.mkdtemp(dir=d)
                r = run_unit(runtime, port, n, sdir, nodelay, verify, window)
                res.append({"runtime": runtime, "store": store, "nodelay": nodelay, "verify": verify,
                            "window": window, "error": r.get("error"), "events_per_s": r.get("events_per_s"),
                            "heap_per_event": r.get("heap_bytes_per_event"), "n": n,
                            "cpu_per_event": r.get("cpu_us_per_event"),
                            "link_heap": r.get("link_static_bytes")})
        for nd in (True, False):
            res.append({"runtime": "naive", "nodelay": nd, "events_per_s": naive(port, 2000 if nd else 100, nd)})
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(d, ignore_errors=True)
    return res


def cpu_note(r):
    """The unit's CPU per event (user + system, its process, over the measured events): read
    in clock ticks of 10 ms, so only over a run of 1000 events or more."""
    if r.get("cpu_per_event") is None or r["n"] < 1000:
        return "CPU per event: run too short to read"
    return "CPU %s us/event" % r["cpu_per_event"]


def run():
    """Rows for tools/bench.py (`make bench`): the MicroPython figures in the table, heap churn
    and CPython's rate in the note; CPython's own rows only in build/bench.json (hide)."""
    rows = []
    res = measure(1000)
    key = lambda r: (r["store"], r["nodelay"], r["verify"], r["window"])  # noqa: E731
    cpy = dict((key(r), r) for r in res if r["runtime"] == "cpython" and not r["error"])
    failed = []
    for r in res:
        if r["runtime"] == "naive":
            rows.append({"figure": "reference: naive client (3 writes/publish, 1 in flight), TCP_NODELAY %s"
                         % ("on" if r["nodelay"] else "off"), "value": r["events_per_s"], "unit": "publish/s"})
            continue
        name = "%s store, nodelay %s, verify %s, window %d" % (
            r["store"], "on" if r["nodelay"] else "off", "on" if r["verify"] else "off", r["window"])
        if r["error"]:
            failed.append("%s %s: %s" % (r["runtime"], name, r["error"]))
            continue
        row = {"figure": "QoS1 events, %s %s" % (r["runtime"], name), "value": int(r["events_per_s"]),
               "unit": "events/s"}
        if r["runtime"] == "cpython":
            row["hide"] = True
        else:
            c = cpy.get(key(r))
            row["figure"] = "QoS1 events, " + name
            row["note"] = "%s B heap churn/event; %s%s" % (r["heap_per_event"] or "?", cpu_note(r), (
                "; CPython %s/s (MicroPython %.0f%% of it)" % (c["events_per_s"], 100.0 * int(r["events_per_s"])
                                                               / int(c["events_per_s"])) if c else ""))
        rows.append(row)
        if r["link_heap"] and r["store"] == "file" and r["window"] == 8 and not r["verify"] and r["nodelay"]:
            rows.append({"figure": "Link static heap on MicroPython (rx_size 16384 included)",
                         "value": int(r["link_heap"]), "unit": "B"})
    if failed:
        raise RuntimeError("; ".join(failed))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    a = ap.parse_args()
    res = measure(a.events)
    print("QoS 1 events through Mosquitto (set_tcp_nodelay true) on 127.0.0.1, up to %d events per run"
          % a.events)
    print("%-12s %-6s %-8s %-7s %-7s %10s %14s %12s %10s" % ("runtime", "store", "nodelay", "verify", "window",
                                                           "events/s", "heap B/event", "link heap B", "CPU us/ev"))
    for r in res:
        if r["runtime"] == "naive":
            continue
        if r["error"]:
            print("%-12s %-6s failed: %s" % (r["runtime"], r["store"], r["error"]))
            continue
        print("%-12s %-6s %-8s %-7s %-7s %10s %14s %12s %10s" % (
            r["runtime"], r["store"], "on" if r["nodelay"] else "off", "on" if r["verify"] else "off",
            r["window"], r["events_per_s"], r["heap_per_event"] or "-", r["link_heap"] or "-",
            r["cpu_per_event"] if r["n"] >= 1000 else "-"))
    for r in res:
        if r["runtime"] == "naive":
            print("reference: naive client (3 writes per publish, waits for each PUBACK), TCP_NODELAY %s:"
                  " %d publishes/s" % ("on" if r["nodelay"] else "off", r["events_per_s"]))


if __name__ == "__main__":
    main()
