"""What each check kind of the seed 3.3.4 tables checks, and the tables compiled for a layout:
row_ok runs one content row (表 3.3.4-2..5, 3.3.4 (2) A, B, D), state_fails one row of
表 3.3.4-6, and compiled() turns the tables of checktab.py into bytes (kind, field offset, field
length, the row's first cell) for the layouts in use, which checks.Checker runs allocating nothing.
The tables themselves are data in checktab.py; a kind is a number there and here, a private
constant in both (no module name each: test_cafis_checks checks the two agree).
"""
from micropython import const

from . import layout as _layout

# What the rows compare against, as this module's own constants (a module name each would stay
# in RAM, and a lookup per use on the check's path; test_cafis_checks checks each against its
# module): catalogue classes, routes.py slot states, registry.py center and CAFIS states.
_CL_CTRL_REQ = const(1)     # catalogue._CTRL_REQ
_CL_CTRL_BOTH = const(3)    # catalogue._CTRL_BOTH
_CL_REQ = const(5)          # catalogue._REQ
_RT_NEVER = const(0)        # routes._NEVER
_RT_ORIG = const(1)         # routes._ORIG
_RT_DEST = const(2)         # routes._DEST
_RT_CMD = const(-1)         # routes._CMD
_ST_ONLINE = const(0)       # registry._ONLINE
_ST_NOT_OPEN = const(1)     # registry._NOT_OPEN
_ST_SUSPENDED = const(2)    # registry._SUSPENDED
_ST_FAULT = const(3)        # registry._FAULT
_ST_CAFIS_ENDED = const(1)  # registry._CAFIS_ENDED
_ST_CAFIS_FAULT = const(2)  # registry._CAFIS_FAULT

# --- check kinds: checktab.py's numbers (its comments quote the seed's wording); its 16 (equals the
# field of the request that opened the route) is compared by checks.Checker.check itself, not here
_NUMERIC = const(1)
_DAY = const(2)
_REPEAT = const(3)
_EQUALS = const(4)
_TRAILER_LEN = const(5)
_ROUTE_HELD = const(6)
_ROUTE_FREE = const(7)
_ROUTE_FREE_OR_SAME = const(8)
_ROUTE_DEST = const(9)
_ORG_CO = const(10)
_ORG_SUB = const(11)
_DST_CO = const(12)
_DST_SUB = const(13)
_SERVICE = const(14)
_CENTER_ID = const(15)
_ANSWER = const(17)
_LAST_PROTECTED = const(18)
_CTL_TYPE = const(19)
_CMD_ANSWER = const(20)
_CMD_ECHO = const(21)
_CONN_CO = const(22)
_SEND_CLASS = const(23)
# state kinds (表 3.3.4-6)
_ORG_NOT_OPEN = const(30)
_ORG_SERVICE = const(31)
_DST_NO_ROUTE = const(32)
_DST_FAULT = const(33)
_DST_SUSPENDED = const(34)
_DST_SERVICE = const(35)
_CAFIS_ENDED = const(36)
_CAFIS_FAULT = const(37)


# --- the compiled form (compiled) -------------------------------------------------------------
# rows: per content row 4 bytes (_CROW): kind, field offset, field length, the row's first cell
# in its table (_W x its row number in the seed table). ix: (offset, length) of the fields the
# Checker reads itself (_AT_MT .. _AT_TCONN), then per section (first compiled row, number of
# rows) from _AT_SPANS, then from _AT_ECHO 4 bytes for each center field 3.3.4 B(b) compares: 0 and
# its item's index in ITEMS when its name is the seed's item name (every default field), else 1
# and its index in the layout's rows; then its offset and length.
_CROW = const(4)
# ix's offsets, private (no module name each: checks.py and outbound.py have their own consts
# for those they read, _AT_MT .. _AT_SPANS, and test_cafis_checks checks them against this text)
_AT_MT = const(0)       # msg_type, then trailer_len: Verdict.report reads these 4 bytes
_AT_ROUTE = const(4)    # (2: trailer_len)
_AT_SEQ = const(6)
_AT_DST = const(8)
_AT_TMT = const(10)     # terminal layout
_AT_TCONN = const(12)   # terminal layout
_AT_SPANS = const(14)
_AT_ECHO = const(30)
_ITEM = const(1)        # columns of checktab's content rows, of its SECTIONS
_KIND = const(2)
_ARG = const(4)
_W = const(5)           # checktab._W: a content row's width
_SEC_NAME = const(1)
_SEC_TABLE = const(2)


