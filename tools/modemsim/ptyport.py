"""The modem's serial port: the master side of a pseudo-terminal.

The simulator keeps the slave descriptor open too: without it, the master reads EIO
as soon as the DTE closes the device, and the next open would find a dead pty.
"""
import errno
import os
import selectors
import tty


class PtyPort:
    def __init__(self, loop, on_data, link=None):
        self.loop = loop
        self.on_data = on_data
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.link = None
        if link:
            try:
                if os.path.islink(link) or os.path.exists(link):
                    os.unlink(link)
            except OSError:
                pass
            os.symlink(self.path, link)
            self.link = link
        self.out = bytearray()
        self._mask = selectors.EVENT_READ
        loop.sel.register(self.master, self._mask, self._ready)
        self.closed = False

    def write(self, data):
        if self.closed or not data:
            return
        self.out += data
        self._flush()

    def pending(self):
        return len(self.out)

    def _flush(self):
        while self.out:
            try:
                n = os.write(self.master, self.out[:4096])
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EIO):
                    break
                raise
            if n <= 0:
                break
            del self.out[:n]
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0)
        if want != self._mask:
            self._mask = want
            self.loop.sel.modify(self.master, want, self._ready)

    def _ready(self, mask):
        if mask & selectors.EVENT_WRITE:
            self._flush()
        if mask & selectors.EVENT_READ:
            try:
                data = os.read(self.master, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno == errno.EIO:  # no DTE (cannot happen while we hold the slave)
                    return
                raise
            if data:
                self.on_data(data)

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.sel.unregister(self.master)
        except (KeyError, ValueError):
            pass
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link:
            try:
                if os.path.islink(self.link):
                    os.unlink(self.link)
            except OSError:
                pass
