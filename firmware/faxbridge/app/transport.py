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
    return os.urandom(2)[0] / 256 + os.urandom(1)[0] / 65536


def pem_to_der(data):
    """The first certificate of a PEM text as DER bytes (DER input is returned unchanged)."""
    if isinstance(data, str):
        data = data.encode()
    i = data.find(b"-----BEGIN CERTIFICATE-----")
    if i < 0:
        return bytes(data)
    j = data.find(b"-----END CERTIFICATE-----", i)
    if j < 0:
        raise ValueError("PEM certificate without its END line")
    import binascii
    body = data[i + 27:j].replace(b"\r", b"").replace(b"\n", b"").replace(b" ", b"")
    return binascii.a2b_base64(body)


def make_tls(cafile=None, cadata=None, certfile=None, keyfile=None, verify=True):
    """A client TLS context on either runtime. verify=True requires the server's certificate to
    chain to cafile/cadata and to match the host name (MicroPython's default is NOT to verify).
    certfile/keyfile: the client's own certificate and key (brokers that require one)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile or cadata:
            if MICROPYTHON:
                # MicroPython's mbedTLS binding takes one DER certificate
                if cafile:
                    with open(cafile, "rb") as f:
                        cadata = f.read()
                ctx.load_verify_locations(cadata=pem_to_der(cadata))
            else:
                ctx.load_verify_locations(cafile=cafile, cadata=cadata)
        elif not MICROPYTHON:
            ctx.load_default_certs()
    else:
        if not MICROPYTHON:
            ctx.check_hostname = False
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
else:
    class Conn:
        """CPython's reader/writer behind readinto/write/drain/close."""

        def __init__(self, r, w):
            self.r = r
            self.w = w

        async def readinto(self, buf):
            data = await self.r.read(len(buf))
            n = len(data)
            buf[:n] = data
            return n

        def write(self, data):
            self.w.write(data)

        async def drain(self):
            await self.w.drain()

        async def close(self):
            try:
                self.w.close()
                await asyncio.wait_for(self.w.wait_closed(), 1)
            except Exception:
                pass

    async def sleep_ms(ms):
        await asyncio.sleep(ms / 1000)


async def connect(addr, tls, server_name, timeout_s, nodelay=True):
    """Non-blocking TCP (+TLS) connect with TCP_NODELAY -> Conn."""
    s = socket.socket(addr[0], socket.SOCK_STREAM, addr[2])
    nd = 1 if nodelay else 0
    try:
        s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, nd)
    except OSError:
        pass  # a stack without the option: still works, small publishes are slower
    s.setblocking(False)
    if MICROPYTHON:
        from errno import EINPROGRESS
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
    try:
        await asyncio.wait_for(asyncio.get_event_loop().sock_connect(s, addr[-1]), timeout_s)
        if tls is not None:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                sock=s, ssl=tls, server_hostname=server_name), timeout_s)
        else:
            r, w = await asyncio.open_connection(sock=s)
        # CPython's asyncio turns TCP_NODELAY on for every TCP transport; keep the choice
        s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, nd)
        return Conn(r, w)
    except BaseException:
        s.close()
        raise