# The compiled form (ix, rows) of the default layouts (layout.CENTER_FIELDS, TERMINAL_FIELDS), kept as
# constants (in flash when frozen: no heap for the unit's usual registry); compiled() builds the
# same bytes for any other layout, and test_cafis_checks rebuilds these to show they agree.
_COMPILED0 = ((
    # offset, length: msg_type, trailer_len, route, seq, dst_co; terminal msg_type, conn_co
    b"\x2b\x04\x3c\x03\x00\x04\x04\x06\x20\x07\x12\x04\x00\x04"
    # first row, rows: per section A .. F(b)
    b"\x00\x04\x04\x02\x06\x0e\x14\x02\x16\x13\x16\x13\x29\x0f\x38\x0b"
    # the fields 3.3.4 B(b) compares: 0, item (ITEMS), offset, length: route .. proxy_reroute
    b"\x00\x05\x00\x04\x00\x06\x04\x06\x00\x0d\x0a\x02\x00\x0e\x0c\x03\x00\x0f\x0f\x06"
    b"\x00\x01\x15\x07\x00\x02\x1c\x04\x00\x07\x20\x07\x00\x08\x27\x04\x00\x10\x2f\x04"
    b"\x00\x11\x33\x01\x00\x09\x34\x02\x00\x0a\x36\x02\x00\x12\x38\x03\x00\x13\x3b\x01"), (
    # 3.3.4 (2) A: kind, offset, length, first cell
    b"\x0a\x15\x07\x00\x0b\x1c\x04\x05\x13\x2b\x04\x0a\x04\x3c\x03\x0f"
    # 3.3.4 (2) B: kind, offset, length, first cell
    b"\x14\x2b\x04\x00\x15\x00\x00\x05"
    # 表 3.3.4-2: kind, offset, length, first cell
    b"\x06\x00\x04\x00\x07\x00\x04\x05\x01\x04\x06\x0a\x0a\x15\x07\x0f\x0b\x1c\x04\x14\x0c\x20\x07\x19"
    b"\x0d\x27\x04\x1e\x0e\x2b\x04\x23\x01\x34\x02\x28\x02\x34\x02\x2d\x03\x34\x02\x32\x04\x36\x02\x37"
    b"\x01\x3c\x03\x3c\x05\x3c\x03\x41"
    # 3.3.4 (2) D: kind, offset, length, first cell
    b"\x16\x00\x04\x00\x17\x04\x01\x05"
    # 表 3.3.4-3: kind, offset, length, first cell
    b"\x06\x00\x04\x00\x09\x00\x04\x05\x10\x04\x06\x0a\x10\x0a\x02\x0f\x10\x0c\x03\x14\x10\x0f\x06\x19"
    b"\x10\x15\x07\x1e\x10\x1c\x04\x23\x10\x20\x07\x28\x10\x27\x04\x2d\x11\x2b\x04\x32\x10\x2f\x04\x37"
    b"\x10\x33\x01\x3c\x10\x34\x02\x41\x10\x36\x02\x46\x10\x38\x03\x4b\x10\x3b\x01\x50\x01\x3c\x03\x55"
    b"\x05\x3c\x03\x5a"
    # 表 3.3.4-4: kind, offset, length, first cell
    b"\x06\x00\x04\x00\x08\x00\x04\x05\x01\x04\x06\x0a\x0f\x0a\x02\x0f\x01\x0f\x06\x14\x0a\x15\x07\x19"
    b"\x0b\x1c\x04\x1e\x0c\x20\x07\x23\x0d\x27\x04\x28\x01\x2f\x04\x2d\x02\x2f\x04\x32\x01\x34\x02\x37"
    b"\x02\x34\x02\x3c\x01\x3c\x03\x41\x05\x3c\x03\x46"
    # 表 3.3.4-5: kind, offset, length, first cell
    b"\x06\x00\x04\x00\x08\x00\x04\x05\x12\x04\x06\x0a\x0a\x15\x07\x0f\x0b\x1c\x04\x14\x0c\x20\x07\x19"
    b"\x0d\x27\x04\x1e\x12\x34\x02\x23\x12\x36\x02\x28\x01\x3c\x03\x2d\x05\x3c\x03\x32"))


