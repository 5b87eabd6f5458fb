"""The CAFIS registry: companies, centers (routes, center identifiers, services, state),
destination centers, terminal connection companies and CAFIS's own state.

load(obj) takes the JSON text or the already-parsed dict (no file I/O here) and returns a
Registry, or raises RegistryError with a message naming the problem. Format: docs/cafis.md.
Lookups used per telegram (company by the bytes of a field) compare bytes in place.
"""
from micropython import const

from . import catalogue as _cat
from . import layout as _layout

FORMAT = "faxbridge-cafis-registry/1"

# center states (registry "state"): 開局 / 未開局 / 休止中（個別終了） / 障害中
ONLINE = const(0)
NOT_OPEN = const(1)
SUSPENDED = const(2)
FAULT = const(3)
CENTER_STATES = (("online", ONLINE), ("not_open", NOT_OPEN), ("suspended", SUSPENDED), ("fault", FAULT))

# CAFIS's own state: online / ended (オンライン終了, C15) / fault (障害・輻輳, C33)
CAFIS_ONLINE = const(0)
CAFIS_ENDED = const(1)
CAFIS_FAULT = const(2)
CAFIS_STATES = (("online", CAFIS_ONLINE), ("ended", CAFIS_ENDED), ("fault", CAFIS_FAULT),
                ("congested", CAFIS_FAULT))

_TOP_KEYS = ("format", "cafis", "companies", "centers", "connections", "message_types", "layouts", "comment")


class RegistryError(ValueError):
    pass


def hash_field(buf, off, ln):
    """Small-int hash of ln bytes at buf[off:] (no allocation)."""
    h = 0
    for i in range(off, off + ln):
        h = (h * 31 + buf[i]) & 0xFFFFFF
    return h


def _hash_bytes(b):
    return hash_field(b, 0, len(b))


class Company:
    def __init__(self, code, sub, digits, fill, name, code_b, sub_b):
        self.code = code        # as registered (str)
        self.sub = sub
        self.digits = digits    # 契約桁数
        self.fill = fill
        self.name = name
        self.code_b = code_b    # field image: left-justified, space-padded
        self.sub_b = sub_b      # field image of the sub-code as the contract requires
        self.dest = -1          # index of its destination center, -1 if none


class Center:
    def __init__(self, idx, cid, company, ranges, nroutes, center_ids, services, serves, state):
        self.idx = idx
        self.id = cid
        self.company = company      # Company
        self.ranges = ranges        # ((lo, hi, base), ...) route numbers held, base = first slot
        self.nroutes = nroutes
        self.center_ids = center_ids  # tuple of field images (bytes)
        self.services = services    # {msg type int: True}: what it may send as originating center
        self.serves = serves        # {msg type int: True} or None: what it serves as destination
        self.state = state

    def route_index(self, route):
        """Slot of route number `route` (int) among the routes held, or -1."""
        for lo, hi, base in self.ranges:
            if lo <= route <= hi:
                return base + route - lo
        return -1


class Connection:
    def __init__(self, code, code_b, dest_company):
        self.code = code
        self.code_b = code_b
        self.dest_company = dest_company  # Company or None


class Registry:
    def __init__(self):
        self.center_layout = _layout.center()
        self.terminal_layout = _layout.terminal()
        self.catalogue = _cat.Catalogue()
        self.cafis_state = CAFIS_ONLINE
        self.companies = []
        self.centers = []
        self.by_id = {}
        self.connections = []
        self._co_hash = {}
        self._conn_hash = {}

    def center(self, cid):
        return self.by_id.get(cid)

    def company_at(self, buf, off, ln):
        """The Company whose code is the ln bytes at buf[off:], or None (no allocation)."""
        bucket = self._co_hash.get(hash_field(buf, off, ln))
        if bucket is not None:
            for co in bucket:
                if same(buf, off, co.code_b):
                    return co
        return None

    def company(self, code):
        for co in self.companies:
            if co.code == code:
                return co
        return None

    def connection_at(self, buf, off, ln):
        bucket = self._conn_hash.get(hash_field(buf, off, ln))
        if bucket is not None:
            for c in bucket:
                if same(buf, off, c.code_b):
                    return c
        return None


