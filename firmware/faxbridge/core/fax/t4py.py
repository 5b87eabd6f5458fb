"""The T.4 hot loops in plain Python: the runtime's loops on CPython, and the originals of the
viper twins in t4fast.py (same names, same algorithms, same tables; host_tests/core/
test_t4_twins.py checks they give the same bytes). On MicroPython this module is imported only
by tests and tools/bench/t4.py (its loops put in t4, Decoder(step=t4py.dec)): the board never
carries it (tools/build.py skips the CPython branch of t4.py, t4dec.py and pbm.py).

    enc(row, out, at << 16 | lim, st) -> end   a coded line (MH data, fill, EOL), in pieces
    rev(buf, i, n)                          bit order of buf[i:n] reversed in place
    copy(dst, doff, src, soff << 16 | n) -> n
    dec(state, data, pos, row) -> pos       decoder step (state layout: t4dec)
    p1row(chunk, state, row)                P1 digits into a row (state layout: pbm)
    BytesRows(data, width)                  rows from a bytes-like bitmap (tests, tools)
"""
import array

from . import mhtab


def _words(code, b):
    # a packed table of mhtab as an array of little-endian 16/32-bit words
    try:
        a = array.array(code)
        a.frombytes(b)  # CPython
    except AttributeError:
        a = array.array(code, b)  # MicroPython copies the raw bytes
    return a


_ENC = _words("I", mhtab.ENC)
_DEC = _words("H", mhtab.DEC)
_DEC2 = _words("H", mhtab.DEC2)


def enc(row, out, al, st):
    """Code the row (from where st, t4.py's coder state, says) into out from al >> 16 on,
    stopping before an input byte once al & 0xFFFF is reached: MH data, and once the row is
    done fill and EOL. Returns where the bytes written end; negated while the line is not
    whole (the next call goes on from where this one stopped)."""
    tab = _ENC
    lz8 = mhtab.LZ8
    sent = mhtab.SENT
    lim = al & 0xFFFF
    i = st[2]
    colour = st[3]
    run = st[4]
    acc = st[5]
    n = st[6]
    p = al >> 16
    at = p - st[7]  # where the line would have begun in out: p - at is what it holds so far
    nb = st[1] >> 3  # bytes of the row
    while i <= nb:
        if i < nb:
            v = row[i]
            if colour:
                v ^= 0xFF
            if v == 0:
                i += 1
                run += 8
                continue
            k = 8
        else:
            v = 0x80  # the end of the line: close the last run
            k = 1
        if p >= lim:  # out is full to its margin: the rest of the row (from byte i) next call
            st[2] = i
            st[3] = colour
            st[4] = run
            st[5] = acc
            st[6] = n
            st[7] = p - at
            return -p
        i += 1
        while True:
            z = lz8[v]
            if z >= k:
                run += k
                break
            run += z
            # code the run (T.4 4.1.1: make-up then terminating code)
            while run > 2623:
                e = tab[128 + colour * 41 + 40]
                acc |= (e >> 4) << n
                n += e & 15
                run -= 2560
                while n >= 8:
                    out[p] = acc & 0xFF
                    p += 1
                    acc >>= 8
                    n -= 8
            if run > 63:
                e = tab[128 + colour * 41 + (run >> 6)]
                acc |= (e >> 4) << n
                n += e & 15
                run &= 63
                while n >= 8:
                    out[p] = acc & 0xFF
                    p += 1
                    acc >>= 8
                    n -= 8
            e = tab[(colour << 6) + run]
            acc |= (e >> 4) << n
            n += e & 15
            while n >= 8:
                out[p] = acc & 0xFF
                p += 1
                acc >>= 8
                n -= 8
            run = 0
            colour ^= 1
            k -= z
            v = ((((v << z) ^ 0xFF) & 0xFF) | sent[k])
            if i > nb:
                break
    # fill and EOL: zeros so the line has minbits and the EOL's 1 is a byte's last bit
    need = (p - at) * 8 + n + 12
    if need < st[0]:
        need = st[0]
    end = ((need + 7) >> 3) + at
    if n:
        out[p] = acc
        p += 1
    while p < end:
        out[p] = 0
        p += 1
    out[end - 1] = out[end - 1] | 0x80
    if st[2]:  # the line was coded in pieces: the state back to a new line's (all 0)
        st[2] = 0
        st[3] = 0
        st[4] = 0
        st[5] = 0
        st[6] = 0
        st[7] = 0
    return end


def rev(buf, i, n):
    r = mhtab.REV
    for i in range(i, n):
        buf[i] = r[buf[i]]


def copy(dst, doff, src, sn):
    soff = sn >> 16
    n = sn & 0xFFFF
    dst[doff:doff + n] = memoryview(src)[soff:soff + n]
    return n


def dec(st, data, pos, row):
    """Decode data[pos:end] until the chunk is used up or an EOL is read (event set); the
    state array layout is t4dec's. Returns the position reached."""
    dc = _DEC
    dc2 = _DEC2
    lz8 = mhtab.LZ8
    rv = mhtab.REV
    acc = st[0]
    n = st[1]
    mode = st[2]  # 0 data, 1 eight zero bits seen (EOL or error), 2 skipping to the next EOL
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
            b = data[pos]
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
                        row[ia] |= (0xFF >> (a & 7)) & (0xFF00 >> (b & 7))
                    else:
                        row[ia] |= 0xFF >> (a & 7)
                        ia += 1
                        while ia < ib:
                            row[ia] = 0xFF
                            ia += 1
                        if b & 7:
                            row[ib] |= (0xFF00 >> (b & 7)) & 0xFF
                x += run
                if run < 64:
                    colour ^= 1
                    pend = 0
                else:
                    pend = 1
            elif n < 8:
                break
            elif ln == 14:  # eight zero bits: fill and EOL, or an error
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
                k = 8 if n >= 8 else n
                zc += k
                acc >>= k
                n -= k
                continue
            t = lz8[rv[low]]  # trailing zero bits
            zc += t
            acc >>= t + 1
            n -= t + 1
            if zc >= 11:  # EOL
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


def p1row(chunk, st, row):
    """Pack P1 digits from chunk[pos:end] into row until the image row is complete or the
    chunk is used up (the state array layout is pbm's)."""
    pos = st[0]
    end = st[1]
    x = st[2]
    w = st[3]
    keep = st[4]
    while pos < end and x < w:
        c = chunk[pos]
        pos += 1
        if c == 0x31:
            if x < keep:
                row[x >> 3] |= 0x80 >> (x & 7)
            x += 1
        elif c == 0x30:
            x += 1
        elif c != 0x20 and c != 0x0A and c != 0x0D and c != 0x09:
            st[5] = 1
            break
    st[0] = pos
    st[2] = x


class BytesRows:
    """Rows from a bytes-like bitmap (width // 8 bytes a row): for tests and small images."""

    def __init__(self, data, width):
        self.data = data
        self.nb = width >> 3
        self.pos = 0

    def readrow(self, row):
        p = self.pos
        if p + self.nb > len(self.data):
            return False
        row[:] = self.data[p:p + self.nb]
        self.pos = p + self.nb
        return True
