"""What every ``siaga`` command shares: option declarations with one help text, and plain help screens.

A newcomer reads ``--help`` first: the same option says the same thing in
every command (its choices and default included), and the help is plain text
that fits a terminal (no boxes, no ``<bool>`` labels on flags).
"""

from __future__ import annotations

from typing import Literal

import typer

Profile = Literal["demo", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

PROFILE_HELP = (
    "Settings profile: demo (well-known passwords, demo responders answer unit lines) or production "
    "(secrets required). Default: SIAGA_PROFILE, else production."
)
LOG_LEVEL_HELP = "Log level: DEBUG shows every ARI event (and tracebacks), INFO one line per call step."
DIRECTORY_HELP = "Agency directory YAML file. Default: SIAGA_DIRECTORY, else app/directory/demo-badung.yaml."


def group(**kwargs) -> typer.Typer:
    """A command group: plain help, and its help when called without a command."""
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False, **kwargs)


def profile_option():
    """For ``profile: Profile | None``."""
    return typer.Option(None, "--profile", help=PROFILE_HELP, show_default=False)


def log_level_option():
    """For ``log_level: LogLevel``."""
    return typer.Option("INFO", "--log-level", help=LOG_LEVEL_HELP)


def directory_option():
    return typer.Option(None, "--file", "-f", help=DIRECTORY_HELP, show_default=False)
