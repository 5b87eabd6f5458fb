"""Test helpers: a real Mosquitto on a free 127.0.0.1 port, a paho-mqtt consumer, the
MicroPython publisher program. Fails loudly (never skips) when a tool is missing."""
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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


DYNSEC = (sorted(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so")) or
          ["/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"])[0]


def dynsec_config(users, roles):
    """A dynamic-security plugin config: users = {name: (password, role)}, roles = {role: [
    (acltype, topic, allow)]}; everything not allowed is denied (subscribe included, so a
    refused subscription is answered with SUBACK 0x80)."""
    import base64
    import hashlib
    if not os.path.isfile(DYNSEC):
        raise AssertionError("mosquitto's dynamic security plugin not found at %s (Debian package"
                             " mosquitto ships it) - this test does not skip" % DYNSEC)
    clients = []
    for name, (pw, role) in users.items():
        salt = os.urandom(12)
        h = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, 101, 64)
        clients.append({"username": name, "textname": name, "roles": [{"rolename": role}],
                        "password": base64.b64encode(h).decode(), "salt": base64.b64encode(salt).decode(),
                        "iterations": 101})
    rl = [{"rolename": r, "acls": [{"acltype": a, "topic": t, "allow": al, "priority": 0} for a, t, al in acls]}
          for r, acls in roles.items()]
    return {"defaultACLAccess": {"publishClientSend": False, "publishClientReceive": True,
                                 "subscribe": False, "unsubscribe": True},
            "clients": clients, "groups": [], "roles": rl}


class Broker:
    """mosquitto -c <generated config>; start(), stop() (SIGTERM, persistence saved), restart()."""

    def __init__(self, folder, port=None, users=None, acl=None, tls=None, persistence=True, dynsec=None):
        need(MOSQUITTO, "mosquitto")
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        self.port = port or free_port()
        self.proc = None
        # run as ourselves: as root mosquitto would switch to user `mosquitto`, which cannot
        # write the test's private folder (no log, no persistence, silent loss on restart)
        lines = ["user %s" % pwd.getpwuid(os.getuid()).pw_name,
                 "per_listener_settings false", "listener %d 127.0.0.1" % self.port,
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
        if dynsec:
            users, roles = dynsec
            dp = os.path.join(folder, "dynsec.json")
            with open(dp, "w") as f:
                json.dump(dynsec_config(users, roles), f)
            lines = [x for x in lines if x != "allow_anonymous true"]
            lines += ["allow_anonymous false", "plugin " + DYNSEC, "plugin_opt_config_file " + dp]
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


class LinkThread:
    """A CPython faxbridge.app.link.Link running in its own asyncio loop in a thread."""

    def __init__(self, *args, **kw):
        import asyncio
        from faxbridge.app.link import Link
        self.asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self.commands = []
        self.errors = []
        if len(args) < 4 and "store" not in kw:   # the link needs a store: a fresh folder
            from faxbridge.app.outbox_store import FileStore
            args = tuple(args[:3]) + (FileStore(tempfile.mkdtemp(prefix="lt-ob")),)
        kw.setdefault("backoff_min_ms", 100)
        kw.setdefault("backoff_max_ms", 1000)
        kw.setdefault("on_error", self.errors.append)
        self.ready = threading.Event()
        self.link = None
        self._args = (args, kw, Link)
        self.t = threading.Thread(target=self._main, daemon=True)
        self.t.start()
        if not self.ready.wait(10):
            raise AssertionError("link thread did not start")

    def _main(self):
        asyncio = self.asyncio
        asyncio.set_event_loop(self.loop)
        args, kw, Link = self._args

        async def go():
            self.link = Link(*args, **kw)
            self.link.on_command = self.commands.append
            self.task = asyncio.ensure_future(self.link.run())
            self.ready.set()
            await self.task
        self.loop.run_until_complete(go())

    def call(self, fn, *a, timeout=10):
        async def f():
            return fn(*a)
        return self.asyncio.run_coroutine_threadsafe(f(), self.loop).result(timeout)

    def event(self, suffix, pairs):
        return self.call(self.link.event, suffix, pairs)

    def stop(self, timeout=10):
        if self.t.is_alive():
            self.asyncio.run_coroutine_threadsafe(self.link.stop(), self.loop).result(timeout)
            self.t.join(timeout)
        assert not self.t.is_alive(), "link did not stop"


def check_in_order(seqs, last):
    """At-least-once, in order: every seq 1..last arrives, each first arrival is the next one,
    anything else is a repeat of an earlier seq. Returns the number of duplicates."""
    expect = 1
    dups = 0
    for s in seqs:
        if s == expect:
            expect += 1
        elif s < expect:
            dups += 1
        else:
            i = seqs.index(s)
            raise AssertionError("seq %d arrived while %d was expected (gap or reorder): ...%r... %s"
                                 % (s, expect, seqs[max(0, i - 20):i + 20],
                                    "arrives later" if expect in seqs[i:] else "never arrives"))
    assert expect == last + 1, "only seq 1..%d arrived, expected 1..%d" % (expect - 1, last)
    return dups
