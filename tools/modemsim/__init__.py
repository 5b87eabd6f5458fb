"""modemsim: a simulated Class 2 / Class 2.0 fax modem on pseudo-terminals, a virtual telephone line
and a built-in remote fax machine. See docs/modemsim.md.

    from modemsim import Line, ModemConfig, Faults
    with Line(speedup=1.0, log_dir="build/modemsim") as line:
        a = line.add_modem("5550101", link="/tmp/ttyFAX0")
        r = line.add_remote("5551234", out_dir="build/rx")
        ...                       # point fax software at a.path
"""
from .faults import Faults
from .line import Call, Line
from .config import ModemConfig
from .modem import Modem
from .remote import OutgoingFax, RemoteFax, load_page

__all__ = ["Line", "Call", "Modem", "ModemConfig", "Faults", "RemoteFax", "OutgoingFax", "load_page"]
