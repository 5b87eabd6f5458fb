"""Plain-Python twins of the page-data loops (framing.py documents them; framefast.py has
the viper ones MicroPython runs)."""


def stuff(st, src, dst, cap):
    i = st[0]
    n = st[1]
    o = st[2]
    while i < n and o < cap:
        b = src[i]
        i += 1
        dst[o] = b
        o += 1
        if b == 0x10:
            dst[o] = b
            o += 1
    st[0] = i
    st[2] = o


def unstuff(st, src, dst, cap):
    i = st[0]
    n = st[1]
    o = st[2]
    f = st[3]
    while i < n and o < cap:
        b = src[i]
        i += 1
        if f & 1:
            f &= ~1
            if b == 0x03:
                f |= 2
                break
            if b == 0x10:
                dst[o] = b
                o += 1
            elif b == 0x1A:
                dst[o] = 0x10
                dst[o + 1] = 0x10
                o += 2
        elif b == 0x10:
            f |= 1
        else:
            dst[o] = b
            o += 1
    st[0] = i
    st[2] = o
    st[3] = f
