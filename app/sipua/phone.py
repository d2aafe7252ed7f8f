"""One pjsua2 endpoint, driven from the process's main thread.

Principle: all pjsua2 callbacks and all of this package's state live on the
main thread. pjsua2 is started with no SIP or media worker threads and with
``mainThreadOnly`` (callbacks raised on the conference clock thread of the null
sound device are queued for the main thread), and the main thread polls
``libHandleEvents``. Delays go through ``Phone.later`` -- timers checked by the
same loop -- so no Python thread ever touches a pjsua2 object.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable

import pjsua2 as pj

from app.sipua.events import Emitter

POLL_MS = 10
# RTP ports away from Asterisk's customary 10000-20000 range, randomised so
# several UAs on one machine do not walk the same ports.
RTP_PORT, RTP_RANGE = 40000, 10000


def prefer_g711(ep: pj.Endpoint) -> None:
    """Offer PCMU then PCMA only: the Asterisk trunk allows ulaw,alaw."""
    for info in ep.codecEnum2():
        name = info.codecId.split("/")[0].upper()
        ep.codecSetPriority(info.codecId, {"PCMU": 255, "PCMA": 254}.get(name, 0))  # 0 disables


class Phone:
    def __init__(self, emit: Emitter, bind: str, port: int, log_level: int) -> None:
        self.emit, self.bind = emit, bind
        self.exit_code: int | None = None
        self.stop_reason = ""
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.userAgent = "siaga-sipua"
        cfg.medConfig.threadCnt = 0  # RTP is read by libHandleEvents as well
        cfg.medConfig.clockRate = cfg.medConfig.sndClockRate = 8000  # G.711: no resampling
        cfg.medConfig.ecTailLen = 0  # no echo canceller: nothing to cancel without a sound card
        cfg.medConfig.noVad = True  # keep RTP flowing through silence
        cfg.logConfig.level = cfg.logConfig.consoleLevel = log_level
        cfg.logConfig.msgLogging = 1 if log_level >= 4 else 0
        self.ep.libInit(cfg)

        tcfg = pj.TransportConfig()
        tcfg.port = port
        self._bind_to(tcfg)
        self.transport = self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        self.port = int(self.ep.transportGetInfo(self.transport).localName.rsplit(":", 1)[1])
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()  # no sound card: the conference bridge runs on a null clock
        prefer_g711(self.ep)

    def _bind_to(self, tcfg: pj.TransportConfig) -> None:
        if self.bind not in ("", "0.0.0.0"):
            tcfg.boundAddress = tcfg.publicAddress = self.bind  # Via, Contact and SDP say this address

    def account_config(self, id_uri: str) -> pj.AccountConfig:
        cfg = pj.AccountConfig()
        cfg.idUri = id_uri
        media = cfg.mediaConfig.transportConfig
        media.port, media.portRange, media.randomizePort = RTP_PORT, RTP_RANGE, True
        self._bind_to(media)
        return cfg

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._seq), action))

    def finish(self, code: int, reason: str = "") -> None:
        """Ask the loop to stop; the first reason given wins."""
        if self.exit_code is None:
            self.exit_code, self.stop_reason = code, reason

    def run(self) -> int:
        while self.exit_code is None:
            self.ep.libHandleEvents(POLL_MS)
            while self._timers and self._timers[0][0] <= time.monotonic():
                heapq.heappop(self._timers)[2]()
        return self.exit_code

    def settle(self, busy: Callable[[], bool], seconds: float) -> None:
        """Keep pjsip working (BYE, un-REGISTER replies) while ``busy()``, up to ``seconds``."""
        deadline = time.monotonic() + seconds
        while busy() and time.monotonic() < deadline:
            self.ep.libHandleEvents(POLL_MS)

    def destroy(self) -> None:
        # The caller already hung up and unregistered and waited for the replies;
        # NO_NETWORK skips pjsua's fixed one-second wait for them.
        self.ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
