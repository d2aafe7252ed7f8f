"""The ``siaga`` command. Each sub-command group lives in its own module; ``main`` is the entry point."""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from cli import audit, cases, db, directory, errors, logs, provision, report, retention, system, users
from cli.options import group

cli = group(help="Siaga: the 112 / 14084 command-center call platform of Badung regency.")
cli.add_typer(cases.app, name="cases", help="Read the case log (one case per call).")
cli.add_typer(directory.app, name="directory", help="Check and load the agency directory, try a route.")
cli.add_typer(db.app, name="db", help="Create or upgrade the database schema.")
cli.add_typer(audit.app, name="audit", help="Read the audit log of supervisor and admin actions.")
cli.add_typer(logs.app, name="logs", help="Rotate the Asterisk instance's log files.")
cli.add_typer(retention.app, name="retention", help="Remove caller data past its retention period.")
cli.add_typer(users.app, name="users", help="Add, list and disable the web app's users.")
cli.add_typer(report.app, name="report", help="Response-time figures from the case log (KPIs).")
provision.register(cli)
system.register(cli)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"siaga {version('siaga')}")
        except PackageNotFoundError:  # run from a checkout that was not installed
            typer.echo("siaga (not installed)")
        raise typer.Exit()


@cli.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Siaga: the 112 / 14084 command-center call platform of Badung regency."""


# Whatever a command writes without app.files (a log, a bench result) is not for other users: the
# files that hold secrets or caller data are made private where they are written, this is the second line.
UMASK = 0o027


def main() -> None:
    os.umask(UMASK)
    sys.exit(errors.run(lambda: cli(standalone_mode=False), sys.argv[1:]))
