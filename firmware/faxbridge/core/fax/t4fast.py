"""Viper twins of the T.4 hot loops (MicroPython only; t4py.py holds the plain-Python
originals under the same names, and host_tests/core/test_t4_twins.py checks both give the
same bytes).

Same algorithms, same tables: run-length scanning over whole bytes, make-up + terminating
codes from mhtab, fill + EOL ending on a byte boundary. No allocation per call.

The code tables are read with 16- and 32-bit loads, which the ESP32 makes only at aligned
addresses. mhtab's bytes are used where they are (frozen: in flash, no RAM) when their address
is aligned (heap objects always are; a frozen literal is as the C compiler placed it), and
copied once into an array otherwise.
"""
import array

import micropython

from . import mhtab


@micropython.viper
def _misaligned(b, m: int) -> int:
    return int(ptr8(b)) & m  # noqa: F821


def _table(b, code, m):
    return array.array(code, bytes(b)) if _misaligned(b, m) else b


_ENC = _table(mhtab.ENC, "I", 3)
_DEC = _table(mhtab.DEC, "H", 1)
_DEC2 = _table(mhtab.DEC2, "H", 1)
_LZ8 = mhtab.LZ8  # one global look-up per call, not the module's and its attribute's
_SENT = mhtab.SENT


@micropython.viper
def enc(row, out, al: int, st) -> int:
    """Twin of t4py.enc: the row (from where st says) into out from al >> 16, return its end."""
    s = ptr32(st)  # noqa: F821
    r = ptr8(row)  # noqa: F821
    o = ptr8(out)  # noqa: F821
    tab = ptr32(_ENC)  # noqa: F821
    lz8 = ptr8(_LZ8)  # noqa: F821
    sent = ptr8(_SENT)  # noqa: F821
    lim = al & 0xFFFF
    i = s[2]
    colour = s[3]
    run = s[4]
    acc = s[5]
    n = s[6]
    p = al >> 16
    at = p - s[7]  # where the line would have begun in out: p - at is what it holds so far
    nb = s[1] >> 3  # bytes of the row
    ra = int(r)
    w = ptr32(ra)  # noqa: F821  (the row as words: white stretches skipped 32 pixels a step)
    nw = nb - 3 if (ra & 3) == 0 else 0  # aligned words only (ESP32); i < nw: i + 4 <= nb
    while i <= nb:
        if i < nb:
            v = r[i]
            if colour:
                v ^= 0xFF
            if v == 0:
                i += 1
                run += 8
                if colour == 0:
                    while (i & 3) == 0 and i < nw and w[i >> 2] == 0:
                        i += 4
                        run += 32
                continue
            k = 8
        else:
            v = 0x80
            k = 1
        if p >= lim:  # out is full to its margin: the rest of the row (from byte i) next call
            s[2] = i
            s[3] = colour
            s[4] = run
            s[5] = acc
            s[6] = n
            s[7] = p - at
            return -p
        i += 1
        while True:
            z = lz8[v]
            if z >= k:
                run += k
                break
            run += z
            while run > 2623:
                e = tab[128 + colour * 41 + 40]
                acc |= (e >> 4) << n
                n += e & 15
                run -= 2560
                while n >= 8:
                    o[p] = acc & 0xFF
                    p += 1
                    acc >>= 8
                    n -= 8
            if run > 63:
                e = tab[128 + colour * 41 + (run >> 6)]
                acc |= (e >> 4) << n
                n += e & 15
                run &= 63
                while n >= 8:
                    o[p] = acc & 0xFF
                    p += 1
                    acc >>= 8
                    n -= 8
            e = tab[(colour << 6) + run]
            acc |= (e >> 4) << n
            n += e & 15
            while n >= 8:
                o[p] = acc & 0xFF
                p += 1
                acc >>= 8
                n -= 8
            run = 0
            colour ^= 1
            k -= z
            v = (((v << z) ^ 0xFF) & 0xFF) | sent[k]
            if i > nb:
                break
    need = (p - at) * 8 + n + 12
    if need < s[0]:
        need = s[0]
    end = ((need + 7) >> 3) + at
    if n:
        o[p] = acc
        p += 1
    while p < end:
        o[p] = 0
        p += 1
    o[end - 1] = o[end - 1] | 0x80
    if s[2]:  # the line was coded in pieces: the state back to a new line's (all 0)
        s[2] = 0
        s[3] = 0
        s[4] = 0
        s[5] = 0
        s[6] = 0
        s[7] = 0
    return end


