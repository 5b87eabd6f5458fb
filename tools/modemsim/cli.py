"""Command line: modems and remote fax machines on one virtual line.

    python tools/modemsim --modem 5550101:/tmp/ttyFAX0 --remote 5551234:build/rx \
        --fault 5551234:ppr=2@1 --log-dir build/modemsim

Prints one line per number ("modem 5550101 /dev/pts/7 -> /tmp/ttyFAX0") and a READY line,
then runs until SIGINT/SIGTERM, --duration, or `quit` on stdin. Commands on stdin:
    call <remote-number> <to-number> <page.g3|page.pbm>...   the remote machine sends a fax
    fault <number> <spec>                                    faults for every call (spec "" clears)
    once <number> <spec>                                     faults for the next call only
    status                                                   calls so far (one JSON line each)
    quit
"""
import argparse
import json
import select
import signal
import sys
import time

from .faults import Faults
from .line import Line
from .config import ModemConfig


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="modemsim",
                                 description="Simulated Class 2 / Class 2.0 fax modems on pseudo-terminals.")
    ap.add_argument("--modem", action="append", default=[], metavar="NUMBER[:LINK]",
                    help="a simulated modem with this phone number; LINK is a stable symlink to its pty")
    ap.add_argument("--remote", action="append", default=[], metavar="NUMBER[:OUTDIR]",
                    help="a built-in remote fax machine; received pages go to OUTDIR as .g3 (MSB-first)")
    ap.add_argument("--csi", default="+1 555 0100", help="station id of the remote machines")
    ap.add_argument("--fault", action="append", default=[], metavar="NUMBER:SPEC",
                    help="faults for every call to/from NUMBER, e.g. 5551234:busy or 5551234:hangup=54")
    ap.add_argument("--config", action="append", default=[], metavar="NUMBER:SPEC",
                    help="modem switches, e.g. 5550101:rx_bit_order=lsb,xon_after_connect=0,rx_trigger=dc1 "
                         "or 5550101:fclass=2.0 (a Class 2.0 modem)")
    ap.add_argument("--speedup", type=float, default=1.0, help="line rate multiplier (1 = real time)")
    ap.add_argument("--ring-interval", type=float, default=1.0, help="seconds between RINGs")
    ap.add_argument("--log-dir", default=None, help="write AT transcripts (one file per number) here")
    ap.add_argument("--call", action="append", default=[], metavar="REMOTE:TO:PAGE[,PAGE...]",
                    help="after --call-after seconds the remote machine REMOTE calls TO and sends the pages")
    ap.add_argument("--call-after", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: run until stopped)")
    ap.add_argument("--no-stdin", action="store_true", help="do not read commands from stdin")
    return ap.parse_args(argv)


def _split(item, n):
    parts = item.split(":", n - 1)
    return parts + [""] * (n - len(parts))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.modem and not args.remote:
        print("modemsim: give at least one --modem or --remote", file=sys.stderr)
        return 2
    configs = {}
    for item in args.config:
        num, spec = _split(item, 2)
        configs[num] = spec
    line = Line(speedup=args.speedup, log_dir=args.log_dir, ring_interval=args.ring_interval)
    line.start()
    try:
        for item in args.modem:
            num, link = _split(item, 2)
            cfg = ModemConfig.from_spec(configs.get(num, ""))
            m = line.add_modem(num, link=link or None, config=cfg)
            print("modem %s %s%s" % (num, m.path, (" -> " + link) if link else ""), flush=True)
        for item in args.remote:
            num, out = _split(item, 2)
            line.add_remote(num, out_dir=out or None, csi=args.csi)
            print("remote %s %s" % (num, out or "-"), flush=True)
        for item in args.fault:
            num, spec = _split(item, 2)
            line.set_faults(num, Faults.parse(spec))
        jobs = []
        if args.call:
            time.sleep(args.call_after)
            for item in args.call:
                rem, to, pages = _split(item, 3)
                jobs.append(line.endpoints[rem].send_fax(to, pages.split(",")))
        print("READY", flush=True)
        stop = []
        signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
        t_end = time.monotonic() + args.duration if args.duration else None
        use_stdin = not args.no_stdin and sys.stdin is not None and not sys.stdin.closed
        while not stop:
            if t_end and time.monotonic() >= t_end:
                break
            if use_stdin:
                r, _, _ = select.select([sys.stdin], [], [], 0.2)
                if r:
                    cmd = sys.stdin.readline()
                    if not cmd:
                        use_stdin = False
                        continue
                    if _command(line, cmd.split(), jobs) == "quit":
                        break
            else:
                time.sleep(0.2)
            for j in list(jobs):
                if j.done.is_set():
                    print("fax %s: %s pprs=%s" % (j.number, j.result, j.pprs), flush=True)
                    jobs.remove(j)
    except KeyboardInterrupt:
        pass
    finally:
        line.stop()
    return 0


def _command(line, words, jobs):
    if not words:
        return None
    try:
        if words[0] == "quit":
            return "quit"
        if words[0] == "call" and len(words) >= 4:
            jobs.append(line.endpoints[words[1]].send_fax(words[2], words[3:]))
            print("calling %s from %s" % (words[2], words[1]), flush=True)
        elif words[0] in ("fault", "once") and len(words) >= 2:
            spec = " ".join(words[2:])
            (line.set_faults if words[0] == "fault" else line.fault_next_call)(words[1], Faults.parse(spec))
            print("faults %s: %r" % (words[1], Faults.parse(spec)), flush=True)
        elif words[0] == "status":
            for c in line.calls:
                print(json.dumps(c.summary()), flush=True)
        else:
            print("commands: call REMOTE TO PAGES... | fault NUMBER SPEC | once NUMBER SPEC | status | quit",
                  flush=True)
    except (KeyError, ValueError, OSError, RuntimeError) as e:
        print("error: %s" % e, flush=True)
    return None


