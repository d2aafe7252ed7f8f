"""Case tests run against both back ends: a SQLite file and a real PostgreSQL."""

from __future__ import annotations

import pytest

from app import db
from tests.app.cases.databases import empty_tables, migrated_engine, postgres_available, sqlite_url, throwaway_postgres
from tests.support.parts import need


@pytest.fixture(scope="session")
def postgres_url():
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_engine(postgres_url):
    engine = migrated_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        db.migrate(url)
        return url
    empty_tables(request.getfixturevalue("postgres_engine"))
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url, request):
    if database_url.startswith("postgresql"):
        yield request.getfixturevalue("postgres_engine")  # shared by the session, disposed there
        return
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return db.session_factory(engine)


@pytest.fixture
def session(sessions):
    with sessions() as session:
        yield session
