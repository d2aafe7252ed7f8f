"""Commands that run or provision the system: run, dial, asterisk, prompts, db."""
from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Add the system commands to the top-level CLI."""
