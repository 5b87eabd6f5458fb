"""Header layouts of CAFIS telegrams as data (spec/cafis.md, default center and terminal headers).

A layout row is (key, name_en, name_ja, offset, length, kind); kind is "N" (numeric digits)
or "AN". Keys are the names the checks use; a deployment may supply its own layout (other
offsets and widths) as long as it defines every key the checks need. Rows are read by name
(F_KEY, F_JA, F_OFF, F_LEN). The default layouts are one str each, a line a field
(key|name|name_ja|offset|length|kind, each line led by its newline): a constant tuple of rows
would load as one heap object per cell and row. rows() splits them (set-up and tools);
Layout.at(key) reads the one line it needs. num() is the one ASCII-digit parser of the CAFIS core.
"""
from micropython import const

# a layout row, by name
F_KEY = const(0)
_F_EN = const(1)
F_JA = const(2)
F_OFF = const(3)
F_LEN = const(4)
_F_KIND = const(5)
_MAX_HEADER = const(255)    # offsets and lengths are kept in one byte each (checkkinds.compiled)

# Default center header: 63 bytes (spec/cafis.md, "Default center header"), row by row:
# key|name|name_ja|offset|length|kind.
CENTER_FIELDS = (
    "\nroute|route number|経路番号|0|4|N"  # 1
    "\nseq|originating sequence number|仕向処理通番|4|6|N"  # 2
    "\ncenter_id|center identifier|センタ識別番号|10|2|AN"  # 3
    "\nline|line number|回線番号|12|3|N"  # 4
    "\ncafis_seq|CAFIS sequence number|CAFIS処理通番|15|6|N"  # 5
    "\norg_co|originating company code|仕向会社コード|21|7|AN"  # 6
    "\norg_sub|originating company sub-code|仕向会社サブコード|28|4|AN"  # 7
    "\ndst_co|destination company code|被仕向会社コード|32|7|AN"  # 8
    "\ndst_sub|destination company sub-code|被仕向会社サブコード|39|4|AN"  # 9
    "\nmsg_type|message type|電文種別|43|4|N"  # 10
    "\ncafis_date|CAFIS processing date|CAFIS処理日|47|4|N"  # 11
    "\ncat_status|CAT send status|CAT送信状態表示|51|1|AN"  # 12
    "\norg_date|originating processing date|仕向処理日付|52|2|N"  # 13
    "\nproxy_report|proxy report flag|代行報告表示|54|2|AN"  # 14
    "\nproxy_error|proxy telegram error flag|代行電文エラー表示|56|3|AN"  # 15
    "\nproxy_reroute|proxy re-routing flag|代行再仕向表示|59|1|AN"  # 16
    "\ntrailer_len|trailer length|トレーラレングス|60|3|N"  # 17
)

# Default terminal header: 47 bytes (spec/cafis.md, "Default terminal header"), row by row.
TERMINAL_FIELDS = (
    "\nconn_co|connection company code|接続会社コード|0|4|AN"  # 1
    "\nsend_class|send class|電文送信区分|4|1|AN"  # 2
    "\nterm_id|terminal identifier|端末識別番号|5|13|AN"  # 3
    "\nmsg_type|message type|電文種別|18|4|N"  # 4
    "\nterm_seq|terminal sequence number|端末処理通番|22|5|N"  # 5
    "\nterm_dt|terminal date-time|端末処理日時|27|10|N"  # 6
    "\nreserved|reserved|予備|37|10|AN"  # 7
)

# 表 3.3.4-1: allowed lengths (bytes, SO/SI counted). The keys the checks need: every key of the
# default center header; conn_co, send_class and msg_type of the terminal one (terminal()).
_CENTER_MIN = const(63)
_CENTER_MAX = const(1024)
_TERMINAL_MIN = const(47)
_TERMINAL_MAX = const(292)


class RegistryError(ValueError):
    """A registry, layout or catalogue that cannot be used (the message names the problem)."""


def rows(fields):
    """fields as a tuple of rows: a default layout's text split line by line, any other as it is."""
    if not isinstance(fields, str):
        return fields
    out = []
    for line in fields.split("\n"):
        if line:
            k, en, ja, off, ln, kind = line.split("|")
            out.append((k, en, ja, int(off), int(ln), kind))
    return tuple(out)