def same(buf, off, ref):
    """True when buf[off:off+len(ref)] equals ref, compared in place."""
    for i in range(len(ref)):
        if buf[off + i] != ref[i]:
            return False
    return True


def _err(msg):
    raise RegistryError(msg)


def _str(v, where, width=None, allow_empty=False):
    if not isinstance(v, str):
        _err("%s must be a string" % where)
    if not allow_empty and not v:
        _err("%s must not be empty" % where)
    if width is not None:
        b = v.encode()
        if len(b) != len(v):
            _err("%s must be single-byte characters" % where)
        if len(b) > width:
            _err("%s is longer than its %d-byte field" % (where, width))
    return v


def _list(d, key, where, required=True):
    v = d.get(key)
    if v is None and not required:
        return []
    if not isinstance(v, list):
        _err("%s.%s must be a list" % (where, key))
    return v


def _keys(d, allowed, where):
    if not isinstance(d, dict):
        _err("%s must be an object" % where)
    for k in d:
        if k not in allowed:
            _err("%s: unknown key %s" % (where, k))


def _msg_types(v, where, cat):
    out = {}
    if not isinstance(v, list):
        _err("%s must be a list of message types" % where)
    for t in v:
        if not (isinstance(t, str) and len(t) == 4 and _cat._digits(t)):
            _err("%s: %r is not a 4-digit message type" % (where, t))
        if cat.entry(int(t)) is None:
            _err("%s: message type %s is not in the catalogue" % (where, t))
        out[int(t)] = True
    return out


def _routes(v, where, width):
    if not isinstance(v, list) or not v:
        _err("%s must be a non-empty list of routes (\"0002\" or \"0002-0009\")" % where)
    spans = []
    for r in v:
        if not isinstance(r, str):
            _err("%s: route %r must be a string" % (where, r))
        parts = r.split("-")
        if len(parts) > 2:
            _err("%s: route %r is not NNNN or NNNN-NNNN" % (where, r))
        nums = []
        for p in parts:
            if len(p) != width or not _cat._digits(p):
                _err("%s: route %r must be %d digits" % (where, r, width))
            nums.append(int(p))
        lo = nums[0]
        hi = nums[-1]
        if lo > hi:
            _err("%s: route range %r runs backwards" % (where, r))
        if lo <= 1:
            _err("%s: route %r includes the control routes 0000/0001" % (where, r))
        spans.append((lo, hi))
    spans.sort()
    for i in range(1, len(spans)):
        if spans[i][0] <= spans[i - 1][1]:
            _err("%s: routes %04d-%04d and %04d-%04d overlap" % (where, spans[i - 1][0], spans[i - 1][1],
                                                                spans[i][0], spans[i][1]))
    ranges = []
    base = 0
    for lo, hi in spans:
        ranges.append((lo, hi, base))
        base += hi - lo + 1
    return tuple(ranges), base


def _state(v, where, table):
    for name, val in table:
        if v == name:
            return val
    _err("%s must be one of %s, not %r" % (where, ", ".join(n for n, _ in table), v))


def load(src):
    """Registry from JSON text (str/bytes) or an already-parsed dict; RegistryError if malformed."""
    if isinstance(src, (bytes, bytearray)):
        try:
            src = bytes(src).decode()
        except Exception:
            _err("registry: not UTF-8 text")
    if isinstance(src, str):
        import json
        try:
            src = json.loads(src)
        except Exception as e:
            _err("registry: not valid JSON (%s)" % e)
    try:
        return _build(src)
    except RegistryError:
        raise
    except (_layout.LayoutError, _cat.CatalogueError) as e:
        raise RegistryError(str(e))


