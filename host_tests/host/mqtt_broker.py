"""Test helpers: a real Mosquitto on a free 127.0.0.1 port, a paho-mqtt consumer, the
MicroPython publisher program. Fails loudly (never skips) when a tool is missing."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import paho.mqtt.client as paho

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MOSQUITTO = "/usr/sbin/mosquitto"
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


def need(path, what):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("%s not found at %s: install it (make sysdeps) - this test does not skip"
                             % (what, path))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))


class Broker:
    """mosquitto -c <generated config>; start(), stop() (SIGTERM, persistence saved), restart()."""

    def __init__(self, folder, port=None, users=None, acl=None, tls=None, persistence=True):
        need(MOSQUITTO, "mosquitto")
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        self.port = port or free_port()
        self.proc = None
        lines = ["per_listener_settings false", "listener %d 127.0.0.1" % self.port,
                 "log_dest file %s/mosquitto.log" % folder, "log_type all",
                 "max_queued_messages 100000", "max_inflight_messages 20"]
        if persistence:
            lines += ["persistence true", "persistence_location %s/" % folder]
        if users:
            pw = os.path.join(folder, "passwd")
            with open(pw, "w") as f:
                for u in users:
                    f.write("%s:x\n" % u)
            for u, p in users.items():
                subprocess.run(["mosquitto_passwd", "-b", pw, u, p], check=True, capture_output=True)
            lines += ["allow_anonymous false", "password_file %s" % pw]
        else:
            lines += ["allow_anonymous true"]
        if acl:
            ap = os.path.join(folder, "acl")
            with open(ap, "w") as f:
                f.write(acl)
            lines += ["acl_file %s" % ap]
        if tls:
            lines += ["cafile %s" % tls["ca"], "certfile %s" % tls["cert"], "keyfile %s" % tls["key"]]
        self.conf = os.path.join(folder, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto exited: %s\n%s" % (self.proc.stdout.read().decode(), self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.03)
        raise AssertionError("mosquitto did not listen on %d" % self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        try:
            with open(os.path.join(self.dir, "mosquitto.log")) as f:
                return f.read()
        except OSError:
            return ""


class Consumer:
    """paho-mqtt subscriber (the independent consumer): persistent session, QoS 1, keeps every
    message as (topic, payload bytes, retain)."""

    def __init__(self, port, topics=("faxbridge/#",), client_id="consumer", username=None,
                 password=None, tls=None):
        self.msgs = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=False, protocol=paho.MQTTv311)
        if username:
            self.c.username_pw_set(username, password)
        if tls:
            self.c.tls_set(ca_certs=tls)
        self.c.reconnect_delay_set(0.05, 0.5)
        self.topics = topics

        def on_connect(c, u, flags, rc, props=None):
            for t in self.topics:
                c.subscribe(t, 1)
            self.connected.set()

        def on_message(c, u, m):
            with self.lock:
                self.msgs.append((m.topic, bytes(m.payload), m.retain))

        self.c.on_connect = on_connect
        self.c.on_message = on_message
        self.c.connect("127.0.0.1", port, 30)
        self.c.loop_start()
        if not self.connected.wait(10):
            raise AssertionError("paho consumer could not connect")

    def events(self, suffix=None):
        with self.lock:
            out = []
            for t, p, _r in self.msgs:
                if suffix and not t.endswith("/" + suffix):
                    continue
                if p[:1] == b"{":
                    out.append((t, json.loads(p)))
            return out

    def publish(self, topic, payload, qos=1):
        info = self.c.publish(topic, payload, qos)
        info.wait_for_publish(10)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def micropython_env():
    need(MICROPYTHON, "the MicroPython unix port")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.path.join(ROOT, "firmware") + ":" + os.path.join(HERE) + ":.frozen"
    return env


def run_publisher(args, runtime="micropython", **kw):
    """Start host_tests/host/mqtt_publisher.py (the unit's stand-in) on a runtime."""
    prog = os.path.join(HERE, "mqtt_publisher.py")
    if runtime == "micropython":
        cmd = [MICROPYTHON, "-X", "heapsize=4M", prog] + args
        env = micropython_env()
    else:
        cmd = [sys.executable, prog] + args
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "firmware") + ":" + os.path.join(ROOT, "tools", "shim")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def rmtree(p):
    shutil.rmtree(p, ignore_errors=True)
