"""Long randomised sessions of the member engine (hypothesis): no exception, no route left in
use after its report or time-over, every held telegram sent once the peer is back."""
from hypothesis import given, settings, strategies as st

from faxbridge.core.cafis import engine, origin
from cafis_session_helpers import tg

KINDS = {"send", "hold", "discard", "ignore", "deliver", "to_terminal", "terminal_error", "wait", "time_over",
         "give_up", "restart", "online", "stop", "fault", "error", "investigate", "abandon", "release",
         "hold_request", "drop"}
CODES = ["C01", "C03", "C12", "C13", "C14", "C15", "C33", "C50", "C51", "C56", "C58", "C60", "C99"]
CFG = {"initial": "online", "routes": ["0100-0103"], "t_report": 5, "t_fault": 4, "t_control": 3, "t_hold": 6,
       "t_retry": 2, "t_resend": 2, "max_recommands": 2, "max_retries": 2, "max_held": 64}
ANSWER = {"request": "0110", "cancel": "9110", "cancel_confirm": "9310"}

_request = st.tuples(st.just("request"), st.integers(0, 999))
_advance = st.tuples(st.just("advance"), st.floats(0, 12))
op = st.one_of(
    _request, _request, _request, _advance, _advance,
    st.tuples(st.just("cafis"), st.sampled_from(["8000", "8000", "7000+7030"])),
    st.tuples(st.just("report"), st.integers(0, 3)),
    st.tuples(st.just("abnormal"), st.integers(0, 3), st.sampled_from(CODES)),
    st.tuples(st.just("cafis"), st.sampled_from(["7000", "7030", "0700", "0730", "8000", "9210"])),
    st.tuples(st.just("dest_request"), st.integers(0, 5)),
    st.tuples(st.just("reply"), st.integers(0, 5)),
    st.tuples(st.just("send_failed"), st.integers(0, 5)),
    st.tuples(st.just("terminal_failed"), st.integers(0, 5)),
    st.tuples(st.just("control"), st.sampled_from(["7020", "0720", "9210"])),
    st.tuples(st.just("peer"), st.booleans()),
    st.tuples(st.just("advance"), st.floats(0, 12)),
    st.tuples(st.just("garbage"), st.binary(max_size=80)),
)


