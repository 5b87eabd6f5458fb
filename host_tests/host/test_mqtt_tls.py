"""TLS: Mosquitto with a certificate made here with openssl; the client on the MicroPython unix
port verifies the server and publishes; a wrong CA or a wrong host name is refused."""
import os
import shutil
import subprocess

from mqtt_broker import Broker, Consumer, LinkThread, run_publisher, wait_for


def _openssl(*args, cwd):
    exe = shutil.which("openssl")
    assert exe, "openssl not found: install it (make sysdeps) - this test does not skip"
    r = subprocess.run([exe] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def _ca(d, name):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + name,
             "-keyout", name + ".key", "-out", name + ".pem", cwd=d)


def make_certs(d):
    os.makedirs(d, exist_ok=True)
    _ca(d, "ca")
    _ca(d, "otherca")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
             "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=d)
    return {k: os.path.join(d, v) for k, v in
            (("ca", "ca.pem"), ("other", "otherca.pem"), ("cert", "server.pem"), ("key", "server.key"))}


def _run(port, outbox, ca, hostname, count, timeout):
    p = run_publisher(["--port", str(port), "--count", str(count), "--outbox", outbox, "--ca", ca,
                       "--hostname", hostname])
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate(timeout=5)
    return p.returncode, out.decode(errors="replace")


def test_micropython_client_verifies_server_and_publishes(tmp_path):
    certs = make_certs(str(tmp_path / "pki"))
    b = Broker(str(tmp_path / "broker"), tls=certs).start()
    c = Consumer(b.port, tls=certs["ca"])
    try:
        rc, out = _run(b.port, str(tmp_path / "ob1"), certs["ca"], "localhost", 20, 60)
        assert rc == 0 and "DONE 20 0" in out, out
        wait_for(lambda: len(c.events("fax/status")) >= 20, what="20 events over TLS")
        assert [p["seq"] for _t, p in c.events("fax/status")][:20] == list(range(1, 21))
        # a server certificate from another CA is refused: nothing is published, the error says why
        rc, out = _run(b.port, str(tmp_path / "ob2"), certs["other"], "localhost", 3, 4)
        assert "DONE" not in out and "E " in out, out
        assert "link failed" in out and "CERT" in out.upper(), out
        # the right CA but the wrong host name is refused too
        rc, out = _run(b.port, str(tmp_path / "ob3"), certs["ca"], "wrong.example", 3, 4)
        assert "DONE" not in out and "link failed" in out and "CERT" in out.upper(), out
        assert len(c.events("fax/status")) == 20
        # the same adapter on CPython (ssl module): verified, and refused with the other CA
        from faxbridge.app.transport import make_tls
        from faxbridge.core.mqtt import contract
        lt = LinkThread("u2", "127.0.0.1", b.port, tls=make_tls(cafile=certs["ca"]), server_name="localhost")
        try:
            wait_for(lambda: lt.link.state() == "up", what="CPython link over TLS")
            lt.event(contract.FAX_STATUS, contract.fax_status("C1", 0, "success", True))
            wait_for(lambda: any(t.startswith("faxbridge/u2/") for t, _p in c.events("fax/status")), what="u2 event")
        finally:
            lt.stop()
        bad = LinkThread("u3", "127.0.0.1", b.port, tls=make_tls(cafile=certs["other"]), server_name="localhost")
        try:
            wait_for(lambda: any("CERTIFICATE_VERIFY_FAILED" in e for e in bad.errors), what="CPython refusal")
            assert bad.link.state() != "up"
        finally:
            bad.stop()
    finally:
        c.close()
        b.stop()
