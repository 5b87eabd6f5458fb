"""The CAFIS registry: companies, centers (routes, center identifiers, services, state),
destination centers, terminal connection companies and CAFIS's own state.

load(obj) takes the JSON text or the already-parsed dict (no file I/O here) and returns a
Registry, or raises RegistryError with a message naming the problem. Format: docs/cafis.md.
Lookups used per telegram (company by the bytes of a field) compare bytes in place. What is
kept per center is bytes (routes, center identifiers, message types), not dicts or tuples; the
companies and the terminal connection companies are each one Table of fixed-width records
(here, not a module of their own: one module fewer on the board).
"""
from micropython import const

from . import catalogue as _cat
from . import layout as _layout

# center states, private (no module name each: checkkinds.py and outbound.py name them with their
# own constants, outbound.ONLINE .. for the tools; test_cafis_checks compares) (registry "state":
# online, not_open, suspended, fault): 開局 / 未開局 / 休止中（個別終了） / 障害中
_ONLINE = const(0)
_NOT_OPEN = const(1)
_SUSPENDED = const(2)
_FAULT = const(3)

# CAFIS's own state ("cafis": {"state": online, ended, fault or congested}): online / ended
# (オンライン終了, C15) / fault (障害・輻輳, C33)
_CAFIS_ONLINE = const(0)
_CAFIS_ENDED = const(1)
_CAFIS_FAULT = const(2)

_NONE = const(255)           # no destination center
_MAX_ROUTES = const(2048)    # routes held in all (their state is kept in RAM, routes.py)
_MAX_CENTERS = const(512)    # 4 bytes of route state each, in one block of at most 2 KB (routes.py)


RegistryError = _layout.RegistryError


