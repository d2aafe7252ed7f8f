from __future__ import annotations

import os
import stat
from datetime import UTC

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app import db
from tests.app.cases.databases import postgres_available, sqlite_url, throwaway_postgres
from tests.support.parts import need


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _differences(url: str) -> list:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, db.import_models().metadata)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    with throwaway_postgres() as url:
        yield url


def test_migrations_upgrade_an_empty_database_to_head_matching_the_models(empty_database):
    assert db.migrate(empty_database) == _head()
    assert _differences(empty_database) == []
    assert db.migrate(empty_database) == _head()  # a second upgrade is a no-op


def test_plain_postgresql_urls_mean_psycopg_3():
    assert db.normalise_url("postgresql://u@h/siaga") == "postgresql+psycopg://u@h/siaga"
    assert db.normalise_url("postgres://u@h/siaga") == "postgresql+psycopg://u@h/siaga"
    assert db.normalise_url("postgresql+psycopg://u@h/siaga") == "postgresql+psycopg://u@h/siaga"
    assert db.make_engine("postgresql://u@h/siaga").dialect.driver == "psycopg"


def test_sqlite_database_gets_its_folder_wal_and_busy_timeout(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'nested' / 'siaga.db'}"
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == db.SQLITE_BUSY_TIMEOUT_MS
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (tmp_path / "var" / "nested" / "siaga.db").exists()
    finally:
        engine.dispose()


def test_has_schema_tells_a_migrated_database_from_an_empty_one(tmp_path):
    url = sqlite_url(tmp_path)
    engine = db.make_engine(url)
    try:
        assert not db.has_schema(engine)
        db.migrate(url)
        assert db.has_schema(engine) and db.current_revision(engine) == _head()
        assert {"cases", "attempts", "case_events", "agencies", "units"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_describe_hides_the_password():
    assert "s3cret" not in db.describe("postgresql://siaga:s3cret@db/siaga")


def test_an_open_read_transaction_does_not_block_a_writer_on_sqlite(tmp_path):
    from datetime import datetime

    from app.cases import service
    from tests.app.cases import writers

    url = sqlite_url(tmp_path)
    db.migrate(url)
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    try:
        with sessions() as reader, sessions() as writer:
            assert service.list_cases(reader) == []  # the reader's transaction stays open
            opened = writers.open_case(
                writer, line="112", caller_number=None, channel_id="c", received_at=datetime.now(UTC)
            )
            reader.rollback()
            assert [c.ticket for c in service.list_cases(reader)] == [opened.ticket]
    finally:
        engine.dispose()


def test_a_sqlite_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        url = f"sqlite:///{tmp_path / 'new' / 'siaga.db'}"
        db.migrate(url)
        engine = db.make_engine(url)
        with engine.connect() as connection:  # WAL mode: -wal and -shm exist while connected
            connection.execute(text("SELECT 1"))
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "new").iterdir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert files == {"siaga.db": 0o600, "siaga.db-wal": 0o600, "siaga.db-shm": 0o600}
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_a_second_engine_on_the_same_sqlite_file_does_not_cost_the_first_its_writes(tmp_path):
    """Reproduced with `make run`: the call service's writes vanished after a `siaga dial`.

    Opening and closing the database file in a process drops every POSIX lock that process
    holds on it, SQLite's included. Another process closing its connection then believes it is
    the last one, checkpoints and deletes the WAL the first process still writes to.
    """
    import sqlite3
    import subprocess
    import sys

    path = tmp_path / "cases.db"
    service = sqlite3.connect(path, isolation_level=None)  # holds its SHARED lock while open (WAL mode)
    service.execute("PRAGMA journal_mode=WAL")
    service.execute("CREATE TABLE t (n INTEGER)")
    service.execute("INSERT INTO t VALUES (1)")
    db.make_engine(f"sqlite:///{path}")  # a later engine in the same process (e.g. the migration's)
    reader = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('select count(*) from t').fetchall(); c.close()"
    subprocess.run([sys.executable, "-c", reader, str(path)], check=True)  # a CLI reading, then going
    assert (tmp_path / "cases.db-wal").exists()
    service.execute("INSERT INTO t VALUES (2)")
    count = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from t').fetchone()[0])"
    seen = subprocess.run([sys.executable, "-c", count, str(path)], check=True, capture_output=True, text=True)
    service.close()
    assert seen.stdout.strip() == "2"
