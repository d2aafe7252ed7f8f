"""Settings for a CLI command: a bad configuration is one red line and exit code 2, never a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer

from app.settings import Settings, SettingsError

EXIT_BAD_CONFIG = 2


def load_settings(profile: str | None = None) -> Settings:
    """``Settings.load()`` (with ``--profile`` when given); exits 2 naming file, key and reason on error."""
    try:
        return Settings.load(**({"profile": profile} if profile else {}))
    except SettingsError as exc:
        fail(exc)


def fail(exc: Exception) -> NoReturn:
    """Print ``siaga: <reason>`` in red on stderr and exit 2."""
    typer.secho(f"siaga: {exc}", fg="red", err=True)
    raise typer.Exit(EXIT_BAD_CONFIG)
