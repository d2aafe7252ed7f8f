"""``call`` mode: one outgoing call, as a citizen dialling 112.

Principle: the run is the call. It ends when the call ends (either side hangs
up, or it is refused), when ``--duration`` after answer has passed, or when the
``--timeout`` safety limit strikes (exit code 3). No registration: the trunk
knows us by source address; ``--from-user`` is the caller number in From (URI-escaped
as given, e.g. ``%7C`` for ``|``), ``--from-name`` its display name.
"""

from __future__ import annotations

import argparse
import functools

import pjsua2 as pj

from app.sipua.calls import UaCall
from app.sipua.cli import EXIT_ERROR, EXIT_OK, EXIT_TIMEOUT
from app.sipua.phone import Phone

# After hanging up on timeout, how long to wait for the far end's reply.
HANGUP_GRACE = 2.0


def from_uri(user: str, name: str, host: str) -> str:
    """``"Name" <sip:user@host>``: the display name as a SIP quoted string (``\\`` and ``"`` escaped)."""
    uri = f"sip:{user}@{host}"
    if not name:
        return uri
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{uri}>'


class Caller:
    def __init__(self, phone: Phone, args: argparse.Namespace) -> None:
        self.phone, self.args = phone, args
        self.account: pj.Account | None = None
        self.call: UaCall | None = None
        self.code = EXIT_OK

    def start(self) -> None:
        args, phone = self.args, self.phone
        self.account = pj.Account()
        self.account.create(phone.account_config(from_uri(args.from_user, args.from_name, phone.bind)))
        phone.emit("ready", mode="call", bind=phone.bind, port=phone.port, from_user=args.from_user)
        if phone.ep.utilVerifySipUri(args.target) != 0:
            phone.emit("error", what="target", message=f"not a SIP URI: {args.target!r}")
            phone.finish(EXIT_ERROR, "bad target")
            return
        if args.timeout:
            phone.later(args.timeout, self._timed_out)
        self.call = UaCall(phone, self.account, 1, play=args.play, record=args.record, on_state=self._on_state)
        prm = pj.CallOpParam(True)
        prm.opt.audioCount, prm.opt.videoCount = 1, 0
        phone.emit("calling", call=1, target=args.target, from_user=args.from_user)
        self.call.makeCall(args.target, prm)

    def _on_state(self, call: UaCall, info: pj.CallInfo) -> None:
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            at = self.args.dtmf_after
            for digit in self.args.dtmf:
                self.phone.later(at, functools.partial(call.send_digit, digit))
                at += self.args.dtmf_gap
            if self.args.duration:
                self.phone.later(self.args.duration, call.end)
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.phone.later(0, lambda: self.phone.finish(self.code, "call ended"))

    def _timed_out(self) -> None:
        self.code = EXIT_TIMEOUT
        self.phone.emit("timeout", seconds=self.args.timeout)
        if self.call is None or not self.call.live:
            self.phone.finish(self.code, "timeout")
            return
        self.call.end()  # CANCEL before answer, BYE after
        self.phone.later(HANGUP_GRACE, lambda: self.phone.finish(self.code, "timeout"))

    def shutdown(self) -> None:
        call = self.call
        if call is None:
            return
        call.end()
        self.phone.settle(lambda: call.live, 1.0)
        call.release_media()
        self.phone.settle(lambda: not call.recording_closed(), 1.0)
        call.recording_closed(force=True)
