"""MQTT figures: QoS 1 events/s through a real Mosquitto on loopback (outbox in RAM and on
file, TCP_NODELAY on/off, echo check on/off), on CPython and on the MicroPython unix port,
plus heap per event and the link's static footprint on MicroPython. Prints; asserts nothing.

Usage: .venv/bin/python tools/bench/mqtt.py [--events N]
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


def run(runtime, port, n, store, nodelay, verify, window):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    a = ap.parse_args()
    if not os.path.exists("/usr/sbin/mosquitto"):
        sys.exit("mosquitto is needed (make sysdeps)")
    d = tempfile.mkdtemp(prefix="mqttbench")
    p, port = broker(d)
    try:
        print("QoS 1 events through Mosquitto (set_tcp_nodelay true) on 127.0.0.1, up to %d events per run"
              % a.events)
        print("%-12s %-6s %-8s %-7s %-7s %10s %14s %12s" % ("runtime", "store", "nodelay", "verify", "window",
                                                          "events/s", "heap B/event", "link heap B"))
        for runtime in ("cpython", "micropython"):
            for store, nodelay, verify, window in (
                    ("ram", True, False, 8), ("file", True, False, 8), ("file", True, True, 8),
                    ("file", False, False, 8), ("file", True, False, 1), ("file", False, False, 1)):
                n = a.events if nodelay else max(100, a.events // 10)
                sdir = "-" if store == "ram" else tempfile.mkdtemp(dir=d)
                r = run(runtime, port, n, sdir, nodelay, verify, window)
                if "error" in r:
                    print("%-12s %-6s %-8s %-7s  failed: %s" % (runtime, store, nodelay, verify, r["error"]))
                    continue
                print("%-12s %-6s %-8s %-7s %-7s %10s %14s %12s" % (
                    runtime, store, "on" if nodelay else "off", "on" if verify else "off", window,
                    r.get("events_per_s"), r.get("heap_bytes_per_event", "-"), r.get("link_static_bytes", "-")))
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
