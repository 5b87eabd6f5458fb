"""A small selector loop with timers, run in one background thread.

All simulator state (modems, line, remote machines) is touched only from this thread;
other threads post work with call_soon_threadsafe().
"""
import heapq
import itertools
import os
import selectors
import sys
import threading
import time
import traceback
from collections import deque


class Timer:
    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when, fn, args):
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Loop:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self._timers = []
        self._seq = itertools.count()
        self._posted = deque()
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self.sel.register(self._rfd, selectors.EVENT_READ, None)
        self._stop = False
        self.thread = None
        self.t0 = time.monotonic()
        self.errors = []

    def now(self):
        return time.monotonic()

    def call_later(self, delay, fn, *args):
        t = Timer(time.monotonic() + max(0.0, delay), fn, args)
        heapq.heappush(self._timers, (t.when, next(self._seq), t))
        return t

    def call_soon_threadsafe(self, fn, *args):
        self._posted.append((fn, args))
        try:
            os.write(self._wfd, b"x")
        except (BlockingIOError, OSError):
            pass

    def run_sync(self, fn, *args, timeout=10.0):
        """Run fn(*args) in the loop thread and return its result (or raise its error)."""
        if threading.current_thread() is self.thread or self.thread is None:
            return fn(*args)
        box = {}
        done = threading.Event()

        def job():
            try:
                box["r"] = fn(*args)
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                box["e"] = e
            done.set()
        self.call_soon_threadsafe(job)
        if not done.wait(timeout):
            raise TimeoutError("modemsim loop did not run %r within %.1f s" % (fn, timeout))
        if "e" in box:
            raise box["e"]
        return box.get("r")

    def start(self, name="modemsim"):
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)
        self.thread.start()

    def stop(self, timeout=5.0):
        self._stop = True
        self.call_soon_threadsafe(lambda: None)
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _safe(self, fn, args):
        try:
            fn(*args)
        except Exception:  # keep the loop alive; the error is recorded and printed
            self.errors.append(traceback.format_exc())
            sys.stderr.write("modemsim: error in %r\n%s" % (fn, self.errors[-1]))

    def run(self):
        while not self._stop:
            now = time.monotonic()
            timeout = 0.2
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            if self._timers:
                timeout = min(timeout, max(0.0, self._timers[0][0] - now))
            if self._posted:
                timeout = 0
            for key, mask in self.sel.select(timeout):
                if key.data is None:
                    try:
                        while os.read(self._rfd, 512):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                else:
                    self._safe(key.data, (mask,))
            while self._posted:
                fn, args = self._posted.popleft()
                self._safe(fn, args)
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, t = heapq.heappop(self._timers)
                if not t.cancelled:
                    t.cancelled = True
                    self._safe(t.fn, t.args)
        self.sel.close()
        os.close(self._rfd)
        os.close(self._wfd)
