"""The database: engines, sessions, migrations.

SQLite (a file under var/) by default, PostgreSQL when the URL says so. The
schema is owned by Alembic (``app/migrations``); nothing calls
``create_all``, so a database is always at a known revision.
Every timestamp column goes through ``UtcDateTime``: aware UTC in, aware
UTC out, on both back ends.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from app.clock import as_utc
from app.files import FILE_MODE, private_dir

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class UtcDateTime(TypeDecorator):
    """``timestamptz`` on PostgreSQL; naive-UTC text on SQLite, made aware again on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        value = as_utc(value)
        # SQLite has no time zone type: store UTC without an offset so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` (and ``postgres://``) mean psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        _private_sqlite_file(Path(parsed.database))
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    _sqlite_pragmas(engine)
    return engine


def _private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask: 0644).

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they follow.
    An existing file is never opened here, only its mode tightened: closing any descriptor
    on it would drop every POSIX lock this process holds on it, SQLite's included. Another
    process closing its connection would then take itself for the last one, checkpoint and
    delete the WAL this process still writes to (reproduced: the call service's cases vanished
    after a ``siaga dial``; ``tests/app/test_db.py``).
    """
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        mode = path.stat().st_mode
        if stat.S_ISREG(mode) and mode & stat.S_IRWXO:
            os.chmod(path, stat.S_IMODE(mode) & ~stat.S_IRWXO)
        return
    os.close(fd)  # new: no connection of this process can hold a lock on it yet


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the call service's writes
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql(f"BEGIN {connection.get_execution_options().get(_SQLITE_BEGIN, 'DEFERRED')}")


_SQLITE_BEGIN = "siaga_sqlite_begin"


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (call first thing in a function that writes).

    On SQLite a deferred transaction that reads and then writes fails at once
    with SQLITE_BUSY when another writer committed in between; busy_timeout
    does not help there. ``BEGIN IMMEDIATE`` takes the write lock up front, so
    concurrent writers queue instead, while plain readers stay deferred and
    never block anyone. A no-op on PostgreSQL and inside a running transaction.
    """
    if not session.in_transaction():
        session.connection(execution_options={_SQLITE_BEGIN: "IMMEDIATE"})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the call flow keeps them around)."""
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


def import_models() -> type[SQLModel]:
    """Import every table module so ``SQLModel.metadata`` is complete; returns SQLModel."""
    import app.audit.models  # noqa: F401
    import app.cases.models  # noqa: F401
    import app.directory.models  # noqa: F401
    import app.users.models  # noqa: F401

    return SQLModel


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(url: str | Engine, revision: str = "head") -> str | None:
    """Run Alembic ``upgrade`` to ``revision``; returns the revision the database is now at."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
        return current_revision(engine)
    finally:
        if engine is not url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this code knows (what ``migrate`` goes to)."""
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)
    return ScriptDirectory.from_config(config).get_current_head()


def has_schema(engine: Engine) -> bool:
    """Whether migrations have run at all (read-only tools say so instead of crashing)."""
    with engine.connect() as connection:
        return inspect(connection).has_table("alembic_version")


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)
