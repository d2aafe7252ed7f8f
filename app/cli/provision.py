"""Provisioning commands: asterisk, prompts."""
from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Add the provisioning commands to the top-level CLI."""
