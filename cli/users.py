"""``siaga users``: the web app's users. Every change is written to the audit log."""

from __future__ import annotations

import json
import sys

import typer

from app.clock import local_text
from app.settings import Settings
from app.users import service
from app.users.demo import DEMO_USERS, ensure_demo_users
from app.users.models import ROLES
from cli import tables
from cli.audit import note
from cli.config import load_settings
from cli.db import open_session
from cli.errors import UserError
from cli.options import Profile, group, profile_option

app = group()
ROLE_HELP = f"The user's role: {', '.join(ROLES)} (each may do what the ones before it may)."


def open_users_session(settings: Settings):
    """A session on a database with the users table (revision 0004), or exit 1 saying how to get there."""
    session = open_session(settings.database.url)
    if not session.connection().dialect.has_table(session.connection(), "users"):
        session.close()
        raise UserError("the database has no users table yet; run `siaga db upgrade` first", code=1)
    return session


def require_current_schema(settings: Settings) -> None:
    """Exit 1 when the database is behind this code's migrations (the web app reads every column)."""
    from app import db

    engine = db.make_engine(settings.database.url)
    try:
        now, head = db.current_revision(engine), db.head_revision()
    finally:
        engine.dispose()
    if now != head:
        raise UserError(f"the database is at revision {now}, this siaga needs {head}; run `siaga db upgrade`", code=1)


def _password(name: str) -> str:
    """From a hidden prompt (asked twice) at a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line.strip():
        raise UserError("no password on stdin (give it as the first line, or run at a terminal to be asked)")
    return line.rstrip("\r\n")


@app.command()
def add(
    name: str = typer.Argument(..., help="User name: lower-case letters, digits, '.', '_', '-'."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
) -> None:
    """Add a user. The password is asked for at a terminal, else read from the first line of stdin."""
    try:
        service.check_name(name)
        service.check_role(role)
    except service.UserProblem as exc:
        raise UserError(str(exc)) from None
    settings = load_settings()
    with open_users_session(settings) as session:
        if service.get_user(session, name) is not None:
            raise UserError(f"user {name!r} already exists")
        try:
            service.create_user(session, name, role, service.check_password(name, _password(name)))
        except service.UserProblem as exc:
            raise UserError(str(exc)) from None
    typer.echo(f"added {name} ({role})")
    note(settings.database.url, "users.add", name, {"role": role})


@app.command()
def disable(name: str = typer.Argument(..., help="The user to disable.")) -> None:
    """Disable a user: they cannot log in, and their sessions and tokens stop working at once."""
    settings = load_settings()
    with open_users_session(settings) as session:
        try:
            changed = service.disable_user(session, name)
        except service.UserNotFound as exc:
            raise UserError(str(exc), code=1) from None
    if not changed:
        typer.echo(f"{name} was already disabled")
        return
    typer.echo(f"disabled {name}")
    note(settings.database.url, "users.disable", name)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print a JSON array (times in UTC).")) -> None:
    """List users by name (times in Badung, WITA)."""
    with open_users_session(load_settings()) as session:
        users = [service.user_as_dict(u) for u in service.list_users(session)]
    if as_json:
        typer.echo(json.dumps(users, indent=2, ensure_ascii=False))
        return
    out = tables.console()
    if not users:
        out.print("no users (add one with `siaga users add NAME --role ROLE`)")
        return
    table = tables.table(tables.key("Name"), tables.key("Role"), tables.key("State"), tables.key("Since (WITA)"))
    for u in users:
        since = u["disabled_at"] if u["disabled"] else u["created_at"]
        table.add_row(u["name"], u["role"], "disabled" if u["disabled"] else "active", local_text(since)[:16])
    out.print(table)


@app.command()
def demo(profile: Profile | None = profile_option()) -> None:
    """Create the demo users (password siaga-demo); only in the demo profile."""
    settings = load_settings(profile)
    if not settings.demo:
        raise UserError("the demo users exist only in the demo profile (use --profile demo)")
    with open_users_session(settings) as session:
        created = ensure_demo_users(session)
    names = ", ".join(name for name, _ in DEMO_USERS)
    typer.echo(f"demo users: {names} (password siaga-demo)" + ("" if created else "; all were there"))
    if created:
        note(settings.database.url, "users.demo", settings.database.url, {"created": created})
