"""The unit side of tools/bench/mqtt.py (runs on MicroPython and CPython): publishes events
through a Link as fast as the outbox takes them and prints `key value` figures."""
import gc
import sys

import asyncio

from faxbridge.app.link import Link
from faxbridge.app.outbox_store import FileStore
from faxbridge.core.mqtt import contract, outbox

MP = sys.implementation.name == "micropython"


def ms():
    if MP:
        import time
        return time.ticks_ms()
    import time
    return int(time.monotonic() * 1000)


def cpu_us():
    """User + system CPU time of this process so far, in us (Linux /proc, 100 ticks a second:
    resolution 10 ms), so the event path's cost reads apart from the disk's and the broker's."""
    with open("/proc/self/stat") as f:
        s = f.read()
    v = s[s.rfind(")") + 2:].split()
    return (int(v[11]) + int(v[12])) * 10000


async def flow(link, n):
    t0 = ms()
    i = 0
    while i < n:
        try:
            link.event(contract.FAX_STATUS, contract.fax_status("J%d" % i, -3, "in progress", False, 1, i))
            i += 1
        except outbox.OutboxFull:
            await asyncio.sleep(0.001)
            continue
        if i % 4 == 0:
            await asyncio.sleep(0)
    for _ in range(60000):
        if link.outbox.depth() == 0:
            break
        await asyncio.sleep(0.001)
    return ms() - t0


async def main(port, n, store_dir, nodelay, verify, window):
    gc.collect()
    a0 = gc.mem_alloc() if MP else 0
    store = FileStore(store_dir)
    link = Link("bench", "127.0.0.1", port, store, nodelay=nodelay, verify=verify, capacity=1 << 20,
                max_records=100000, keepalive=30, max_inflight=window)
    gc.collect()
    if MP:
        print("link_static_bytes", gc.mem_alloc() - a0)
    task = asyncio.create_task(link.run())
    for _ in range(5000):
        if link.state() == "up":
            break
        await asyncio.sleep(0.002)
    await flow(link, 50)  # warm up
    c0 = cpu_us()
    dt = await flow(link, n)
    c1 = cpu_us()
    print("events", n)
    print("cpu_us_per_event", (c1 - c0) // n)
    print("ms", dt)
    print("events_per_s", int(n * 1000 / max(dt, 1)))
    if MP:
        gc.collect()
        gc.disable()
        a1 = gc.mem_alloc()
        k = 100
        await flow(link, k)
        print("heap_bytes_per_event", (gc.mem_alloc() - a1) // k)
        gc.enable()
        gc.collect()
        print("heap_free_after", gc.mem_free())
    await link.stop()
    await asyncio.wait_for(task, 5)


a = sys.argv
asyncio.run(main(int(a[1]), int(a[2]), a[3], a[4] == "1", a[5] == "1", int(a[6])))
