"""The MQTT link's receiving side: commands streamed in, each answered exactly once
(docs/mqtt.md "Receiving", "Commands", "Exactly one answer").

Inbox is the receiving half of app/link.Link (its base class: one object, the session's
receiver, session.rx): _reader() feeds the session what the socket gives, and the session calls
on_publish_start / chunk / end for each PUBLISH. A cmd/fax goes piece by piece to
faxcmd.Parser and the spool; cancel and telegram are kept whole in the link's socket buffer
(see _keep); the handler (link.on_command) runs at the last byte and its answer goes to the
outbox (link.event) before on_publish_end says PUBACK. With no room for an answer
(link.has_room()) the command and everything after it are held (no PUBACK) until the link
reconnects. Answered commands are remembered in the seen window (app/seen.py).
Uses of the link's own: root, rxbuf, session, outbox, verify (the echo check, app/echo.py),
default_sender, on_command, clock, _wake, _rx_err, event(), has_room().
"""
import binascii

from micropython import const

from faxbridge.app import echo
from faxbridge.core.mqtt import commands, contract, outbox

# what the inbox does with the PUBLISH being received (_k)
_DROP = const(0)      # not for us, or nothing to do: acknowledge
_ECHO = const(1)      # one of our own publishes coming back (verify)
_HOLD = const(2)      # no room for an answer: no PUBACK on this connection
_SMALL = const(3)     # cmd/cancel, cmd/telegram: kept whole in the socket buffer
_FAX = const(4)       # cmd/fax: to faxcmd.Parser and the spool
_ERR = const(5)       # refused before its payload: answered at its end
_ECHO_KEEP = const(100)  # an event payload's head up to its seq (unit ids are <= 64)
_ECHO_ROOM = const(512)  # room left behind an echo's head kept in place for the reads after it


