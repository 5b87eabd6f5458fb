"""Viper twins of framepy.py's loops (MicroPython only; same state array, same bytes; framing.py
documents them)."""
import micropython


@micropython.viper
def stuff(st, src, dst, cap: int):
    s = ptr32(st)  # noqa: F821
    a = ptr8(src)  # noqa: F821
    d = ptr8(dst)  # noqa: F821
    i = s[0]
    n = s[1]
    o = s[2]
    while i < n and o < cap:
        b = a[i]
        i += 1
        d[o] = b
        o += 1
        if b == 0x10:
            d[o] = b
            o += 1
    s[0] = i
    s[2] = o


@micropython.viper
def unstuff(st, src, dst, cap: int):
    s = ptr32(st)  # noqa: F821
    a = ptr8(src)  # noqa: F821
    d = ptr8(dst)  # noqa: F821
    i = s[0]
    n = s[1]
    o = s[2]
    f = s[3]
    while i < n and o < cap:
        b = a[i]
        i += 1
        if f & 1:
            f = f & 2
            if b == 0x03:
                f = f | 2
                break
            if b == 0x10:
                d[o] = b
                o += 1
            elif b == 0x1A:
                d[o] = 0x10
                d[o + 1] = 0x10
                o += 2
        elif b == 0x10:
            f = f | 1
        else:
            d[o] = b
            o += 1
    s[0] = i
    s[2] = o
    s[3] = f
