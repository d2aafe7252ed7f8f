"""The system under test: its own Asterisk instance ("bench"), the call service, its watchdog, a Redis.

Principle: everything this object starts it also stops, in reverse order, on
success, on error and on Ctrl-C (``with BenchSystem(...) as s``). Asterisk
runs on free ports with the production profile and secrets generated for
this run; the call service (``siaga serve``) and its watchdog are
subprocesses exactly as in production, so their CPU and memory are their own
and can be sampled. Live events go to a private ``redis-server`` on a free
port, never to the machine's shared Redis.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.asterisk import AsteriskInstance
from app.directory.loader import load_directory
from app.prompts import render_prompts
from app.settings import Settings
from bench.database import BenchDatabase
from bench.dialplan import write_dialplan

HERE = Path(__file__).parent
DIRECTORY = HERE / "directory.yaml"
SIAGA = Path(sys.executable).parent / "siaga"


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchSystem:
    def __init__(
        self,
        workdir: Path,
        database: BenchDatabase,
        *,
        ring_seconds: float = 0.3,
        name: str = "bench",
        service_env: dict[str, str] | None = None,
    ):
        self.workdir, self.db = workdir, database
        self.ring_seconds = ring_seconds
        rtp = random.randrange(30000, 50000, 2000)
        self.ari_port = free_port(socket.SOCK_STREAM)
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.web_port = free_port(socket.SOCK_STREAM)
        self.redis_port = free_port(socket.SOCK_STREAM)
        self.ari_password = "bench-ari-" + secrets.token_hex(8)
        values = {
            "SIAGA_PROFILE": "production",
            "SIAGA_ASTERISK__INSTANCE": name,
            "SIAGA_ARI__PASSWORD": self.ari_password,
            "SIAGA_ARI__PORT": str(self.ari_port),
            "SIAGA_SIP__PORT": str(self.sip_port),
            "SIAGA_SIP__ENDPOINT_PASSWORD": "bench-sip-" + secrets.token_hex(8),
            "SIAGA_SIP__RTP_START": str(rtp),
            "SIAGA_SIP__RTP_END": str(rtp + 9999),  # 2 ports per caller: thousands of calls at once
            "SIAGA_WEB__PORT": str(self.web_port),
            "SIAGA_DIRECTORY": str(DIRECTORY),
            "SIAGA_RECORDINGS_DIR": str(workdir / "recordings"),
            "SIAGA_JOURNAL_DIR": str(workdir / "journal"),
            "SIAGA_REDIS__URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DATABASE_URL": database.url,
        }
        # A developer's own SIAGA_* settings must not leak into the system under test (SIAGA_ROOT may).
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_") or k == "SIAGA_ROOT"}
        self.env = {
            **inherited,
            **values,
            **(service_env or {}),  # e.g. an A/B of one setting
            "REDIS_URL": values["SIAGA_REDIS__URL"],
        }
        self.settings = Settings(
            profile="production",
            directory=DIRECTORY,
            recordings_dir=workdir / "recordings",
            ari={"port": self.ari_port, "password": self.ari_password},
            sip={
                "port": self.sip_port,
                "endpoint_password": values["SIAGA_SIP__ENDPOINT_PASSWORD"],
                "rtp_start": rtp,
                "rtp_end": rtp + 9999,
            },
            asterisk={"instance": name},
            web={"port": self.web_port},
            database={"url": database.url},
        )
        self.directory = load_directory(DIRECTORY)
        self.asterisk = AsteriskInstance(self.settings, self.directory, name=name)
        self.procs: dict[str, subprocess.Popen] = {}
        self.service_log = workdir / "service.log"

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self) -> BenchSystem:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db.create()
        self._spawn(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "", "--appendonly", "no"],
        )
        render_prompts(directory=self.directory, progress=False)
        self.asterisk.render()
        write_dialplan(self.asterisk.dir / "etc", self.ring_seconds)
        self.messages_log.unlink(missing_ok=True)  # agency answers are counted from this file
        # The dialplan fallback journal outlives the instance's runs; a new service would import
        # an earlier run's lines as cases of this one.
        self.asterisk.fallback_journal.write_text("")
        self.asterisk.start()
        self._spawn("service", [str(SIAGA), "serve", "--log-level", "INFO"], self.service_log)
        deadline = time.monotonic() + 60
        while self.health().get("status") != "ok":
            if self.procs["service"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the call service did not come up; see {self.service_log}")
            time.sleep(0.2)
        self._spawn("watchdog", [str(SIAGA), "watchdog"], self.workdir / "watchdog.log")

    def stop(self) -> None:
        for name in ("watchdog", "service"):
            self._end(name)
        self.asterisk.stop()
        self._end("redis")

    def _spawn(self, name: str, command: list[str], log: Path | None = None) -> None:
        with open(log or self.workdir / f"{name}.log", "ab") as out:
            # A session of its own: Ctrl-C reaches only the bench, which stops everything in order.
            self.procs[name] = subprocess.Popen(
                command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _end(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    # -- looking at it ---------------------------------------------------------
    def pid(self, name: str) -> int | None:
        if name == "asterisk":
            return self.asterisk._proc.pid if self.asterisk._proc else None
        proc = self.procs.get(name)
        return proc.pid if proc else None

    def health(self) -> dict:
        try:
            return httpx.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return {}

    def ari(self, path: str) -> Any:  # the JSON ARI answers
        url = f"http://127.0.0.1:{self.ari_port}/ari/{path.lstrip('/')}"
        return httpx.get(url, auth=("siaga", self.ari_password), timeout=10).json()

    @property
    def messages_log(self) -> Path:
        """Asterisk's NOTICE log (logger.conf "messages"): where agency answers are logged."""
        return self.asterisk.dir / "log" / "messages"

    def service_rss_kb(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid('service')}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def prune_recordings(self) -> None:
        """Call recordings pile up (about 100 kB a call); the bench does not need them."""
        for path in (self.workdir / "recordings").glob("*.wav"):
            path.unlink(missing_ok=True)