class Inbox:
    def __init__(self, seen=None, spool=None):
        self.seen = seen          # app/seen.Seen or None (then redeliveries are not recognised)
        self.spool = spool        # app/spool.Spool for cmd/fax, or None (cmd/fax refused)
        # a whole cancel or telegram (or an echo's head) is kept in the link's socket buffer,
        # where it was read (see on_publish_chunk); the link reads on after the first `keep`
        # bytes of it. at/end: where in it the socket data being fed lies (-1: fed from elsewhere)
        self.mv = memoryview(self.rxbuf)
        self.keep = 0
        self.at = -1
        self.end = 0
        self._p = 0               # where the payload kept starts in buf
        self._body = None         # ... or the chunk that held it whole
        self._total = 0
        self.held = 0             # commands held off (no room for their answer)
        self.redelivered = 0      # redeliveries acknowledged without a second answer
        self.holding = False      # no PUBACK until the next connection
        self.ans = 0              # 1: a command's handler runs (its first event is the answer),
        #                           2: and it has answered; 0: no handler runs
        # the PUBLISH being received
        self._k = _DROP
        self._sfx = None          # its topic suffix (str: an echo's, a command's constant, words)
        self._n = 0
        self._crc = 0
        self._err = None
        self._dup = False
        self._ups = 0             # the session's connections the seen window has been told of
        self._pid = 0
        self._retain = False
        self._route = None        # a telegram's sender
        self._rk = None           # a telegram's ref (the seen window's key set for it: set_key)
        self._fp = None

    async def _reader(self, c):
        """The connection's reader task: socket reads into rxbuf, fed to the session (after
        the first `keep` bytes while a command is kept there, see _keep)."""
        sess = self.session
        buf = self.rxbuf
        mv = self.mv
        try:
            while True:
                k = self.keep   # the start of a command being received: read on behind it
                n = await c.readinto(mv[k:] if k else buf)
                if n is None:
                    continue  # readable but no application data yet (a TLS record)
                if not n:
                    break
                self.at = k
                self.end = k + n
                sess.feed(mv[k:k + n], self.clock.ms())
                self.at = -1
                self._wake.set()
            self._rx_err = "connection closed by the broker"
        except Exception as e:
            self._rx_err = "read failed: %r" % (e,)
        self._wake.set()

    def on_publish_start(self, topic, total, retain, dup, pid):
        self._k = _DROP
        self._retain = retain
        self._n = 0
        self.keep = 0
        self._total = total
        self._body = None
        if self.holding:
            self._k = _HOLD
            return
        r = self.root
        o = len(r)
        if topic is not None:
            if len(topic) <= o or not commands.at(topic, 0, r):
                return
            # one of our own publishes (an event topic, cmd/error): decoded for the echo
            # check; a command is read in place (below)
            if not commands.at(topic, o, b"cmd/") or commands.at(topic, o, b"cmd/error") \
                    and len(topic) == o + 9:
                try:
                    self._sfx = str(topic[o:], "utf-8")
                    self._retain = False
                    if self.verify:
                        self._k = _ECHO
                    return
                except UnicodeError:
                    pass    # refused as a command topic (not UTF-8)
        self._crc = binascii.crc32(topic) if topic is not None else 0
        self._dup = dup
        self._pid = pid
        sn = self.seen
        if sn is not None:
            while self._ups != self.session.ups:   # new connections since the last command
                self._ups += 1
                sn.connected()
        self._err = None
        self._sfx = None          # the command's topic suffix: a constant, or words (refused)
        self._route = None        # a telegram's sender
        self._rk = None           # a telegram's ref (str); the seen window's key set for it
        if not total:
            # clearing a retained command: no answer at all. MQTT 3.1.1 clears the retain flag
            # on delivery to an existing subscription (3.3.1.3), so every empty command is one
            return
        if not self.has_room():
            self._k = _HOLD
            self.holding = True
            self.held += 1
            return
        self._k = _ERR
        try:
            if topic is None or retain:
                self._sfx = commands.suffix(topic, o)   # (None: refused there)
                raise commands.CommandError(commands.REJECTED, "retained %s refused: commands must"
                                            " not be retained (clear it: publish an empty retained"
                                            " message)" % self._sfx)
            try:
                c = commands.route(topic, o)    # in place: no suffix decoded (issue 13)
            except commands.CommandError:
                self._sfx = commands.suffix(topic, o)   # (not UTF-8: that refusal instead)
                raise
            kind = c & 3
            self._sfx = ("cmd/fax", "cmd/cancel", "cmd/telegram")[kind]
            if kind == 2:
                s = c >> 2 & 3
                sender = self._route = ("", "terminal", "center")[s] if s else self.default_sender
                if c >> 4:   # the ref: its key set before the size check (a refusal is recorded)
                    self._rk = str(topic[c >> 4:], "utf-8")   # JOB_CHARS: ASCII
                    if sn is not None:   # (a ref of 1..40 always fits a slot's key)
                        sn.set_key(ord(sender[0]), topic, c >> 4)
            commands.check_size(("fax", "cancel", "telegram")[kind], total)
            if kind == 2:
                if self._rk is not None and sn is not None and sn.has_ref():
                    self._k = _DROP  # answered before (the sender sent it again): acknowledge only
                    self.redelivered += 1
                    return
                self._k = _SMALL
            elif kind:
                self._k = _SMALL
            else:
                if self.spool is None:
                    raise commands.CommandError(commands.REJECTED, "this unit has no spool for cmd/fax")
                from faxbridge.core.mqtt import faxcmd
                self.spool.clear()
                self._fp = faxcmd.Parser(self.spool)   # limits: commands.MAX_*
                self._k = _FAX
        except commands.CommandError as e:
            self._err = e
        except Exception as e:  # the spool cannot be cleared (flash): refused, never silent
            self._err = _failed(e)

    def on_publish_chunk(self, mv):
        k = self._k
        if k == _DROP or k == _HOLD:
            return
        n = len(mv)
        if k == _ECHO:
            if self._n < _ECHO_KEEP:
                self._keep(mv, n, _ECHO_KEEP)
            return
        self._crc = binascii.crc32(mv, self._crc)
        if k == _SMALL:
            self._keep(mv, n, self._total)   # check_size() bounded the total by the buffer
        elif k == _FAX:
            try:
                self._fp.feed(mv)
            except commands.CommandError as e:
                self._fax_failed(e)
            except Exception as e:  # flash full, a parser bug: refused, never a crash
                self._fax_failed(_failed(e))

    def _keep(self, mv, n, cap):
        """Keep the next chunk of a payload (mv, n bytes; its first cap bytes in all) in the
        link's socket buffer, where the read put it when it can (docs/mqtt.md "Receiving"):
        a payload whole in one chunk is read in place; the first chunk of one that goes on
        ends the feed and stays where it is if the rest fits behind it, the link reading on
        after `keep`; otherwise (the read filled the buffer) it moves to the start. A chunk
        fed from elsewhere (tests) is copied."""
        g = self._n
        m = n if g + n <= cap else cap - g
        if g == 0 and n == self._total:
            self._body = mv if m == n else mv[:m]
            self._n = m
            return
        self._body = None
        b = self.rxbuf
        if g == 0:
            src = self.end - n if self.at >= 0 else -1
            # the rest must fit behind it, and the head kept of a longer payload (an echo's)
            # must leave the reads after it room (else the rest comes a few bytes a read)
            p = src if 0 <= src and src + cap + (_ECHO_ROOM if cap < self._total else 0) <= len(b) else 0
            self._p = p
        else:
            p = self._p
            src = self.at        # a payload going on starts the feed
        d = p + g
        if src != d:
            if 0 <= src < d + m:   # a move down within the buffer, overlapping: byte by byte
                for i in range(m):
                    b[d + i] = b[src + i]
            else:                # from elsewhere (src -1), or apart
                b[d:d + m] = mv if m == n else mv[:m]
        self._n = g + m
        self.keep = d + m

    def _fax_failed(self, e):
        self._err = e
        self._k = _ERR
        self._fp = None
        try:
            self.spool.clear()
        except Exception:
            pass

    def on_publish_end(self):
        """-> True: PUBACK it now; False: hold it (see on_publish_start)."""
        k = self._k
        self._k = _DROP
        self.keep = 0
        if k == _HOLD:
            return False
        if k == _ECHO:
            echo.seen(self, self._sfx, self._kept())
            return True
        if k == _DROP:
            return True   # not a command, an empty one, or a ref answered before
        crc = self._crc
        pid = 0 if self._retain else self._pid
        # QoS 0 (no packet id), not retained, without a ref: nothing brings it again (no DUP,
        # no PUBACK to lose, no ref to send again), so no seen slot and no second flash sync
        sn = self.seen if pid or self._retain or self._rk is not None else None
        # a DUP redelivery of an answered packet id (same content), or a retained command
        # refused before: acknowledged without a second answer
        if sn is not None and (self._dup or self._retain) and sn.has(pid, crc):
            self.redelivered += 1
            if k == _FAX:
                self._fax_failed(None)
            return True
        if not self.has_room():  # (a fax parsed for long: room may have gone meanwhile)
            self.holding = True
            self.held += 1
            return False
        # the answer and its seen slot are both written before either is synced (the answer
        # first): a process killed between them still finds both (docs/mqtt.md "Exactly once")
        st = self.outbox.store
        hold = sn is not None and hasattr(st, "sync")
        if hold:
            st.hold = sn.hold = True
        try:
            return self._answer(k, sn, pid, crc)
        finally:   # synced even when _answer raised: the session acknowledges it then
            if hold:
                st.hold = sn.hold = False
                st.sync()
                sn.sync()

    def _answer(self, k, sn, pid, crc):
        """Parse the command, hand it to the application (link.on_command) and record it as
        answered: True, or False when the outbox had no room (held). Its refusal (a
        CommandError from the parse or the handler, or an unexpected exception worded by
        _failed) goes to cmd/error."""
        err = self._err
        cmd = None
        if err is None:
            try:
                if k == _FAX:
                    fp = self._fp
                    self._fp = None
                    try:
                        job, number, _kinds = fp.end()
                    except commands.CommandError:
                        self.spool.clear()
                        raise
                    cmd = ("fax", job, number, self.spool.pages, fp.digest)   # (commands.py)
                elif self._sfx == "cmd/cancel":
                    cmd = commands.parse_cancel(self._kept())
                else:
                    cmd = commands.parse_telegram(self._kept(), self._route, self._rk)
            except commands.CommandError as e:
                err = e
            except Exception as e:
                err = _failed(e)
        if cmd is not None:
            # the handler: None (answered, or nothing to say), a CommandError for cmd/error,
            # or False when the outbox refused the answer
            h = self.on_command
            jr = None if cmd[0] == "telegram" else cmd[1]   # the job, the ref of a refusal
            if h is None:
                err = commands.CommandError(commands.BUSY, "the unit takes no commands yet", jr)
            else:
                self.ans = 1
                try:
                    h(cmd)
                except commands.CommandError as e:
                    err = e
                except outbox.OutboxFull:
                    err = None if self.ans == 2 else False
                except Exception as e:  # the application's handler failed: report, never crash
                    err = _failed(e, jr)
                finally:
                    self.ans = 0
            if k == _FAX:
                self.spool.clear()   # what the job did not take (all of it, if refused)
            if err is False:   # the outbox refused the answer after all: hold
                self.holding = True
                self.held += 1
                return False
        if err is not None:
            name = (self._sfx or "cmd/?")[4:]
            if name.startswith("telegram"):
                name = "telegram"
            try:
                self.event(contract.CMD_ERROR, contract.cmd_error(
                    name, err.reason, err.detail, err.ref), contract.ANSWER)
            except outbox.OutboxFull:
                self.holding = True
                self.held += 1
                return False
        if sn is not None:
            sn.add(pid, crc, self._rk is not None)
        return True

    def _kept(self):
        """The body kept by _keep (a memoryview)."""
        if self._body is not None:
            return self._body
        return self.mv[self._p:self._p + self._n]


def _failed(e, ref=None):
    """An unexpected exception as the command's refusal: `busy` when the heap had no room
    (the sender resends it later), `rejected` for anything else."""
    if isinstance(e, MemoryError):
        return commands.CommandError(commands.BUSY, "no memory to take it now; send it again", ref)
    return commands.CommandError(commands.REJECTED, "%s: %s" % (type(e).__name__, e), ref)