def compiled(cl, tl):
    """(ix, rows) as bytes for center layout cl and terminal layout tl (layout.Layout); the
    constants above for the default layouts."""
    if cl.fields is _layout.CENTER_FIELDS and tl.fields is _layout.TERMINAL_FIELDS:
        return _COMPILED0
    from . import checktab as tab     # here, not a module name: only another layout reads it here
    ix = bytearray()
    for lay, key in ((cl, "msg_type"), (cl, "trailer_len"), (cl, "route"), (cl, "seq"), (cl, "dst_co"),
                     (tl, "msg_type"), (tl, "conn_co")):
        off, ln = lay.at(key)
        ix.append(off)
        ix.append(ln)
    # the compiled rows of each content table, once (E general and E fault share 表 3.3.4-3)
    keys = tab.KEYS.split()
    rows = bytearray()
    for s in range(len(tab.SECTIONS)):
        t = tab.SECTIONS[s][_SEC_TABLE]
        first = -1
        for e in range(s):
            if tab.SECTIONS[e][_SEC_TABLE] == t:
                first = ix[_AT_SPANS + 2 * e]
        if first < 0:
            first = len(rows) // _CROW
            table = tab.TABLES[t]
            lay = tl if tab.SECTIONS[s][_SEC_NAME] == "D" else cl
            for i in range(len(table) // _W):
                item = table[_W * i + _ITEM]
                off, ln = lay.at(keys[item]) if item is not None else (0, 0)
                rows.append(table[_W * i + _KIND])
                rows.append(off)
                rows.append(ln)
                rows.append(_W * i)
        ix.append(first)
        ix.append(len(tab.TABLES[t]) // _W)
    # B(b) compares every field but the message type and the trailer length
    fields = _layout.rows(cl.fields)
    for i in range(len(fields)):
        key, _, ja, off, ln, _ = fields[i]
        if key not in ("msg_type", "trailer_len"):
            j = 0
            while j < len(tab.ITEMS) and tab.ITEMS[j] != ja:
                j += 1
            ix.extend((0, j, off, ln) if j < len(tab.ITEMS) else (1, i, off, ln))
    return bytes(ix), bytes(rows)


# --- what a check kind checks: one content row (表 3.3.4-2..5, 3.3.4 (2) A, B, D) -------------
def row_ok(chk, kind, off, ln, table, b, buf, n, cen, slot):
    """True when the content row at table[b:b + _W] (kind, field at buf[off:off+ln], compiled by
    the Checker) passes for telegram buf (n bytes) from center cen on route slot `slot`; no
    allocation."""
    if kind == _NUMERIC:
        return _layout.num(buf, off, ln) >= 0
    if kind == _DAY:
        d = _layout.num(buf, off + ln - 2, 2)
        return 1 <= d <= 31
    if kind == _REPEAT:
        return True
    if kind == _EQUALS:
        # the seed's value, right-aligned and zero-padded to the field of the layout in use
        arg = table[b + _ARG]
        k = len(arg)
        for i in range(ln):
            j = i - ln + k
            if buf[off + i] != (arg[j] if j >= 0 else 48):
                return False
        return True
    if kind == _TRAILER_LEN:
        hlen = chk.cl.hlen
        want = n - hlen
        if not chk.cl.shift_counted:
            for i in range(hlen, n):
                c = buf[i]
                if c == 0x0E or c == 0x0F:
                    want -= 1
        return _layout.num(buf, off, ln) == want
    if kind == _ROUTE_HELD:
        return slot >= 0
    routes = chk.routes
    if kind == _ROUTE_FREE:
        st = routes.state(cen.idx, slot)
        return st != _RT_ORIG and st != _RT_DEST
    if kind == _ROUTE_FREE_OR_SAME:
        st = routes.state(cen.idx, slot)
        if st == _RT_DEST:
            return False
        if st == _RT_ORIG:
            return routes.same(cen.idx, slot, buf, chk.ix[_AT_SEQ], chk.ix[_AT_SEQ + 1])
        return True
    if kind == _ROUTE_DEST:
        return routes.state(cen.idx, slot) == _RT_DEST
    if kind == _LAST_PROTECTED:
        if routes.state(cen.idx, slot) == _RT_NEVER:
            return False
        return routes.same(cen.idx, slot, buf, off, ln)
    if kind == _ANSWER:
        return chk.cat.answers(routes.num(cen.idx, slot, off, ln), _layout.num(buf, off, ln))
    if kind == _ORG_CO:
        return chk.reg.companies.same(cen.company, 0, ln, buf, off)
    if kind == _ORG_SUB:
        return chk.reg.companies.same(cen.company, chk.reg.co_w, ln, buf, off)
    if kind == _DST_CO:
        return chk.reg.companies.find(buf, off) >= 0
    if kind == _DST_SUB:
        co = chk.reg.companies.find(buf, chk.ix[_AT_DST])
        return co >= 0 and chk.reg.companies.same(co, chk.reg.co_w, ln, buf, off)
    if kind == _SERVICE:
        return chk.cat.cls(_layout.num(buf, off, ln)) == _CL_REQ
    if kind == _CENTER_ID:
        return cen.has_id(buf, off, ln)
    if kind == _CTL_TYPE:
        k = chk.cat.cls(_layout.num(buf, off, ln))
        return k == _CL_CTRL_REQ or k == _CL_CTRL_BOTH
    if kind == _CMD_ANSWER:
        if not routes.state(cen.idx, _RT_CMD):
            return False
        return chk.cat.answers(routes.num(cen.idx, _RT_CMD, off, ln), _layout.num(buf, off, ln))
    if kind == _CMD_ECHO:
        ix = chk.ix
        for p in range(_AT_ECHO, len(ix), 4):
            if not routes.same(cen.idx, _RT_CMD, buf, ix[p + 2], ix[p + 3]):
                chk.echo_ix = p     # checks names the field from ix[p], ix[p + 1]
                return False
        return True
    if kind == _CONN_CO:
        return chk.reg.connections.find(buf, off) >= 0
    if kind == _SEND_CLASS:
        c = buf[off]
        for x in table[b + _ARG]:
            if c == x:
                return True
        return False
    return False

# --- one state row (表 3.3.4-6) ---------------------------------------------------------------
def state_fails(chk, kind, cen, mt, dest):
    """True when state row `kind` fails: cen the sending center (None for a terminal), mt
    the message type, dest the destination company's index (-1: none)."""
    reg = chk.reg
    if kind == _ORG_NOT_OPEN:
        return cen.state != _ST_ONLINE
    if kind == _ORG_SERVICE:
        return not cen.has_type(mt)
    if kind == _CAFIS_ENDED:
        return reg.cafis_state == _ST_CAFIS_ENDED
    if kind == _CAFIS_FAULT:
        return reg.cafis_state == _ST_CAFIS_FAULT
    if dest < 0:    # no destination: a center's telegram fails; a terminal's skips the rows
        return cen is not None
    d = reg.co_dest(dest)
    if kind == _DST_NO_ROUTE:
        cs = chk.routes.cs          # the routes of center d in use (routes.py): 2 bytes at 4 * d + 2
        return d < 0 or (cs[4 * d + 2] << 8 | cs[4 * d + 3]) >= reg.centers[d].nroutes
    dc = reg.centers[d]
    if kind == _DST_FAULT:
        return dc.state == _ST_FAULT
    if kind == _DST_SUSPENDED:
        return dc.state == _ST_SUSPENDED or dc.state == _ST_NOT_OPEN
    if kind == _DST_SERVICE:
        return not dc.has_type(mt, True)
    return False