def num(buf, off, ln):
    """Value of the ln ASCII digits at buf[off:], or -1 if any is not a digit (no allocation).
    buf: bytes, bytearray or memoryview."""
    v = 0
    for i in range(off, off + ln):
        c = buf[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + c - 48
    return v


def is_code(s, width=4):
    """True when s is a str of exactly `width` ASCII digits (a message type, a route)."""
    return isinstance(s, str) and len(s) == width and num(s.encode(), 0, width) >= 0


class Layout:
    """One header layout: fields (tuple of rows, or the default's text, not copied), header length,
    allowed telegram lengths; shift_counted: True when the trailer length counts the SO/SI
    shift codes (the seed's rule, the default). Lookups by key are for set-up, not per telegram:
    at(key) -> (offset, length), row(key) -> the field's row."""

    def __init__(self, name, fields, hlen, min_len, max_len, shift_counted=True, required=()):
        self.name = name
        self.fields = fields if isinstance(fields, (tuple, str)) else tuple(fields)
        self.hlen = hlen
        self.min_len = min_len
        self.max_len = max_len
        self.shift_counted = shift_counted
        # checked here, once: a layout from a registry file is the deployment's (docs/cafis.md)
        where = "layout %s: " % self.name
        if not isinstance(self.hlen, int) or not 1 <= self.hlen <= _MAX_HEADER:
            raise RegistryError(where + "header length must be an integer 1..%d" % _MAX_HEADER)
        if not (isinstance(self.min_len, int) and isinstance(self.max_len, int)):
            raise RegistryError(where + "min and max must be integers")
        if not (self.hlen <= self.min_len <= self.max_len):
            raise RegistryError(where + "need header length <= min <= max, got %d, %d, %d"
                                % (self.hlen, self.min_len, self.max_len))
        if isinstance(fields, str):     # a default layout: checked by test_cafis_registry
            return
        seen = {}
        for row in self.fields:
            if not (isinstance(row, (tuple, list)) and len(row) == 6):
                raise RegistryError(where + "a field row must be [key, name, name_ja, offset, length, kind]")
            key, en, ja, off, ln, kind = row
            if not isinstance(key, str) or not key:
                raise RegistryError(where + "field key must be a non-empty string")
            if key in seen:
                raise RegistryError(where + "field %s is defined twice" % key)
            seen[key] = 1
            if not (isinstance(en, str) and isinstance(ja, str)):
                raise RegistryError(where + "field %s: names must be strings" % key)
            if not (isinstance(off, int) and isinstance(ln, int)) or off < 0 or ln < 1 or off + ln > self.hlen:
                raise RegistryError(where + "field %s: offset/length outside the %d-byte header" % (key, self.hlen))
            if kind not in ("N", "AN"):
                raise RegistryError(where + "field %s: kind must be N or AN" % key)
        for key in rows(required):
            if not isinstance(key, str):
                key = key[F_KEY]        # a row of the default layout
            if key not in seen:
                raise RegistryError(where + "missing field %s" % key)

    def row(self, key):
        for r in rows(self.fields):
            if r[F_KEY] == key:
                return r
        raise KeyError(key)

    def at(self, key):
        f = self.fields
        if not isinstance(f, str):
            r = self.row(key)
            return r[F_OFF], r[F_LEN]
        i = f.find("\n" + key + "|")     # a default layout: read in its text, no row built
        if i < 0:
            raise KeyError(key)
        for _ in range(3):
            i = f.find("|", i + 1)          # the offset follows the third "|"
        j = f.find("|", i + 1)
        return int(f[i + 1:j]), int(f[j + 1:f.find("|", j + 1)])


def center(fields=CENTER_FIELDS, hlen=63, limits=(_CENTER_MIN, _CENTER_MAX), shift_counted=True):
    return Layout("center", fields, hlen, limits[0], limits[1], shift_counted, CENTER_FIELDS)


def terminal(fields=TERMINAL_FIELDS, hlen=47, limits=(_TERMINAL_MIN, _TERMINAL_MAX)):
    return Layout("terminal", fields, hlen, limits[0], limits[1], True, ("conn_co", "send_class", "msg_type"))


def from_dict(name, d):
    """Build a layout from its JSON form (see docs/cafis.md); raises RegistryError naming the problem.

    {"header": 63, "min": 63, "max": 1024, "trailer_counts_shift": true,
     "fields": [["route", "route number", "経路番号", 0, 4, "N"], ...]}
    """
    if name not in ("center", "terminal"):
        raise RegistryError("layouts: unknown layout %s (center or terminal)" % name)
    if not isinstance(d, dict):
        raise RegistryError("layout %s: must be an object" % name)
    for k in d:
        if k not in ("header", "min", "max", "trailer_counts_shift", "fields"):
            raise RegistryError("layout %s: unknown key %s" % (name, k))
    fields = d.get("fields")
    if not isinstance(fields, list) or not fields:
        raise RegistryError("layout %s: fields must be a non-empty list" % name)
    hlen = d.get("header")
    mn = d.get("min", _CENTER_MIN if name == "center" else _TERMINAL_MIN)
    mx = d.get("max", _CENTER_MAX if name == "center" else _TERMINAL_MAX)
    sc = d.get("trailer_counts_shift", True)
    if not isinstance(sc, bool):
        raise RegistryError("layout %s: trailer_counts_shift must be true or false" % name)
    for v, what in ((hlen, "header"), (mn, "min"), (mx, "max")):
        if not isinstance(v, int) or isinstance(v, bool):
            raise RegistryError("layout %s: %s must be an integer" % (name, what))
    rows = []
    for r in fields:
        if not isinstance(r, list) or len(r) != 6:
            raise RegistryError("layout %s: a field row must be [key, name, name_ja, offset, length, kind]" % name)
        for x in (r[F_OFF], r[F_LEN]):
            if isinstance(x, bool):
                raise RegistryError("layout %s: field %s: offset/length must be integers" % (name, r[F_KEY]))
        rows.append(tuple(r))
    if name == "center":
        return center(rows, hlen, (mn, mx), sc)
    return terminal(rows, hlen, (mn, mx))
