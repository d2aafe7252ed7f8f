"""Commands that run the system: ``run`` (everything, foreground), ``serve`` (the call service), ``dial``."""

from __future__ import annotations

import asyncio
import signal

import typer

from app import logs
from app.settings import Settings, SettingsError
from cli.config import fail, load_settings
from cli.options import LogLevel, Profile, log_level_option, profile_option


def _settings(profile: str | None) -> Settings:
    settings = load_settings(profile)
    try:
        settings.check_secrets()
    except SettingsError as exc:
        fail(exc)
    return settings


async def _until_signal(run) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


def serve(profile: Profile | None = profile_option(), log_level: LogLevel = log_level_option()) -> None:
    """Run the call service alone (Asterisk runs elsewhere). Stops on Ctrl-C / SIGTERM."""
    from ivr.service import CallService

    logs.setup(log_level)
    settings = _settings(profile)
    try:
        service = CallService(settings)
    except Exception as exc:  # a bad directory, menu or prompt: say which, do not start
        typer.secho(f"siaga: cannot start the call service: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    asyncio.run(_until_signal(service.run))


def watchdog(profile: Profile | None = profile_option(), log_level: LogLevel = log_level_option()) -> None:
    """Watch the call service; if it is down for a moment, send waiting callers to the dialplan fallback.

    Runs as its own process (`siaga run` starts one), so it survives a crash of the call service.
    """
    from ivr.ari.client import AriClient
    from ivr.watchdog import Watchdog

    logs.setup(log_level)
    settings = _settings(profile)
    ari, web, wd = settings.ari, settings.web, settings.watchdog

    async def run(stop: asyncio.Event) -> None:
        async with AriClient.from_settings(ari) as client:
            dog = Watchdog(
                client,
                health_url=f"http://{web.host}:{web.port}/healthz",
                app=ari.app,
                grace=wd.grace_seconds,
                poll=wd.poll_seconds,
            )
            await dog.run(stop)

    asyncio.run(_until_signal(run))


def register(cli: typer.Typer) -> None:
    """Add the system commands to the top-level CLI."""
    cli.command("serve")(serve)
    cli.command("watchdog")(watchdog)
    from cli import web as web_cmd

    cli.command("web")(web_cmd.web)
    from cli import dial as dial_cmd
    from cli import run as run_cmd

    cli.command("run")(run_cmd.run)
    cli.command("dial")(dial_cmd.dial)
