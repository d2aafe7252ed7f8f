"""One SIP call of the user agent: its events, its DTMF and its media.

Principle: the call reports every step itself (ringing, media, answered, dtmf,
disconnected) and owns its player and recorder. The recorder is attached as
soon as audio flows (so early media is heard too), the player only once the
call is answered, and both are released right after the call ends -- closing
the recorder is what writes the final WAV header.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pjsua2 as pj

from app.sipua.phone import Phone

CLOSE_POLL, CLOSE_LIMIT = 0.01, 2.0  # seconds: waiting for pjsua to close a recording
DTMF_METHODS = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc4733", pj.PJSUA_DTMF_METHOD_SIP_INFO: "sip-info"}


class UaCall(pj.Call):
    def __init__(
        self,
        phone: Phone,
        account: pj.Account,
        number: int,
        *,
        play: str | None = None,
        record: str | None = None,
        on_state: Callable[[UaCall, pj.CallInfo], None] | None = None,
        call_id: int = pj.PJSUA_INVALID_ID,
    ) -> None:
        super().__init__(account, call_id)
        self.phone, self.number = phone, number
        self.play_path, self.record_path = play, record
        self.on_state = on_state
        self.confirmed = self.ended = False
        self.audio: pj.AudioMedia | None = None
        self.player: pj.AudioMediaPlayer | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self._ringing: set[int] = set()
        self._closing_since: float | None = None

    def emit(self, event: str, **fields) -> None:
        self.phone.emit(event, call=self.number, **fields)

    # pjsua2 callbacks (main thread, see app.sipua.phone)
    def onCallState(self, prm) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_EARLY and info.role == pj.PJSIP_ROLE_UAC:
            code = info.lastStatusCode
            if code in (180, 183) and code not in self._ringing:
                self._ringing.add(code)
                self.emit("ringing", code=code, reason=info.lastReason)
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.confirmed:
            self.confirmed = True
            self.emit("answered", call_id=info.callIdString, remote=info.remoteUri)
            self._connect_media()
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.ended:
            self.ended, self.audio = True, None
            self.emit(
                "disconnected",
                code=info.lastStatusCode,
                reason=info.lastReason,
                answered=self.confirmed,
                seconds=info.connectDuration.sec,
            )
            self.phone.later(0, self.release_media)  # not inside pjsua's callback locks
        if self.on_state:
            self.on_state(self, info)

    def onCallMediaState(self, prm) -> None:
        info = self.getInfo()  # keep it alive: SWIG's media items point into it
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                first = self.audio is None
                self.audio = self.getAudioMedia(media.index)
                if first:
                    stream = self.getStreamInfo(media.index)
                    self.emit("media", codec=stream.codecName, clock_rate=stream.codecClockRate)
                self._connect_media()
                return

    def onDtmfDigit(self, prm) -> None:
        self.emit("dtmf", digit=prm.digit, method=DTMF_METHODS.get(prm.method, str(prm.method)))

    # actions
    def send_digit(self, digit: str) -> None:
        if not self.live:
            return
        prm = pj.CallSendDtmfParam()
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833  # Asterisk's trunk: dtmf_mode=rfc4733
        prm.digits = digit
        try:
            self.sendDtmf(prm)
        except pj.Error as exc:  # e.g. the far end did not accept telephone-event
            self.emit("error", what="dtmf", digit=digit, message=exc.info().strip())
            return
        self.emit("dtmf_sent", digit=digit)

    def respond(self, code: int) -> None:
        if not self.ended:
            prm = pj.CallOpParam()
            prm.statusCode = code
            self.answer(prm)

    @property
    def live(self) -> bool:
        # pjsua asserts (aborting the process) when asked about a call id that
        # was never placed, so check the id before isActive()
        return not self.ended and self.getId() != pj.PJSUA_INVALID_ID and self.isActive()

    def end(self) -> None:
        if self.live:
            self.hangup(pj.CallOpParam())

    def _connect_media(self) -> None:
        if self.audio is None:
            return
        if self.record_path and self.recorder is None:
            Path(self.record_path).parent.mkdir(parents=True, exist_ok=True)
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(self.record_path)
            self.audio.startTransmit(self.recorder)
            self.emit("recording", path=str(self.record_path))
        if self.play_path and self.confirmed and self.player is None:
            self.player = pj.AudioMediaPlayer()
            self.player.createPlayer(self.play_path, 0)  # options 0: loop
            self.player.startTransmit(self.audio)
            self.emit("playing", path=str(self.play_path))

    def release_media(self) -> None:
        self.player = None  # dropping the SWIG object destroys the pjsua player
        if self.recorder is not None:
            # pjsua 2.15 closes the file (and writes the WAV header) on the
            # conference clock thread one tick later, not during this call.
            self.recorder = None
            self._closing_since = time.monotonic()
            self.phone.later(CLOSE_POLL, self._await_recording)

    def recording_closed(self, force: bool = False) -> bool:
        """True once the recording, if any, is closed and reported as ``recorded``."""
        if self._closing_since is None:
            return True
        assert self.record_path is not None  # only a recording ever starts closing
        complete = wav_complete(self.record_path)
        if not (complete or force):
            return False
        self._closing_since = None
        size = Path(self.record_path).stat().st_size if Path(self.record_path).exists() else 0
        self.emit("recorded", path=str(self.record_path), bytes=size, complete=complete)
        return True

    def _await_recording(self) -> None:
        if self._closing_since is None:
            return
        if not self.recording_closed(force=time.monotonic() - self._closing_since > CLOSE_LIMIT):
            self.phone.later(CLOSE_POLL, self._await_recording)


def wav_complete(path: str | Path) -> bool:
    """A closed WAV file: its RIFF size field matches the file's length."""
    try:
        with open(path, "rb") as wav:
            head = wav.read(8)
            size = os.fstat(wav.fileno()).st_size
    except OSError:
        return False
    return len(head) == 8 and head[:4] == b"RIFF" and struct.unpack("<I", head[4:])[0] + 8 == size
