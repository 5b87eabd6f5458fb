"""The MQTT link's transport: one TCP (+TLS) connection behind one small adapter, both runtimes.

    conn = await connect(addr, tls, server_name, timeout_s, nodelay=True)
    n = await conn.readinto(buf)     # 0: closed by the peer; None: nothing yet (a TLS record)
    conn.write(data); await conn.drain(); await conn.close()

Sockets are non-blocking; every wait has a timeout at the caller. TCP_NODELAY is set on the raw
socket (docs/mqtt.md "Figures"). make_tls builds the client context (docs/mqtt.md "TLS").
"""
import sys

import asyncio
import socket

from micropython import const

MICROPYTHON = sys.implementation.name == "micropython"
# Linux and lwIP both number them 6 and 1 (the unix port's socket module exports neither)
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)


def urandom_float():
    """A float in [0, 1) from os.urandom: the reconnect backoff's jitter (session rand)."""
    import os
    b = os.urandom(2)
    return ((b[0] << 8) | b[1]) / 65536


def make_tls(cafile=None, cadata=None, certfile=None, keyfile=None, verify=True):
    """A client TLS context on either runtime. verify=True requires the server's certificate to
    chain to cafile/cadata and to match the host name (MicroPython's default is NOT to verify).
    certfile/keyfile: the client's own certificate and key (brokers that require one)."""
    if not MICROPYTHON:
        return _cpy.make_tls(cafile, cadata, certfile, keyfile, verify)
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile or cadata:
            # MicroPython's mbedTLS binding takes one DER certificate
            if cafile:
                with open(cafile, "rb") as f:
                    cadata = f.read()
            if isinstance(cadata, str):
                cadata = cadata.encode()
            # the first certificate of a PEM text as DER bytes (DER is taken as it is)
            i = cadata.find(b"-----BEGIN CERTIFICATE-----")
            if i >= 0:
                j = cadata.find(b"-----END CERTIFICATE-----", i)
                if j < 0:
                    raise ValueError("PEM certificate without its END line")
                import binascii
                cadata = binascii.a2b_base64(cadata[i + 27:j].replace(b"\r", b"").replace(
                    b"\n", b"").replace(b" ", b""))
            ctx.load_verify_locations(cadata=bytes(cadata))
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def resolve(host, port):
    """getaddrinfo (the one blocking call: give an IP address on the board)."""
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    if not ai:
        raise OSError("cannot resolve %s" % host)
    return ai[0]


if MICROPYTHON:
    import asyncio.stream as _stream

    class Conn(_stream.Stream):
        """MicroPython's asyncio Stream on the socket: readinto, write and drain are its own
        (no frame of ours per read). Its close() does nothing (only wait_closed() closes the
        socket): ours closes the socket, which frees the TLS session's mbedTLS buffers too."""

        async def close(self):
            try:
                self.s.close()
            except OSError:
                pass

    sleep_ms = asyncio.sleep_ms

    async def connect(addr, tls, server_name, timeout_s, nodelay=True):
        """Non-blocking TCP (+TLS) connect with TCP_NODELAY -> Conn (the caller times it
        out: asyncio.wait_for)."""
        from errno import EINPROGRESS
        s = _socket(addr, nodelay)
        try:
            s.connect(addr[-1])
        except OSError as e:
            if e.errno != EINPROGRESS:
                s.close()
                raise
        if tls is not None:
            s = tls.wrap_socket(s, server_hostname=server_name, do_handshake_on_connect=False)
            s.setblocking(False)
        return Conn(s)
else:
    # CPython (host tests, tools): the same calls over its asyncio streams, in
    # tools/shim/cpython_transport.py (never on a board: imported by name at run time, so the
    # firmware's import graph, tools/build.py, leaves it out)
    _cpy = __import__("cpython_transport")
    sleep_ms = _cpy.sleep_ms

    async def connect(addr, tls, server_name, timeout_s, nodelay=True):
        return await _cpy.connect(_socket(addr, nodelay), addr, tls, server_name, timeout_s, nodelay)


def _socket(addr, nodelay):
    """A non-blocking TCP socket with TCP_NODELAY set (or cleared)."""
    s = socket.socket(addr[0], socket.SOCK_STREAM, addr[2])
    try:
        s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1 if nodelay else 0)
    except OSError:
        pass  # a stack without the option: still works, small publishes are slower
    s.setblocking(False)
    return s
