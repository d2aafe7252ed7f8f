"""The ``siaga`` command. Each sub-command group lives in its own module."""

from __future__ import annotations

import typer

from app.cli import audit, cases, db, directory, logs, provision, retention, system

cli = typer.Typer(
    help="Siaga: the 112 / 14084 command-center call platform of Badung regency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(cases.app, name="cases", help="Read the case log (one case per call).")
cli.add_typer(directory.app, name="directory", help="Check and load the agency directory.")
cli.add_typer(db.app, name="db", help="Create or upgrade the database schema.")
cli.add_typer(audit.app, name="audit", help="Read the audit log of supervisor and admin actions.")
cli.add_typer(logs.app, name="logs", help="Rotate the Asterisk instance's log files.")
cli.add_typer(retention.app, name="retention", help="Remove caller data past its retention period.")
provision.register(cli)
system.register(cli)


def main() -> None:
    cli()
