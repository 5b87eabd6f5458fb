"""faxctl's broker session (paho-mqtt): connect, subscribe, publish and wait for answers, with the
password from a file or the environment, never argv; die() for faxctl's usage and connection
errors (exit status 2)."""
import json
import os
import queue
import sys
import time
import uuid

import paho.mqtt.client as paho


class Ctl:
    def __init__(self, a, client_id=None):
        """client_id: a persistent session (the broker queues QoS 1 messages for it while
        faxctl is not running); None: a fresh clean session."""
        self.a = a
        self.q = queue.Queue()
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=client_id or "faxctl-" + uuid.uuid4().hex[:8],
                             clean_session=client_id is None, protocol=paho.MQTTv311)
        if a.user:
            self.c.username_pw_set(a.user, password(a))
        if a.cafile or a.tls:
            self.c.tls_set(ca_certs=a.cafile)
        self.connected = None
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.q.put((m.topic, bytes(m.payload), m.retain))

    def _on_connect(self, c, u, flags, rc, props=None):
        self.connected = rc

    def start(self, topics):
        self.topics = topics
        try:
            self.c.connect(self.a.host, self.a.port, 30)
        except OSError as e:
            die("cannot connect to %s:%d: %s" % (self.a.host, self.a.port, e))
        self.c.loop_start()
        end = time.monotonic() + 10
        while self.connected is None and time.monotonic() < end:
            time.sleep(0.02)
        if self.connected is None:
            die("no answer from the broker at %s:%d" % (self.a.host, self.a.port))
        if self.connected != 0:
            die("broker refused the connection: %s" % self.connected)
        for t in topics:
            self.c.subscribe(t, 1)
        time.sleep(0.1)

    def root(self):
        return "%s/%s" % (self.a.prefix, self.a.unit)

    def publish(self, suffix, payload):
        info = self.c.publish(self.root() + "/" + suffix, payload, 1)
        info.wait_for_publish(10)
        if not info.is_published():
            die("the broker did not acknowledge the publish to %s" % suffix)

    def messages(self, timeout, idle=False):
        """Yield (topic, payload, retained) until timeout; with idle, None every half second
        without traffic (so a caller can refresh its view)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                yield self.q.get(timeout=min(left, 0.5))
            except queue.Empty:
                if idle:
                    yield None

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def die(msg, code=2):
    sys.stderr.write("faxctl: %s\n" % msg)
    sys.exit(code)


def password(a):
    """The broker password: --password-file, else $FAXCTL_PASSWORD, else None. Never argv:
    a command line is visible to every user of the machine (ps)."""
    if a.password_file:
        try:
            with open(a.password_file) as f:
                return f.readline().rstrip("\r\n")
        except OSError as e:
            die("cannot read the password file %s: %s" % (a.password_file, e.strerror))
    return os.environ.get("FAXCTL_PASSWORD")


def loads_dict(p):
    """A message payload as a JSON object, or None (not JSON, or not an object)."""
    try:
        d = json.loads(p)
        return d if isinstance(d, dict) else None
    except ValueError:
        return None
