"""Commands that run the system: ``run`` (everything, foreground), ``serve`` (the call service), ``dial``."""
from __future__ import annotations

import asyncio
import signal
import sys

import typer

from app import logs
from app.settings import Settings, SettingsError

PROFILE = typer.Option(None, "--profile", help="demo: well-known passwords and the demo responder; production: secrets required.")


def _settings(profile: str | None) -> Settings:
    try:
        settings = Settings.load(**({"profile": profile} if profile else {}))
        settings.check_secrets()
        return settings
    except (SettingsError, ValueError) as exc:
        typer.secho(f"siaga: {exc}", fg="red", err=True)
        raise typer.Exit(2)


async def _until_signal(run) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


def serve(profile: str | None = PROFILE, log_level: str = typer.Option("INFO", help="DEBUG shows every ARI event.")) -> None:
    """Run the call service alone (Asterisk runs elsewhere). Stops on Ctrl-C / SIGTERM."""
    from ivr.service import CallService

    logs.setup(log_level)
    settings = _settings(profile)
    try:
        service = CallService(settings)
    except Exception as exc:  # a bad directory, menu or prompt: say which, do not start
        typer.secho(f"siaga: cannot start the call service: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    asyncio.run(_until_signal(service.run))


def register(cli: typer.Typer) -> None:
    """Add the system commands to the top-level CLI."""
    cli.command("serve")(serve)
    from app.cli import run as run_cmd, dial as dial_cmd

    cli.command("run")(run_cmd.run)
    cli.command("dial")(dial_cmd.dial)
