"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL databases are created through the ``postgres`` maintenance
database and dropped (forcibly, in case a pool still holds a connection)
when the context ends.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app import db

PG_SERVER = os.environ.get("SIAGA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TABLES = ("case_events", "attempts", "cases", "units", "agencies", "directory_parts")


def postgres_available() -> bool:
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A URL to a brand-new, empty PostgreSQL database; dropped afterwards."""
    name = f"siaga_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'siaga.db'}"


def empty_tables(engine: Engine) -> None:
    """Back to a migrated but empty database (and ids from 1 again)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))


def migrated_engine(url: str) -> Engine:
    db.migrate(url)
    return db.make_engine(url)
