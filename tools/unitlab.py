"""Host-side harness for the whole unit: a broker, the simulated line and the firmware.

Used by tools/run.py (`make run`) and the end-to-end tests (host_tests/host/test_unit_*.py).
Everything listens on 127.0.0.1 on free ports and is stopped by stop().
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
MICROPYTHON = os.path.join(VENV_BIN, "micropython")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Broker:
    """Mosquitto on a free loopback port with a generated configuration."""

    def __init__(self, workdir, port=None):
        self.workdir = workdir
        self.port = port or free_port()
        self.proc = None

    def start(self):
        if not os.path.exists(MOSQUITTO):
            raise RuntimeError("mosquitto not found: install the Debian package `mosquitto` (make sysdeps)")
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_dest file %s\n" % (self.port, os.path.join(self.workdir, "mosquitto.log")))
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("mosquitto did not start on port %d" % self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Firmware:
    """The firmware on the MicroPython unix port, flash in <workdir>/flash."""

    def __init__(self, workdir, config, heap=None, mpy_dir=None):
        self.workdir = workdir
        self.flash = os.path.join(workdir, "flash")
        self.config = config
        self.heap = heap
        self.mpy_dir = mpy_dir
        self.proc = None
        self.log_path = os.path.join(workdir, "firmware.log")
        self.starts = 0

    def write_config(self):
        os.makedirs(self.flash, exist_ok=True)
        with open(os.path.join(self.flash, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)

    def start(self):
        self.write_config()
        cmd = [MICROPYTHON]
        if self.heap:
            cmd += ["-X", "heapsize=%s" % self.heap]
        code = self.mpy_dir or os.path.join(ROOT, "firmware")
        cmd += [os.path.join(ROOT, "firmware", "main.py"), "--flash", self.flash]
        env = dict(os.environ, MICROPYPATH=code + ":.frozen")
        self.starts += 1
        log = open(self.log_path, "a")
        log.write("---- start %d: %s\n" % (self.starts, " ".join(cmd)))
        log.flush()
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        log.close()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: what a power cut looks like to the flash."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=5):
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""


class Watcher:
    """A paho-mqtt client that records everything the unit publishes and sends commands."""

    def __init__(self, port, root="faxbridge/#", on_message=None):
        import paho.mqtt.client as mqtt
        self.msgs = []
        self.cond = threading.Condition()
        self.on_message = on_message
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="unitlab-%d" % os.getpid())
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(root, qos=1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        end = time.monotonic() + 10
        while not self.client.is_connected() and time.monotonic() < end:
            time.sleep(0.02)

    def _on_message(self, client, userdata, msg):
        try:
            body = json.loads(msg.payload.decode())
        except (ValueError, UnicodeDecodeError):
            body = msg.payload
        with self.cond:
            self.msgs.append((msg.topic, body))
            self.cond.notify_all()
        if self.on_message:
            self.on_message(msg.topic, body)

    def publish(self, topic, payload, qos=1):
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(10)

    def events(self, suffix):
        with self.cond:
            return [b for t, b in self.msgs if t.endswith("/" + suffix)]

    def wait(self, pred, timeout):
        """Wait until pred(msgs) is true; returns its value or None on timeout."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred(self.msgs)
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def python():
    return sys.executable
