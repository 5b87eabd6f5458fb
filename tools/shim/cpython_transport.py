"""CPython's side of firmware/faxbridge/app/transport.py (host tests and tools only, never on
a board): its asyncio streams behind the link's readinto/write/drain/close, the connect, and a
TLS context from CPython's ssl module. The MicroPython side is transport.py itself."""
import asyncio
import ssl

_IPPROTO_TCP = 6   # Linux numbers (transport.py)
_TCP_NODELAY = 1


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
        self.w.write(bytes(data))   # a copy: asyncio may keep what it is given, the link reuses it

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


async def connect(s, addr, tls, server_name, timeout_s, nodelay):
    """Connect socket s (non-blocking, made by transport._socket) -> Conn; closed on failure."""
    try:
        await asyncio.wait_for(asyncio.get_event_loop().sock_connect(s, addr[-1]), timeout_s)
        if tls is not None:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                sock=s, ssl=tls, server_hostname=server_name), timeout_s)
        else:
            r, w = await asyncio.open_connection(sock=s)
        # CPython's asyncio turns TCP_NODELAY on for every TCP transport; keep the choice
        s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1 if nodelay else 0)
        return Conn(r, w)
    except BaseException:
        s.close()
        raise


def make_tls(cafile, cadata, certfile, keyfile, verify):
    """transport.make_tls on CPython."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile or cadata:
            ctx.load_verify_locations(cafile=cafile, cadata=cadata)
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx
