"""``siaga run``: the whole system in the foreground (Asterisk + call service).

Ctrl-C stops the call service first (calls then fall back to the dialplan
route), then Asterisk, so nothing is left running.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import typer

from app import logs
from app.portcheck import busy
from cli.errors import UserError
from cli.options import LogLevel, Profile, log_level_option, profile_option
from cli.system import _settings, _until_signal

log = logging.getLogger("siaga.run")


def run(
    profile: Profile | None = profile_option(),
    log_level: LogLevel = log_level_option(),
) -> None:
    """Start Asterisk and the call service in the foreground; Ctrl-C stops both cleanly.

    `make run` calls this with --profile demo: well-known passwords, and a demo
    responder answers for any unit line that no phone has registered.
    """
    from app.asterisk.runtime import AsteriskInstance
    from app.db import make_engine, migrate, session_factory
    from app.directory.loader import DirectoryError, load_directory
    from app.directory.service import load_into_db
    from app.prompts import render_prompts
    from ivr.service import CallService

    logs.setup(log_level)
    settings = _settings(profile)
    taken = busy(_ports_of(settings))
    if taken:
        raise UserError(f"cannot start: {'; '.join(taken)}. Is `siaga run` (or `make run`) already running?", code=1)
    step = _Steps(5)
    try:
        step("agency directory", settings.directory)
        directory = load_directory(settings.directory)
        step("database", settings.database.url.split("@")[-1])
        migrate(settings.database.url)
        with session_factory(make_engine(settings.database.url))() as session:
            load_into_db(session, directory, source=str(settings.directory))
        step("prompts", "espeak-ng + sox, cached")
        render_prompts(directory=directory, progress=True)
        step("Asterisk", f"SIP udp {settings.sip.bind_host}:{settings.sip.port}, ARI {settings.ari.base_url}")
        asterisk = AsteriskInstance(settings, directory, name=settings.asterisk.instance)
        asterisk.start()
        step("call service", f"health http://{settings.web.host}:{settings.web.port}/healthz")
        service = CallService(settings)
    except DirectoryError as exc:
        typer.secho(f"siaga: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:
        typer.secho(f"siaga: cannot start: {exc}", fg="red", err=True)
        if "asterisk" in locals():
            asterisk.stop()
        raise typer.Exit(2) from None
    watchdog = _start("watchdog", settings)
    webapp = _start("web", settings)
    _wait_for_web(settings, webapp)
    _banner(settings, directory)
    try:
        asyncio.run(_until_signal(service.run))
    finally:
        typer.echo("stopping the web application, the watchdog and Asterisk ...", err=True)
        for process in (webapp, watchdog):
            process.terminate()
            process.wait(10)
        asterisk.stop()
        typer.echo("stopped.", err=True)


def _wait_for_web(settings, webapp: subprocess.Popen, seconds: float = 20.0) -> None:
    """The banner says "running" once the web application answers (it starts in about 2 s)."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and webapp.poll() is None:
        try:
            with socket.create_connection((settings.webapp.host, settings.webapp.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    why = "it exited (its error is above)" if webapp.poll() is not None else f"not after {seconds:g} s"
    typer.secho(f"siaga: the web application is not answering: {why}; calls are not affected", fg="yellow", err=True)


def _ports_of(settings) -> dict[str, str]:
    """The ports and hosts ``siaga run`` will take, as app.portcheck reads them."""
    return {
        "SIAGA_SIP__PORT": str(settings.sip.port),
        "SIAGA_SIP__BIND_HOST": settings.sip.bind_host,
        "SIAGA_ARI__PORT": str(settings.ari.port),
        "SIAGA_ARI__HOST": settings.ari.host,
        "SIAGA_WEB__PORT": str(settings.web.port),
        "SIAGA_WEB__HOST": settings.web.host,
        "SIAGA_WEBAPP__PORT": str(settings.webapp.port),
        "SIAGA_WEBAPP__HOST": settings.webapp.host,
    }


def _start(command: str, settings) -> subprocess.Popen:
    """``siaga <command>`` as a process of its own: the watchdog (if this one dies, callers still reach
    the fallback route), the web application (its crash or restart never touches a call)."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "siaga"), command, "--profile", settings.profile],
        stdin=subprocess.DEVNULL,
    )


class _Steps:
    def __init__(self, total: int) -> None:
        self.total, self.n = total, 0

    def __call__(self, what: str, detail: object = "") -> None:
        self.n += 1
        typer.secho(f"[{self.n}/{self.total}] {what}", bold=True, nl=False, err=True)
        typer.echo(f"  {detail}", err=True)


def _banner(settings, directory) -> None:
    sip = f"{settings.sip.bind_host}:{settings.sip.port}"
    lines = [
        "",
        f"Siaga is running ({settings.profile} profile). Ctrl-C stops everything.",
        "  try a call:       .venv/bin/siaga dial 112 --press 9,1,2",
        "  read the cases:   .venv/bin/siaga cases list",
        f"  web application:  http://{settings.webapp.host}:{settings.webapp.port}/"
        + (" (demo users agent-1 ... agent-4, supervisor-1, admin; password siaga-demo)" if settings.demo else ""),
        f"  softphone caller: send calls to sip:112@{sip} from {settings.sip.trunk_match} (the trunk)",
        f"  unit phone:       register as <unit id>@{sip}, e.g. {directory.units[0].id}"
        + (f" / password {settings.sip.endpoint_password.get_secret_value()}" if settings.demo else ""),
        "",
    ]
    typer.echo("\n".join(lines), err=True)
