"""Job lifecycle on a scripted modem: -1, -2, -3, final; retries, cancel, quota hold."""
from fax_helpers import Rig, pages_of

from faxbridge.core.fax.job import Runner

OK = "\r\nOK\r\n"
PAGE = b"page"


class JobRig(Rig):
    def __init__(self, jcfg=None, mcfg=None):
        self.st = []
        Rig.__init__(self, mcfg or {"idle_check": 0}, boot=False)
        self.r = Runner(self.m, jcfg)
        self.boot()

    def step(self, dt=0):
        self.t += dt
        self.r.poll(self.t)
        self.pump()
        self.collect()

    def pump(self):
        while True:
            b = self.m.next_output(self.t)
            if not b:
                break
            self.out += bytes(b)

    def say(self, data):
        self.m.feed(data.encode() if isinstance(data, str) else data, self.t)
        self.step()

    def collect(self):
        for kind, info in self.r.events():
            if kind == "status":
                self.st.append(info)

    def codes(self):
        return [s["code"] for s in self.st]

    def dial_to(self, result):
        self.step()
        self.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
        self.say(OK)
        self.expect("ATDT5551234\r")
        self.say("\r\n%s\r\n" % result)
        self.boot_runner()

    def boot_runner(self):
        while self.m.state_name() == "init":
            self.take()
            self.say(OK)


def test_success_path_codes():
    j = JobRig()
    j.r.submit("j1", "5551234", pages_of(PAGE), j.t)
    j.step()
    j.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    j.say(OK)
    j.expect("ATDT5551234\r")
    j.say("\r\n+FCON\r\n" + OK)
    j.expect("AT+FDT\r")
    j.say("\r\nCONNECT\r\n\x11")
    assert j.take() == PAGE + b"\x10\x03"
    j.say(OK)
    j.expect("AT+FET=2\r")
    j.say("\r\n+FPTS:1\r\n\r\n+FHNG:0\r\n" + OK)
    assert j.codes() == [-1, -2, -3, 0]
    last = j.st[-1]
    assert last["final"] and last["category"] == "success" and last["pages"] == 1
    assert last["hangup"][0] == 0 and j.r.jobs == []


def test_busy_is_retried_then_final():
    j = JobRig({"retries": 2, "retry_delay": 60})
    j.r.submit("j1", "5551234", pages_of(PAGE), j.t)
    j.dial_to("BUSY")
    assert j.codes() == [-1, -2, -3, -3]
    assert j.st[-1]["retry_at"] == j.t + 60 and j.st[-1]["modem_code"] == 263
    j.step(59)
    assert j.take() == b""
    j.step(1)
    j.dial_to("NO ANSWER")
    j.step(60)
    j.dial_to("BUSY")
    assert j.codes() == [-1, -2, -3, -3, -3, -3, -3, 263]
    assert j.st[-1]["attempt"] == 3 and j.st[-1]["final"]


def test_not_retryable_outcome_is_final_at_once():
    j = JobRig()
    j.r.submit("j1", "5551234", pages_of(PAGE), j.t)
    j.dial_to("VOICE")
    assert j.codes() == [-1, -2, -3, 3936]


def test_refused_number_final_without_modem():
    j = JobRig()
    j.r.submit("j1", "119", pages_of(PAGE), j.t)
    j.r.submit("j2", "12x", pages_of(PAGE), j.t)
    j.step()
    assert j.codes() == [-1, 6002, -1, 6027] and j.take() == b""


def test_cancel_waiting_and_active_jobs():
    j = JobRig()
    j.r.submit("a", "5551234", pages_of(PAGE), j.t)
    j.r.submit("b", "5551234", pages_of(PAGE), j.t)
    assert j.r.cancel("b", j.t)
    j.collect()
    assert [(s["job"], s["code"]) for s in j.st if s["final"]] == [("b", 403)]
    j.step()
    j.expect("AT+FDIS=1,3,0,2,0,0,0,0\r")
    j.say(OK)
    j.expect("ATDT5551234\r")
    j.say("\r\n+FCON\r\n" + OK)
    j.expect("AT+FDT\r")
    assert j.r.cancel("a", j.t)
    j.step()
    j.say(OK)                              # the modem answers +FDT with OK: we hang up
    j.expect("AT+FK\r")
    j.say("\r\n+FHNG:2\r\n" + OK)
    assert j.st[-1]["job"] == "a" and j.st[-1]["code"] == 403
    assert not j.r.cancel("a", j.t)


def test_quota_hold_release_and_expiry():
    j = JobRig()
    j.r.submit("a", "5551234", pages_of(PAGE), j.t, prepared=False)
    j.r.submit("b", "5551234", pages_of(PAGE), j.t)
    assert j.r.hold("b", j.t)
    j.r.prepared("a", j.t)
    assert j.r.hold("a", j.t)
    j.step(3600)
    assert j.take() == b""                 # held jobs are not dialled
    assert j.r.release("a", j.t)
    j.step(86400 - 3600)
    codes = [(s["job"], s["code"]) for s in j.st]
    assert ("b", -22) in codes and ("b", 205000) in codes and ("a", -2) in codes


def test_image_error_and_dead_modem_wait_limit():
    j = JobRig({"ready_timeout": 100})
    j.r.submit("a", "5551234", pages_of(PAGE), j.t, prepared=False)
    j.r.image_error("a", j.t, "bad PBM")
    j.collect()
    assert j.codes() == [-1, 204000]
    j.m.state = 4                          # the modem is being reset (not ready)
    j.r.submit("b", "5551234", pages_of(PAGE), j.t)
    j.step(50)
    assert j.r.deadline(j.t) is not None
    j.step(51)
    assert j.st[-1]["job"] == "b" and j.st[-1]["code"] == 205001
