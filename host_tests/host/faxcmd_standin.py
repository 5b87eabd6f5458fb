"""TEST-ONLY stand-ins for core/mqtt/faxcmd.Parser and app/spool.Spool (helper `faxcmd` writes
the real ones; interfaces agreed in the project's brief A). Used only until they are merged;
install() does nothing when the real modules exist. Whole-payload and in RAM: tests only."""
import binascii
import json
import os
import sys

from faxbridge.core.mqtt import commands


class Parser:
    def __init__(self, sink, **kw):
        self.sink = sink
        self.data = bytearray()
        self.digest = 0

    def feed(self, chunk):
        self.data += bytes(chunk)
        self.digest = binascii.crc32(chunk, self.digest)

    def end(self):
        try:
            doc = json.loads(bytes(self.data).decode())
        except (ValueError, UnicodeError):
            raise commands.CommandError(commands.BAD_JSON, "not valid UTF-8 JSON")
        if not isinstance(doc, dict):
            raise commands.CommandError(commands.BAD_JSON, "payload must be a JSON object")
        job = commands.check_job(doc.get("job"))
        number = commands.check_number(doc.get("number"), job)
        kinds = []
        for i, p in enumerate(doc.get("pages") or []):
            (kind, v), = p.items()
            self.sink.begin_page(i, kind)
            self.sink.write(memoryview(v.encode() if kind == "text" else binascii.a2b_base64(v)))
            self.sink.end_page()
            kinds.append(kind)
        return job, number, kinds


class Spool:
    def __init__(self, folder):
        self.folder = folder
        try:
            os.mkdir(folder)
        except OSError:
            pass
        self._pages = []
        self.f = None

    def begin_page(self, i, kind):
        self.cur = (kind, "%s/p%d.%s" % (self.folder, i, kind))
        self.f = open(self.cur[1], "wb")

    def write(self, mv):
        self.f.write(mv)

    def end_page(self):
        self.f.close()
        self._pages.append(self.cur)

    def abort(self):
        if self.f:
            self.f.close()

    def pages(self):
        return list(self._pages)

    def clear(self):
        for _k, p in self._pages:
            try:
                os.remove(p)
            except OSError:
                pass
        self._pages = []


def install():
    """Make `from faxbridge.core.mqtt import faxcmd` find the stand-in (both runtimes); returns
    the Spool class to use (the real one when it exists)."""
    try:
        from faxbridge.app.spool import Spool as Real
        from faxbridge.core.mqtt import faxcmd  # noqa: F401
        return Real
    except ImportError:
        import faxbridge.core.mqtt as pkg
        mod = sys.modules[__name__]
        sys.modules["faxbridge.core.mqtt.faxcmd"] = mod
        pkg.faxcmd = mod
        return Spool
