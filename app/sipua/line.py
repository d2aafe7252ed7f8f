"""``line`` mode: a phone that answers, as an agency unit or an operator.

Principle: one call at a time, each handled the same configured way (ring then
answer, ring forever, busy, decline); a call arriving while another is up gets
486. Registration is optional: without ``--registrar`` the line only listens on
its port and is called directly by URI.
"""

from __future__ import annotations

import argparse

import pjsua2 as pj

from app.sipua.calls import UaCall
from app.sipua.cli import EXIT_OK, recording_path
from app.sipua.phone import Phone


class LineAccount(pj.Account):
    def __init__(self, line: Line) -> None:
        super().__init__()
        self.line = line

    def onIncomingCall(self, prm) -> None:
        self.line.incoming(prm.callId)

    def onRegState(self, prm) -> None:
        self.line.registration(prm.code, prm.reason, prm.expiration)


class Line:
    def __init__(self, phone: Phone, args: argparse.Namespace) -> None:
        self.phone, self.args = phone, args
        self.account: LineAccount | None = None
        self.calls: list[UaCall] = []
        self.count = 0
        self.registered = False

    def start(self) -> None:
        args, phone = self.args, self.phone
        if args.registrar:
            host = args.registrar.split(":", 1)[1].split(";")[0].rsplit("@", 1)[-1].split(":")[0]
            cfg = phone.account_config(f"sip:{args.user}@{host}")
            cfg.regConfig.registrarUri = args.registrar
            cfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
        else:
            cfg = phone.account_config(f"sip:{args.user}@{phone.bind}:{phone.port}")
        self.account = LineAccount(self)
        self.account.create(cfg)
        phone.emit("ready", mode="line", bind=phone.bind, port=phone.port, user=args.user, registrar=args.registrar)
        if args.run_for:
            phone.later(args.run_for, lambda: phone.finish(EXIT_OK, "run-for elapsed"))

    def registration(self, code: int, reason: str, expiration: int) -> None:
        if 200 <= code < 300 and expiration > 0:
            self.registered = True
            self.phone.emit("registered", code=code, reason=reason, expires=expiration)
        elif 200 <= code < 300:
            self.registered = False
            self.phone.emit("unregistered", code=code, reason=reason)
        else:
            self.registered = False
            self.phone.emit("error", what="register", code=code, reason=reason)

    def incoming(self, call_id: int) -> None:
        self.count += 1
        args, number = self.args, self.count
        # pjsua2 is done with ended calls; keep those still closing a recording
        self.calls = [c for c in self.calls if not (c.ended and c.recording_closed())]
        busy_now = any(not c.ended for c in self.calls)
        call = UaCall(
            self.phone,
            self.account,
            number,
            play=args.play,
            record=recording_path(args.record, number),
            on_state=self._on_state,
            call_id=call_id,
        )
        self.calls.append(call)  # keep a reference: a collected Call would drop the call
        info = call.getInfo()
        call.emit("incoming", call_id=info.callIdString, remote=info.remoteUri, local=info.localUri)
        if busy_now or args.busy:
            call.respond(486)
        elif args.reject:
            call.respond(603)
        else:
            call.respond(180)
            if not args.no_answer:
                self.phone.later(args.answer_after, lambda: call.respond(200))

    def _on_state(self, call: UaCall, info: pj.CallInfo) -> None:
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.args.hangup_after:
            self.phone.later(self.args.hangup_after, call.end)

    def shutdown(self) -> None:
        for call in self.calls:
            call.end()
        self.phone.settle(lambda: any(c.live for c in self.calls), 1.0)
        for call in self.calls:
            call.release_media()
        self.phone.settle(lambda: not all([c.recording_closed() for c in self.calls]), 1.0)
        for call in self.calls:
            call.recording_closed(force=True)
        if self.registered and self.account is not None:
            self.account.setRegistration(False)
            self.phone.settle(lambda: self.registered, 1.0)
