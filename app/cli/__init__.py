"""The ``siaga`` command. Each sub-command group lives in its own module."""

from __future__ import annotations

import os

import typer

from app.cli import audit, cases, db, directory, provision, system

cli = typer.Typer(
    help="Siaga: the 112 / 14084 command-center call platform of Badung regency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(cases.app, name="cases", help="Read the case log (one case per call).")
cli.add_typer(directory.app, name="directory", help="Check and load the agency directory.")
cli.add_typer(db.app, name="db", help="Create or upgrade the database schema.")
cli.add_typer(audit.app, name="audit", help="Read the audit log of supervisor and admin actions.")
provision.register(cli)
system.register(cli)


# Whatever a command writes without app.files (a log, a bench result) is not for other users: the
# files that hold secrets or caller data are made private where they are written, this is the second line.
UMASK = 0o027


def main() -> None:
    os.umask(UMASK)
    cli()