def _build(d):
    _keys(d, _TOP_KEYS, "registry")
    if d.get("format") != FORMAT:
        _err("registry.format must be %r" % FORMAT)
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
    reg.cafis_state = _state(cafis.get("state", "online"), "registry.cafis.state", CAFIS_STATES)

    co_w = cl.pos["org_co"][1]
    sub_w = cl.pos["org_sub"][1]
    if cl.pos["dst_co"][1] != co_w or cl.pos["dst_sub"][1] != sub_w:
        _err("layout center: originating and destination company fields must have the same widths")
    for i, c in enumerate(_list(d, "companies", "registry")):
        w = "companies[%d]" % i
        _keys(c, ("code", "sub", "digits", "fill", "name"), w)
        code = _str(c.get("code"), w + ".code", co_w)
        w = "company %s" % code
        digits = c.get("digits", 0)
        if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= sub_w:
            _err("%s: digits (契約桁数) must be an integer 0..%d" % (w, sub_w))
        sub = _str(c.get("sub", ""), w + ".sub", sub_w, allow_empty=True)
        if len(sub) != digits:
            _err("%s: sub has %d characters but digits (契約桁数) is %d" % (w, len(sub), digits))
        fill = c.get("fill", "0")
        if fill not in ("0", " "):
            _err("%s: fill must be \"0\" or \" \"" % w)
        name = c.get("name", "")
        if not isinstance(name, str):
            _err("%s: name must be a string" % w)
        if reg.company(code) is not None:
            _err("company %s is listed twice" % code)
        code_b = (code + " " * (co_w - len(code))).encode()
        sub_b = (sub + fill * (sub_w - digits)).encode()
        co = Company(code, sub, digits, fill, name, code_b, sub_b)
        reg.companies.append(co)
        reg._co_hash.setdefault(_hash_bytes(code_b), []).append(co)

    rw = cl.pos["route"][1]
    idw = cl.pos["center_id"][1]
    for i, c in enumerate(_list(d, "centers", "registry")):
        w = "centers[%d]" % i
        _keys(c, ("id", "company", "routes", "center_ids", "services", "serves", "state", "name"), w)
        cid = _str(c.get("id"), w + ".id")
        w = "center %s" % cid
        if cid in reg.by_id:
            _err("center %s is listed twice" % cid)
        co = reg.company(_str(c.get("company"), w + ".company"))
        if co is None:
            _err("%s: company %s is not in companies" % (w, c.get("company")))
        ranges, n = _routes(c.get("routes"), w + ".routes", rw)
        ids = []
        for x in _list(c, "center_ids", w):
            x = _str(x, w + ".center_ids", idw)
            if len(x) != idw:
                _err("%s: center identifier %r must be %d characters" % (w, x, idw))
            ids.append(x.encode())
        services = _msg_types(c.get("services", []), w + ".services", cat)
        serves = None
        if c.get("serves") is not None:
            serves = _msg_types(c["serves"], w + ".serves", cat)
            if co.dest >= 0:
                _err("%s: company %s already has destination center %s" % (w, co.code, reg.centers[co.dest].id))
            co.dest = len(reg.centers)
        state = _state(c.get("state", "online"), w + ".state", CENTER_STATES)
        cen = Center(len(reg.centers), cid, co, ranges, n, tuple(ids), services, serves, state)
        reg.centers.append(cen)
        reg.by_id[cid] = cen

    tl = reg.terminal_layout
    cw = tl.pos["conn_co"][1]
    for i, c in enumerate(_list(d, "connections", "registry", required=False)):
        w = "connections[%d]" % i
        _keys(c, ("code", "destination", "name"), w)
        code = _str(c.get("code"), w + ".code", cw)
        if len(code) != cw:
            _err("%s: connection company code %r must be %d characters" % (w, code, cw))
        dest = None
        if c.get("destination") is not None:
            dest = reg.company(_str(c.get("destination"), w + ".destination"))
            if dest is None:
                _err("connection %s: destination company %s is not in companies" % (code, c.get("destination")))
        for o in reg.connections:
            if o.code == code:
                _err("connection %s is listed twice" % code)
        con = Connection(code, code.encode(), dest)
        reg.connections.append(con)
        reg._conn_hash.setdefault(_hash_bytes(con.code_b), []).append(con)
    return reg
