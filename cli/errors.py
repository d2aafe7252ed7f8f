"""How ``siaga`` fails: one line ``siaga: <what went wrong>`` on stderr and a non-zero exit, never a traceback.

Commands check their input before acting and raise ``UserError`` (exit 2) for
bad input; ``run`` turns anything else into one line too (exit 1). The
traceback is shown only when asked for: ``SIAGA_DEBUG=1``, or
``--log-level DEBUG`` anywhere on the command line.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence

import typer
from typer._click import exceptions as click  # Typer vendors its own click: its exceptions are these

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130


class UserError(click.ClickException):
    """Bad input or a state the user can fix; the message says what and how (exit 2 unless told)."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = code

    def show(self, file: object = None) -> None:  # what Typer calls in standalone mode (tests)
        say(self.format_message())


def debugging(argv: Sequence[str]) -> bool:
    if os.environ.get("SIAGA_DEBUG", "").lower() in {"1", "true", "yes"}:
        return True
    args = list(argv)
    return "--log-level=DEBUG" in args or any(
        a == "--log-level" and i + 1 < len(args) and args[i + 1].upper() == "DEBUG" for i, a in enumerate(args)
    )


def say(message: str) -> None:
    typer.secho(f"siaga: {message}", fg="red", err=True)


def run(command: Callable[[], object], argv: Sequence[str]) -> int:
    """Run the click ``command`` (standalone_mode off); returns the exit code."""
    try:
        code = command()  # without standalone mode a typer.Exit comes back as its code
        return code if isinstance(code, int) else 0
    except click.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "siaga"
        say(f"{exc.format_message()} (see `{where} --help`)")
        return EXIT_BAD_INPUT
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        if exc.__cause__ is not None and debugging(argv):
            traceback.print_exception(exc.__cause__)
        say(exc.format_message())
        return exc.exit_code
    except Exception as exc:  # anything unexpected: one line, the traceback on request
        if debugging(argv):
            traceback.print_exc()
        say(f"{_describe(exc)} (SIAGA_DEBUG=1 shows where)")
        return EXIT_FAILED


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def exit_with(code: int) -> None:
    sys.exit(code)