class Driver:
    def __init__(self):
        self.m = engine.Member(CFG)
        self.now = 0.0
        self.sent = []        # telegrams sent, most recent last
        self.reports = []     # general reports delivered to terminals
        self.log = []

    def apply(self, effs):
        m = self.m
        for e in effs:
            assert isinstance(e, tuple) and len(e) == 5 and e[0] in KINDS, e
            if e[0] == "send":
                self.sent.append(e[2])
            if e[0] == "to_terminal" and e[2][43:47] == b"0110":
                self.reports.append(e[2])
        # a route freed by its report or given up stays free unless the same effects reuse it
        sends = set(e[1] for e in effs if e[0] == "send")
        for e in effs:
            if e[0] in ("to_terminal", "give_up", "abandon") or (e[0] == "terminal_error" and e[1]):
                if e[1] not in sends:
                    assert e[1] not in m.routes, (e, m.describe())
            if e[0] == "time_over" and e[1] != b"0000" and e[1] not in sends:
                assert e[1] not in m.routes, (e, m.describe())
        for r, p in m.routes.items():
            assert m.holds_route(r) and p.deadline is not None, m.describe()
        assert len(m.held) <= CFG["max_held"]
        self.log.append(effs)
        return effs

    def pending(self, i):
        rs = sorted(self.m.routes)
        return (rs[i % len(rs)], self.m.routes[rs[i % len(rs)]]) if rs else (None, None)

    def run(self, o):
        m = self.m
        k = o[0]
        now = self.now
        if k == "request":
            self.apply(m.send(now, tg("0100", "    ", b"CARD", seq="%06d" % o[1]), o[1]))
        elif k in ("report", "abnormal"):
            r, p = self.pending(o[1])
            if p is None:
                return
            t = p.tg
            if k == "report":
                rep = m.roles.with_trailer(m.roles.with_type(t, ANSWER[p.kind].encode()), b"OK")
            else:
                mt = b"9900"
                if p.kind != "request" and o[2] in ("C13", "C14", "C50"):
                    mt = ANSWER[p.kind].encode()
                rep = m.roles.with_trailer(m.roles.with_type(t, mt), o[2].encode())
            self.apply(m.receive(now, rep))
        elif k == "cafis":
            for mt in o[1].split("+"):
                self.apply(m.receive(now, tg(mt, "0001")))
        elif k == "dest_request":
            self.apply(m.receive(now, tg("0100", "02%02d" % o[1], b"CARD", cafis_seq="000001")))
        elif k == "reply":
            rs = sorted(m.dest)
            if rs:
                self.apply(m.reply(now, rs[o[1] % len(rs)], b"0110", b"OK"))
        elif k == "send_failed":
            if self.sent:
                self.apply(m.send_failed(now, self.sent[-1 - o[1] % len(self.sent)]))
        elif k == "terminal_failed":
            if self.reports:
                self.apply(m.terminal_failed(now, self.reports[-1 - o[1] % len(self.reports)], "T"))
        elif k == "control":
            self.apply(m.send(now, tg(o[1], "0000", seq="000000")))
        elif k == "peer":
            self.apply(m.peer_up(now) if o[1] else m.peer_down(now))
        elif k == "advance":
            self.now += o[1]
            self.apply(m.poll(self.now))
        elif k == "garbage":
            self.apply(m.receive(now, o[1]))
            self.apply(m.send(now, o[1]))
            self.apply(m.send_failed(now, o[1]))

    def bring_peer_back(self):
        """CAFIS back and (re)started: telegrams held for "after the online start" go too."""
        m = self.m
        effs = self.apply(m.peer_up(self.now))
        effs += self.apply(m.receive(self.now, tg("7000", "0001")))
        return effs + self.apply(m.receive(self.now, tg("7030", "0001")))

    def settle(self, answer):
        """Let time run (answering what is sent when `answer`) until nothing is pending."""
        m = self.m
        for _ in range(500):
            if answer and m.control is not None:
                k = m.control.kind
                seq = {"line_check": ["9211"], "restart_req": ["7000", "7030"],
                       "end_req": ["0700", "0730", "7000", "7030"]}[k]
                for mt in seq:
                    self.apply(m.receive(self.now, tg(mt, "0000" if mt == "9211" else "0001", seq="000000")))
            if answer:
                for r in sorted(m.routes):
                    p = m.routes[r]
                    rep = m.roles.with_trailer(m.roles.with_type(p.tg, ANSWER[p.kind].encode()), b"OK")
                    self.apply(m.receive(self.now, rep))
            d = m.next_deadline()
            if d is None:
                return
            self.now = max(self.now, d)
            self.apply(m.poll(self.now))
        raise AssertionError("the session never settles: " + m.describe())


@settings(max_examples=300, deadline=None)
@given(st.lists(op, min_size=60, max_size=200))
def test_random_session_settles_and_sends_every_held_telegram(ops):
    d = Driver()
    for o in ops:
        d.run(o)
    m = d.m
    held = [p.tg for p in m.held.items]
    since = len(d.log)
    back = d.bring_peer_back()
    assert m.mode == m.ONLINE, m.describe()
    d.settle(answer=True)
    # every telegram held before the peer came back was sent since (a request may go out on
    # another route, or end with an error to its terminal when no route is free)
    assert back
    sent_after = [e[2] for effs in d.log[since:] for e in effs if e[0] == "send"]
    for h in held:
        same = [s for s in sent_after if s == h or (s[4:] == h[4:] and h[43:47] == b"0100")]
        errs = [e for effs in d.log[since:] for e in effs if e[0] in ("terminal_error", "drop") and e[2] and
                e[1] in (h[0:4], None)]
        assert same or errs, (h, m.describe())
    assert len(m.held) == 0 and not m.routes and m.control is None, m.describe()


@settings(max_examples=200, deadline=None)
@given(st.lists(op, min_size=30, max_size=120))
def test_random_session_without_answers_gives_up_and_frees_every_route(ops):
    d = Driver()
    for o in ops:
        d.run(o)
    d.bring_peer_back()
    d.settle(answer=False)
    m = d.m
    assert not m.routes and m.control is None and m.next_deadline() is None, m.describe()


def test_reaction_table_is_total():
    for code in CODES:
        for fault in (False, True):
            assert origin.reaction(code, fault)[0] in (origin.ABORT, origin.END, origin.RETRY, origin.RETRY_ONCE,
                                                       origin.AFTER_START, origin.RESTART)
