"""ModemConfig: the real-modem behaviours of a simulated modem as switches (docs/modemsim.md,
"ModemConfig"), and their CLI spelling."""
from . import params as P
from . import t32


class ModemConfig:
    """Real-modem behaviours as switches (defaults: what efax and mgetty expect)."""

    def __init__(self, rx_bit_order=None, xon_after_connect=None, rx_trigger="dc2", append_rtc=True,
                 fpts_on_last=True, fdt_ok_first=0, fpts_fields=2, caps=P.DEFAULT_CAPS, fcr=0,
                 manufacturer="FAXBRIDGE LAB", model="MODEMSIM CLASS2", revision="1.0",
                 identity="FAXBRIDGE MODEMSIM Class 2 simulator", xoff_high=1536, xon_low=256,
                 always_echo=False, ring_in_command=0, log_path=None, fclass="2"):
        assert rx_bit_order in (None, "msb", "lsb", "fbor")
        assert rx_trigger in ("dc2", "dc1", "either")
        assert fclass in t32.PERSONALITIES, "fclass must be one of %s" % ", ".join(t32.PERSONALITIES)
        self.fclass = fclass                  # personality: "2" (pre-standard), "2.0" (T.32) or "both"
        # None: the personality's own convention. Class 2: msb (Rockwell) and XON after
        # CONNECT; Class 2.0: per +FBO and no XON (T.32 has none; efax and mgetty skip the wait)
        self.rx_bit_order = rx_bit_order      # data to the DTE: msb (Rockwell), lsb, or per +FBOR/+FBO
        self.xon_after_connect = xon_after_connect
        self.rx_trigger = rx_trigger          # which byte starts reception after CONNECT to +FDR
        self.append_rtc = append_rtc          # add RTC when the DTE's page has none
        self.fpts_on_last = fpts_on_last      # +FPTS:1 before +FHNG:0 on the last page
        self.fdt_ok_first = fdt_ok_first      # answer the first n AT+FDT of a page with OK
        self.fpts_fields = fpts_fields        # receive +FPTS:<ppr>,<lc> (2, the seed) or 4 fields
        self.caps = tuple(caps)               # +FDCC default
        self.fcr = fcr                        # +FCR default (0: cannot receive until AT+FCR=1)
        self.manufacturer = manufacturer
        self.model = model
        self.revision = revision
        self.identity = identity
        self.xoff_high = xoff_high            # +FDT data buffered before XOFF
        self.xon_low = xon_low                # ... and drained to before XON
        self.always_echo = always_echo        # ATE0 is accepted but ignored: echo stays on
        self.ring_in_command = ring_in_command  # n > 0: a RING line inside every n-th command's response
        self.log_path = log_path

    @classmethod
    def from_spec(cls, spec):
        """'rx_bit_order=lsb,xon_after_connect=0,...' (CLI) -> ModemConfig."""
        kw = {}
        for item in (spec or "").split(","):
            if not item.strip():
                continue
            k, _, v = item.partition("=")
            k = k.strip()
            if k in ("xon_after_connect", "append_rtc", "fpts_on_last", "always_echo"):
                kw[k] = v.strip().lower() in ("1", "true", "yes", "on")
            elif k in ("fdt_ok_first", "fpts_fields", "fcr", "xoff_high", "xon_low", "ring_in_command"):
                kw[k] = int(v)
            elif k == "caps":
                kw[k] = tuple(int(x) for x in v.split(":"))
            else:
                kw[k] = v.strip()
        return cls(**kw)
