"""The whole system for end-to-end tests: a real Asterisk, the call service as a
subprocess (so it can be stopped and killed like in production), a database,
and pjsua2 user agents for callers and agency lines."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from app.asterisk import AsteriskInstance
from app.cases.service import list_cases
from app.cases.views import case_as_dict
from app.db import make_engine, migrate, session_factory
from app.directory.loader import load_directory
from app.prompts import render_prompts
from app.settings import Settings
from app.sipua.control import SipUa, start_call, start_line
from web.callservice import ask

HERE = Path(__file__).parent
SIAGA = Path(sys.executable).parent / "siaga"


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class System:
    def __init__(self, tmp: Path, *, redis_url: str | None = None, database_url: str | None = None) -> None:
        self.tmp = tmp
        self.directory_file = HERE / "directory.yaml"
        rtp = random.randrange(20000, 30000, 1000)
        self.instance = f"e2e-{os.getpid()}-{tmp.name}"
        self.values = {
            "SIAGA_ASTERISK__INSTANCE": self.instance,
            "SIAGA_JOURNAL_DIR": str(tmp / "journal"),
            "SIAGA_WATCHDOG__GRACE_SECONDS": "1.5",
            "SIAGA_PROFILE": "production",
            "SIAGA_ARI__PASSWORD": "e2e-ari-" + secrets.token_hex(8),
            "SIAGA_ARI__PORT": str(free_port(socket.SOCK_STREAM)),
            "SIAGA_SIP__PORT": str(free_port(socket.SOCK_DGRAM)),
            "SIAGA_SIP__ENDPOINT_PASSWORD": "e2e-sip-" + secrets.token_hex(8),
            "SIAGA_SIP__RTP_START": str(rtp),
            "SIAGA_SIP__RTP_END": str(rtp + 999),
            "SIAGA_WEB__PORT": str(free_port(socket.SOCK_STREAM)),
            "SIAGA_INTERNAL__SECRET": "e2e-internal-" + secrets.token_hex(16),
            # Short, so the queue's stories take seconds: an agent's phones ring 3 s, a caller waits 8 s at most.
            "SIAGA_QUEUE__RING_SECONDS": "3",
            "SIAGA_QUEUE__MAX_WAIT_SECONDS": "8",
            "SIAGA_QUEUE__WRAPUP_SECONDS": "0",
            "SIAGA_WEBRTC__TLS_PORT": str(free_port(socket.SOCK_STREAM)),
            "SIAGA_DIRECTORY": str(self.directory_file),
            "SIAGA_RECORDINGS_DIR": str(tmp / "recordings"),
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'cases.db'}",
        }
        # Live events go to a test's own redis-server, or nowhere: never to the machine's shared Redis.
        self.values["SIAGA_REDIS__URL"] = ""  # empty: live publisher disabled
        if redis_url:
            self.values["REDIS_URL"] = redis_url
        self.env = {**os.environ, **self.values}
        self.settings = Settings(
            profile="production",
            directory=self.directory_file,
            recordings_dir=tmp / "recordings",
            ari={"port": int(self.values["SIAGA_ARI__PORT"]), "password": self.values["SIAGA_ARI__PASSWORD"]},
            sip={
                "port": int(self.values["SIAGA_SIP__PORT"]),
                "endpoint_password": self.values["SIAGA_SIP__ENDPOINT_PASSWORD"],
                "rtp_start": rtp,
                "rtp_end": rtp + 999,
            },
            web={"port": int(self.values["SIAGA_WEB__PORT"])},
            internal={"secret": self.values["SIAGA_INTERNAL__SECRET"]},
            webrtc={"tls_port": int(self.values["SIAGA_WEBRTC__TLS_PORT"])},
            asterisk={"instance": self.instance},
            database={"url": self.values["DATABASE_URL"]},
        )
        self.directory = load_directory(self.directory_file)
        self.asterisk = AsteriskInstance(self.settings, self.directory, name=self.instance)
        self.service: subprocess.Popen | None = None
        self.watchdog: subprocess.Popen | None = None
        self.service_log = tmp / "service.log"
        migrate(self.settings.database.url)
        self.sessions = session_factory(make_engine(self.settings.database.url))

    # -- parts -----------------------------------------------------------------
    def start(self) -> System:
        render_prompts(directory=None, progress=False)  # production profile: no demo responders to voice
        self.asterisk.start()
        self.start_service()
        self.start_watchdog()
        return self

    def stop(self) -> None:
        self.stop_watchdog()
        self.stop_service()
        self.asterisk.stop()

    def start_watchdog(self) -> None:
        log = open(self.tmp / "watchdog.log", "ab")
        self.watchdog = subprocess.Popen(
            [str(SIAGA), "watchdog"], env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def stop_watchdog(self) -> None:
        if self.watchdog and self.watchdog.poll() is None:
            self.watchdog.terminate()
            self.watchdog.wait(10)
        self.watchdog = None

    def start_service(self, wait: bool = True, **overrides: str) -> None:
        """``overrides``: environment for this run of the service only (e.g. its ARI port: a proxy)."""
        log = open(self.service_log, "ab")
        self.service = subprocess.Popen(
            [str(SIAGA), "serve", "--log-level", "DEBUG"],
            env={**self.env, **overrides},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if wait:
            self.until(lambda: self.health().get("status") == "ok", 30, "the call service to connect to ARI")

    def stop_service(self, sig: int = signal.SIGTERM) -> None:
        if self.service and self.service.poll() is None:
            self.service.send_signal(sig)
            try:
                self.service.wait(10)
            except subprocess.TimeoutExpired:
                self.service.kill()
                self.service.wait()
        self.service = None

    def health(self) -> dict:
        try:
            return httpx.get(f"http://127.0.0.1:{self.values['SIAGA_WEB__PORT']}/healthz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return {}

    # -- people ----------------------------------------------------------------
    @property
    def registrar(self) -> str:
        return f"sip:127.0.0.1:{self.values['SIAGA_SIP__PORT']}"

    def line(self, user: str, **opts) -> SipUa:
        """An agency (or operator) phone, registered."""
        ua = start_line(user, self.values["SIAGA_SIP__ENDPOINT_PASSWORD"], self.registrar, **opts)
        ua.wait_for("registered", 10)
        return ua

    def call(self, number: str, caller: str, **opts) -> SipUa:
        """A citizen calling over the trunk (identified by source address, no registration)."""
        return start_call(f"sip:{number}@127.0.0.1:{self.values['SIAGA_SIP__PORT']}", from_user=caller, **opts)

    def internal(self, method: str, path: str, body: dict | None = None):
        """A request on the call service's internal channel, as the web app sends it (in a thread of its
        own: a browser test's Playwright holds this thread's event loop)."""
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, ask(self.settings, method, path, body)).result()

    def agent_available(self, name: str, phone: str = "sip") -> dict:
        """Once its phone shows registered, the agent goes available."""
        self.until(lambda: self.internal("GET", f"/agents/{name}")["phones"][phone], 10, f"{name}'s {phone} phone")
        return self.internal("PUT", f"/agents/{name}/status", {"status": "available"})

    def agent_away(self, *names: str) -> None:
        """Agents a test made available (or who missed a call) end it away: the next test starts clean."""
        for name in names:
            if self.internal("GET", f"/agents/{name}")["status"] not in ("away", "offline", "on-call"):
                self.internal("PUT", f"/agents/{name}/status", {"status": "away"})

    # -- the record ------------------------------------------------------------
    def case(self, caller: str, *, status: set[str] | None = None, timeout: float = 20) -> dict:
        """The case of the call from ``caller``, once its status is one of ``status``."""
        found: dict = {}

        def check():
            nonlocal found
            with self.sessions() as session:
                for case in list_cases(session, limit=200):
                    if case.caller_number == caller:
                        found = case_as_dict(session, case, events=True)
                        return status is None or found["status"] in status
            return False

        self.until(check, timeout, f"a case from {caller} with status in {status} (last: {found.get('status')})")
        return found

    def until(self, check, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(
            f"timed out after {seconds}s waiting for {what}\n--- service log tail ---\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.service_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no service log)"


def new_caller() -> str:
    return f"0813{random.randint(0, 99_999_999):08d}"


def wav_seconds(path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()