@micropython.viper
def rev(buf, i: int, n: int):
    """Twin of t4py.rev: reverse the bit order of buf[i:n] in place."""
    b = ptr8(buf)  # noqa: F821
    t = ptr8(mhtab.REV)  # noqa: F821
    while i < n:
        b[i] = t[b[i]]
        i += 1


@micropython.viper
def copy(dst, doff: int, src, sn: int) -> int:
    """dst[doff:doff+n] = src[soff:soff+n] with sn = soff << 16 | n, no allocation."""
    d = ptr8(dst)  # noqa: F821
    s = ptr8(src)  # noqa: F821
    soff = sn >> 16
    n = sn & 0xFFFF
    i = 0
    while i < n:
        d[doff + i] = s[soff + i]
        i += 1
    return n


@micropython.viper
def dec(state, data, pos: int, row) -> int:
    """Twin of t4py.dec (same state array layout, see t4dec)."""
    st = ptr32(state)  # noqa: F821
    d = ptr8(data)  # noqa: F821
    rw = ptr8(row)  # noqa: F821
    dc = ptr16(_DEC)  # noqa: F821
    dc2 = ptr16(_DEC2)  # noqa: F821
    lz8 = ptr8(mhtab.LZ8)  # noqa: F821
    rv = ptr8(mhtab.REV)  # noqa: F821
    acc = st[0]
    n = st[1]
    mode = st[2]
    colour = st[3]
    x = st[4]
    zc = st[5]
    pend = st[6]
    codes = st[7]
    bad = st[8]
    width = st[10]
    msb = st[11]
    fill = st[12]
    end = st[13]
    ev = 0
    while True:
        while n < 16 and pos < end:
            b = d[pos]
            if msb:
                b = rv[b]
            acc |= b << n
            n += 8
            pos += 1
        if mode == 0:
            e = dc[(colour << 8) | (acc & 0xFF)]
            ln = e >> 12
            if ln == 0:
                e = dc2[(e & 0xFFF) + ((acc >> 8) & 31)]
                ln = e >> 12
                if ln == 15:
                    if n < 13:
                        break
                    bad = 1
                    mode = 2
                    zc = 0
                    continue
            if ln <= 13:
                if ln > n:
                    break
                acc >>= ln
                n -= ln
                run = e & 0xFFF
                codes += 1
                if x + run > width:
                    bad = 1
                    mode = 2
                    zc = 0
                    continue
                if colour and fill and run:
                    a = x
                    b = x + run
                    ia = a >> 3
                    ib = b >> 3
                    if ia == ib:
                        rw[ia] = rw[ia] | ((0xFF >> (a & 7)) & (0xFF00 >> (b & 7)))
                    else:
                        rw[ia] = rw[ia] | (0xFF >> (a & 7))
                        ia += 1
                        while ia < ib:
                            rw[ia] = 0xFF
                            ia += 1
                        if b & 7:
                            rw[ib] = rw[ib] | ((0xFF00 >> (b & 7)) & 0xFF)
                x += run
                if run < 64:
                    colour ^= 1
                    pend = 0
                else:
                    pend = 1
            elif n < 8:
                break
            elif ln == 14:
                acc >>= 8
                n -= 8
                zc = 8
                mode = 1
            else:
                bad = 1
                mode = 2
                zc = 0
        else:
            if n == 0:
                break
            low = acc & 0xFF
            if low == 0:
                k = 8
                if n < 8:
                    k = n
                zc += k
                acc >>= k
                n -= k
                continue
            t = lz8[rv[low]]  # trailing zero bits
            zc += t
            acc >>= t + 1
            n -= t + 1
            if zc >= 11:
                mode = 0
                zc = 0
                ev = 1
                break
            if mode == 1:
                bad = 1
                mode = 2
            zc = 0
    st[0] = acc
    st[1] = n
    st[2] = mode
    st[3] = colour
    st[4] = x
    st[5] = zc
    st[6] = pend
    st[7] = codes
    st[8] = bad
    st[9] = ev
    return pos


@micropython.viper
def p1row(chunk, state, row):
    """Twin of t4py.p1row (same state array layout, see pbm)."""
    c8 = ptr8(chunk)  # noqa: F821
    st = ptr32(state)  # noqa: F821
    r = ptr8(row)  # noqa: F821
    pos = st[0]
    end = st[1]
    x = st[2]
    w = st[3]
    keep = st[4]
    while pos < end and x < w:
        c = c8[pos]
        pos += 1
        if c == 0x31:
            if x < keep:
                r[x >> 3] = r[x >> 3] | (0x80 >> (x & 7))
            x += 1
        elif c == 0x30:
            x += 1
        elif c != 0x20 and c != 0x0A and c != 0x0D and c != 0x09:
            st[5] = 1
            break
    st[0] = pos
    st[2] = x