class Table:
    """Fixed-width records sorted by their first `key` bytes, in blocks of at most 2 KB, looked
    up by binary search with the key compared in place (no allocation). Made once at load from
    a list of records (bytes); records keep their order after that (index = position)."""

    def __init__(self, width, key, records):
        self.w = width
        self.key = key
        self.per = per = max(1, 2048 // width)    # blocks of at most 2 KB
        records.sort()
        self.n = n = len(records)
        blocks = []
        for k in range(0, n, per):
            b = bytearray(width * min(per, n - k))
            for i in range(k, min(n, k + per)):
                b[(i - k) * width:(i - k + 1) * width] = records[i]
            blocks.append(b)
        self.blocks = tuple(blocks)     # a tuple: smaller than the list, never grown

    def find(self, buf, off):
        """Index of the record whose key equals the key-wide bytes at buf[off:], or -1."""
        lo = 0
        hi = self.n
        w = self.w
        while lo < hi:
            mid = (lo + hi) >> 1
            b = self.blocks[mid // self.per]
            o = (mid % self.per) * w
            d = 0
            for j in range(self.key):
                d = buf[off + j] - b[o + j]
                if d:
                    break
            if d > 0:
                lo = mid + 1
            elif d < 0:
                hi = mid
            else:
                return mid
        return -1

    def same(self, i, col, ln, buf, off):
        """True when buf[off:off+ln] equals bytes col..col+ln of record i, compared in place."""
        b = self.blocks[i // self.per]
        o = (i % self.per) * self.w + col
        for j in range(ln):
            if buf[off + j] != b[o + j]:
                return False
        return True


class Center:
    """A center of the registry: idx (its index in Registry.centers), id, company (its index in
    Registry.companies), state, nroutes (routes held; engine.spans() lists them), and one bytes record `rec` of what it
    holds, read in place (docs/cafis.md): from rec[6] its route ranges ((lo, hi), 2 bytes each,
    ascending), then its center identifiers (the contracted field images one after the other),
    the message types it may send as originating center and those it serves as destination
    (2 bytes each); rec[0:6] are where the identifiers, the types sent and the types served
    start (2 bytes each; 0xFFFF: no destination role). One object, not four."""

    def __init__(self, idx, cid, company, ranges, n, ids, services, serves, state):
        self.idx = idx
        self.id = cid
        self.company = company
        self.state = state
        a = 6 + len(ranges)
        b = a + len(ids)
        c = 0xFFFF if serves is None else b + len(services)
        self.rec = bytes((a >> 8, a & 0xFF, b >> 8, b & 0xFF, c >> 8, c & 0xFF)) + ranges + ids + services + (
            serves or b"")
        self.nroutes = n

    def route_index(self, route):
        """Slot of route number `route` (int) among the routes held, or -1."""
        r = self.rec
        base = 0
        for i in range(6, r[0] << 8 | r[1], 4):
            lo = r[i] << 8 | r[i + 1]
            hi = r[i + 2] << 8 | r[i + 3]
            if lo <= route <= hi:
                return base + route - lo
            base += hi - lo + 1
        return -1

    def has_id(self, buf, off, ln):
        """True when the ln bytes at buf[off:] are one of its center identifiers, in place."""
        r = self.rec
        for i in range(r[0] << 8 | r[1], r[2] << 8 | r[3], ln):
            j = 0
            while j < ln and buf[off + j] == r[i + j]:
                j += 1
            if j == ln:
                return True
        return False

    def has_type(self, mt, dest=False):
        """True when message type mt (int) is one it may send as originating center, or with
        dest one it serves as destination center (False without a destination role)."""
        r = self.rec
        c = r[4] << 8 | r[5]
        if dest:
            if c == 0xFFFF:
                return False
            lo = c
            hi = len(r)
        else:
            lo = r[2] << 8 | r[3]
            hi = len(r) if c == 0xFFFF else c
        for i in range(lo, hi, 2):
            if (r[i] << 8 | r[i + 1]) == mt:
                return True
        return False


class Registry:
    """companies: a Table of (code field image, sub-code field image as the contract requires
    (契約桁数), destination center index or 255); connections: a Table of (connection company
    code, destination company index: 2 bytes, 0xFFFF for none). Companies and connections are
    named by their index in these tables."""

    def __init__(self):
        self.center_layout = _layout.center()
        self.terminal_layout = _layout.terminal()
        self.catalogue = _cat.Catalogue()
        self.cafis_state = _CAFIS_ONLINE
        self.companies = None
        self.connections = None
        self.co_w = 0           # width of a company code field
        self.sub_w = 0          # width of a sub-code field
        self.centers = []
        self.by_id = {}

    def company(self, code):
        """Index of the company registered as `code` (str), or -1."""
        b = code.encode()
        if len(b) > self.co_w:
            return -1
        return self.companies.find(b + b" " * (self.co_w - len(b)), 0)

    def co_dest(self, co):
        """Index of company co's destination center, or -1."""
        t = self.companies      # the record's last byte, read in place (no method: Table keeps 3)
        d = t.blocks[co // t.per][(co % t.per) * t.w + self.co_w + self.sub_w]
        return -1 if d == _NONE else d

    def conn_dest(self, con):
        """Index of connection con's destination company, or -1."""
        t = self.connections
        b = t.blocks[con // t.per]
        o = (con % t.per) * t.w + t.key
        d = b[o] << 8 | b[o + 1]
        return -1 if d == 0xFFFF else d


def load(d):
    """Registry from JSON text (str/bytes), a stream to read it from (anything with read():
    parsed as it is read, never held whole), or an already-parsed dict; RegistryError if
    malformed."""
    # The helpers of load, made while it runs: the registry is read once, at boot, and six
    # module-level functions would stay in RAM for good (frozen: a function object each and a
    # module table of 23 slots, not 17).
    def _str(v, where, width=None, allow_empty=False):
        if not isinstance(v, str):
            raise RegistryError("%s must be a string" % where)
        if not allow_empty and not v:
            raise RegistryError("%s must not be empty" % where)
        if width is not None:
            b = v.encode()
            if len(b) != len(v):
                raise RegistryError("%s must be single-byte characters" % where)
            if len(b) > width:
                raise RegistryError("%s is longer than its %d-byte field" % (where, width))
        return v


    def _list(d, key, where, required=True):
        v = d.get(key)
        if v is None and not required:
            return []
        if not isinstance(v, list):
            raise RegistryError("%s.%s must be a list" % (where, key))
        return v


    def _keys(d, allowed, where):
        if not isinstance(d, dict):
            raise RegistryError("%s must be an object" % where)
        for k in d:
            if k not in allowed:
                raise RegistryError("%s: unknown key %s" % (where, k))


    def _msg_types(v, where, cat):
        """A list of message types as bytes, 2 bytes each (read with has_type)."""
        if not isinstance(v, list):
            raise RegistryError("%s must be a list of message types" % where)
        out = bytearray(2 * len(v))
        i = 0
        for t in v:
            if not _layout.is_code(t):
                raise RegistryError("%s: %r is not a 4-digit message type" % (where, t))
            n = int(t)
            if not cat.cls(n):
                raise RegistryError("%s: message type %s is not in the catalogue" % (where, t))
            out[i] = n >> 8
            out[i + 1] = n & 0xFF
            i += 2
        return bytes(out)


    def _routes(v, where, width):
        if not isinstance(v, list) or not v:
            raise RegistryError("%s must be a non-empty list of routes (\"0002\" or \"0002-0009\")" % where)
        spans = []
        for r in v:
            if not isinstance(r, str):
                raise RegistryError("%s: route %r must be a string" % (where, r))
            parts = r.split("-")
            if len(parts) > 2:
                raise RegistryError("%s: route %r is not NNNN or NNNN-NNNN" % (where, r))
            nums = []
            for p in parts:
                if not _layout.is_code(p, width):
                    raise RegistryError("%s: route %r must be %d digits" % (where, r, width))
                nums.append(int(p))
            lo = nums[0]
            hi = nums[-1]
            if lo > hi:
                raise RegistryError("%s: route range %r runs backwards" % (where, r))
            if lo <= 1:
                raise RegistryError("%s: route %r includes the control routes 0000/0001" % (where, r))
            spans.append((lo, hi))
        spans.sort()
        for i in range(1, len(spans)):
            if spans[i][0] <= spans[i - 1][1]:
                raise RegistryError("%s: routes %04d-%04d and %04d-%04d overlap" % (
                    where, spans[i - 1][0], spans[i - 1][1], spans[i][0], spans[i][1]))
        ranges = bytearray(4 * len(spans))
        n = 0
        for i in range(len(spans)):
            lo, hi = spans[i]
            ranges[4 * i] = lo >> 8
            ranges[4 * i + 1] = lo & 0xFF
            ranges[4 * i + 2] = hi >> 8
            ranges[4 * i + 3] = hi & 0xFF
            n += hi - lo + 1
        return bytes(ranges), n


    def _state(v, where, names):
        """The index of v in names (a state's name, in the order of its constants)."""
        for i in range(len(names)):
            if v == names[i]:
                return i
        raise RegistryError("%s must be one of %s, not %r" % (where, ", ".join(names), v))

    if isinstance(d, (bytes, bytearray)):
        try:
            d = bytes(d).decode()
        except Exception:
            raise RegistryError("registry: not UTF-8 text")
    if isinstance(d, str) or hasattr(d, "read"):     # text, or a stream parsed as it is read
        import json
        try:
            d = json.loads(d) if isinstance(d, str) else json.load(d)
        except Exception as e:
            raise RegistryError("registry: not valid JSON (%s)" % e)
    if not isinstance(d, dict):
        raise RegistryError("registry must be a JSON object, not %s" % ("a list" if isinstance(d, list) else
                                                         "a string" if isinstance(d, str) else repr(d)))
    _keys(d, ("format", "cafis", "companies", "centers", "connections", "message_types", "layouts", "comment",
              "name"), "registry")      # "comment" and "name" are free text (docs/cafis.md)
    for k in ("comment", "name"):
        if not isinstance(d.get(k, ""), str):
            raise RegistryError("registry.%s must be a string" % k)
    if d.get("format") != "faxbridge-cafis-registry/1":        # docs/cafis.md
        raise RegistryError("registry.format must be 'faxbridge-cafis-registry/1'")
    reg = Registry()
    lays = d.get("layouts")
    if lays is not None:
        _keys(lays, ("center", "terminal"), "registry.layouts")
        if "center" in lays:
            reg.center_layout = _layout.from_dict("center", lays["center"])
        if "terminal" in lays:
            reg.terminal_layout = _layout.from_dict("terminal", lays["terminal"])
    if d.get("message_types") is not None:
        reg.catalogue = _cat.from_list(d["message_types"])
    cat = reg.catalogue
    cl = reg.center_layout
    cafis = d.get("cafis", {"state": "online"})
    _keys(cafis, ("state",), "registry.cafis")
    # online, ended, fault: _CAFIS_ONLINE .. _CAFIS_FAULT; congested is a fault too (C33)
    reg.cafis_state = min(_CAFIS_FAULT, _state(cafis.get("state", "online"), "registry.cafis.state",
                                              ("online", "ended", "fault", "congested")))

    co_w = cl.at("org_co")[1]
    sub_w = cl.at("org_sub")[1]
    if cl.at("dst_co")[1] != co_w or cl.at("dst_sub")[1] != sub_w:
        raise RegistryError("layout center: originating and destination company fields must have the same widths")
    reg.co_w = co_w
    reg.sub_w = sub_w
    recs = []
    for i, c in enumerate(_list(d, "companies", "registry")):
        w = "companies[%d]" % i
        _keys(c, ("code", "sub", "digits", "fill", "name"), w)
        code = _str(c.get("code"), w + ".code", co_w)
        w = "company %s" % code
        digits = c.get("digits", 0)
        if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= sub_w:
            raise RegistryError("%s: digits (契約桁数) must be an integer 0..%d" % (w, sub_w))
        sub = _str(c.get("sub", ""), w + ".sub", sub_w, allow_empty=True)
        if len(sub) != digits:
            raise RegistryError("%s: sub has %d characters but digits (契約桁数) is %d" % (w, len(sub), digits))
        fill = c.get("fill", "0")
        if fill not in ("0", " "):
            raise RegistryError("%s: fill must be \"0\" or \" \"" % w)
        name = c.get("name", "")
        if not isinstance(name, str):
            raise RegistryError("%s: name must be a string" % w)
        recs.append((code + " " * (co_w - len(code)) + sub + fill * (sub_w - digits)).encode() + b"\xff")
    if len(recs) >= 0xFFFF:
        raise RegistryError("registry: %d companies; at most %d" % (len(recs), 0xFFFE))
    reg.companies = cos = Table(co_w + sub_w + 1, co_w, recs)
    for i in range(1, cos.n):
        if cos.same(i, 0, co_w, recs[i - 1], 0):
            raise RegistryError("company %s is listed twice" % recs[i][:co_w].decode().rstrip())
    recs = None

    rw = cl.at("route")[1]
    idw = cl.at("center_id")[1]
    total = 0
    for i, c in enumerate(_list(d, "centers", "registry")):
        w = "centers[%d]" % i
        _keys(c, ("id", "company", "routes", "center_ids", "services", "serves", "state", "name"), w)
        cid = _str(c.get("id"), w + ".id")
        w = "center %s" % cid
        if cid in reg.by_id:
            raise RegistryError("center %s is listed twice" % cid)
        if len(reg.centers) >= _MAX_CENTERS:
            raise RegistryError("%s: at most %d centers (their route state is kept in RAM)" % (w, _MAX_CENTERS))
        co = reg.company(_str(c.get("company"), w + ".company"))
        if co < 0:
            raise RegistryError("%s: company %s is not in companies" % (w, c.get("company")))
        ranges, n = _routes(c.get("routes"), w + ".routes", rw)
        total += n
        if total > _MAX_ROUTES:
            raise RegistryError("%s: %d routes in all; at most %d (their state is kept in RAM)"
                                % (w, total, _MAX_ROUTES))
        ids = bytearray()
        for x in _list(c, "center_ids", w):
            x = _str(x, w + ".center_ids", idw)
            if len(x) != idw:
                raise RegistryError("%s: center identifier %r must be %d characters" % (w, x, idw))
            ids += x.encode()
        services = _msg_types(c.get("services", []), w + ".services", cat)
        serves = None
        if c.get("serves") is not None:
            serves = _msg_types(c["serves"], w + ".serves", cat)
            if reg.co_dest(co) >= 0:
                raise RegistryError("%s: company %s already has destination center %s" % (w, c.get("company"),
                                                                         reg.centers[reg.co_dest(co)].id))
            if len(reg.centers) >= _NONE:
                raise RegistryError("%s: at most %d centers have a destination role" % (w, _NONE))
            cos.blocks[co // cos.per][(co % cos.per) * cos.w + co_w + sub_w] = len(reg.centers)
        k = 6 + len(ranges) + len(ids) + len(services) + len(serves or b"")
        if k >= 0xFFFF:     # Center.rec's offsets are 2 bytes; 0xFFFF means no destination role
            raise RegistryError("%s: routes, center_ids, services and serves take %d bytes; at most %d"
                                % (w, k, 0xFFFE))
        state = _state(c.get("state", "online"), w + ".state", ("online", "not_open", "suspended", "fault"))
        cen = Center(len(reg.centers), cid, co, ranges, n, ids, services, serves, state)
        reg.centers.append(cen)
        reg.by_id[cid] = cen

    tl = reg.terminal_layout
    cw = tl.at("conn_co")[1]
    recs = []
    for i, c in enumerate(_list(d, "connections", "registry", required=False)):
        w = "connections[%d]" % i
        _keys(c, ("code", "destination", "name"), w)
        code = _str(c.get("code"), w + ".code", cw)
        if len(code) != cw:
            raise RegistryError("%s: connection company code %r must be %d characters" % (w, code, cw))
        dest = 0xFFFF
        if c.get("destination") is not None:
            dest = reg.company(_str(c.get("destination"), w + ".destination"))
            if dest < 0:
                raise RegistryError("connection %s: destination company %s is not in companies"
                                    % (code, c.get("destination")))
        recs.append(code.encode() + bytes((dest >> 8, dest & 0xFF)))
    reg.connections = t = Table(cw + 2, cw, recs)
    for i in range(1, t.n):
        if t.same(i, 0, cw, recs[i - 1], 0):
            raise RegistryError("connection %s is listed twice" % recs[i][:cw].decode())
    return reg
