"""app/transport.py on the MicroPython unix port: what the link writes arrives, and close()
closes the socket (the peer sees the end of the stream). MicroPython's asyncio Stream.close()
does nothing, only wait_closed() closes: a Conn that only called close() kept every dropped
connection's socket (and on the board its TLS session's mbedTLS buffers) until a collection."""
import socket
import subprocess
import threading

from mqtt_broker import MICROPYTHON, micropython_env

PROG = r"""
import asyncio, gc, sys
from faxbridge.app import transport
async def main(port, rounds):
    addr = transport.resolve("127.0.0.1", port)
    for i in range(rounds):
        c = await transport.connect(addr, None, None, 5)
        c.write(b"round %d\n" % i)
        await c.drain()
        buf = bytearray(16)
        n = await asyncio.wait_for(c.readinto(buf), 5)
        print("read", bytes(buf[:n]))
        await c.close()
    print("done")
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def test_close_ends_the_connection_each_round(tmp_path):
    rounds = 3
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(rounds)
    srv.settimeout(10)
    seen = []

    def serve():
        for _ in range(rounds):
            c, _a = srv.accept()
            c.settimeout(5)
            got = b""
            while not got.endswith(b"\n"):
                got += c.recv(64)
            c.sendall(b"ok")
            try:
                rest = c.recv(64)       # the client's close: b"" (EOF); a timeout if it stays open
            except socket.timeout:
                rest = None
            seen.append((got, rest))
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    prog = tmp_path / "close.py"
    prog.write_text(PROG)
    r = subprocess.run([MICROPYTHON, "-X", "heapsize=1M", str(prog), str(srv.getsockname()[1]), str(rounds)],
                       env=micropython_env(), capture_output=True, text=True, timeout=60)
    t.join(30)
    srv.close()
    assert r.returncode == 0 and "done" in r.stdout, r.stdout + r.stderr
    assert r.stdout.count("read b'ok'") == rounds, r.stdout
    assert seen == [(b"round %d\n" % i, b"") for i in range(rounds)], seen
