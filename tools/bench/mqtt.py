"""MQTT figures: QoS 1 events/s through a real Mosquitto on loopback (outbox in RAM and on
file, TCP_NODELAY on/off, echo check on/off), on CPython and on the MicroPython unix port,
plus heap per event and the link's static footprint on MicroPython. Prints; asserts nothing.

Usage: .venv/bin/python tools/bench/mqtt.py [--events N]
run() gives the MicroPython figures as rows for `make bench` (tools/bench.py).
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


def run_one(runtime, port, n, store, nodelay, verify, window):
    prog = os.path.join(HERE, "mqtt_unit.py")
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


CONFIGS = (("ram", True, False, 8), ("file", True, False, 8), ("file", True, True, 8),
           ("file", False, False, 8), ("file", True, False, 1), ("file", False, False, 1))


def measure(events):
    """Every (runtime, store, nodelay, verify, window) of CONFIGS through one Mosquitto:
    a list of (runtime, store, nodelay, verify, window, figures or {"error": ...})."""
    if not os.path.exists("/usr/sbin/mosquitto"):
        raise RuntimeError("mosquitto is needed (make sysdeps)")
    d = tempfile.mkdtemp(prefix="mqttbench")
    p, port = broker(d)
    out = []
    try:
        for runtime in ("cpython", "micropython"):
            for store, nodelay, verify, window in CONFIGS:
                n = events if nodelay else max(100, events // 10)
                sdir = "-" if store == "ram" else tempfile.mkdtemp(dir=d)
                out.append((runtime, store, nodelay, verify, window, run_one(runtime, port, n, sdir, nodelay,
                                                                             verify, window)))
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(d, ignore_errors=True)
    return out


def run(events=2000):
    """Rows for tools/bench.py: the MicroPython figures, CPython's beside them."""
    res = measure(events)
    cpy = dict(((st, nd, vf, w), r) for rt, st, nd, vf, w, r in res if rt == "cpython")
    rows = []
    failed = []
    for rt, st, nd, vf, w, r in res:
        if rt != "micropython":
            continue
        if "error" in r:
            failed.append("%s/%s: %s" % (st, w, r["error"]))
            continue
        c = cpy.get((st, nd, vf, w), {})
        rate = int(r["events_per_s"])
        ratio = (" (%.0f%% of CPython's %s)" % (100.0 * rate / int(c["events_per_s"]), c["events_per_s"])
                 if c.get("events_per_s") else "")
        rows.append({"figure": "QoS 1 events/s, outbox %s, TCP_NODELAY %s, window %d%s" % (
            st, "on" if nd else "off", w, ", echo check" if vf else ""), "value": rate, "unit": "events/s",
            "note": "%s B heap/event%s" % (r.get("heap_bytes_per_event", "?"), ratio)})
    base = [r for rt, st, nd, vf, w, r in res if rt == "micropython" and st == "file" and nd and not vf and w == 8]
    if base and "link_static_bytes" in base[0]:
        rows.insert(0, {"figure": "MQTT link + outbox, static heap (64-bit host bytes)",
                        "value": int(base[0]["link_static_bytes"]), "unit": "B",
                        "note": "Link() with a file outbox, before connecting"})
    if failed:
        raise RuntimeError("; ".join(failed))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    a = ap.parse_args()
    try:
        res = measure(a.events)
    except RuntimeError as e:
        sys.exit(str(e))
    print("QoS 1 events through Mosquitto (set_tcp_nodelay true) on 127.0.0.1, up to %d events per run"
          % a.events)
    print("%-12s %-6s %-8s %-7s %-7s %10s %14s %12s" % ("runtime", "store", "nodelay", "verify", "window",
                                                      "events/s", "heap B/event", "link heap B"))
    for runtime, store, nodelay, verify, window, r in res:
        if "error" in r:
            print("%-12s %-6s %-8s %-7s  failed: %s" % (runtime, store, nodelay, verify, r["error"]))
            continue
        print("%-12s %-6s %-8s %-7s %-7s %10s %14s %12s" % (
            runtime, store, "on" if nodelay else "off", "on" if verify else "off", window,
            r.get("events_per_s"), r.get("heap_bytes_per_event", "-"), r.get("link_static_bytes", "-")))


if __name__ == "__main__":
    main()
