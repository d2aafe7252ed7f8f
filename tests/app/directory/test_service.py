from __future__ import annotations

import pytest

from app import db, paths
from app.directory.loader import DirectoryError, load_directory
from app.directory.service import load_into_db, read_directory
from tests.app.cases.databases import sqlite_url

DEMO = load_directory(paths.DEMO_DIRECTORY)


@pytest.fixture
def session(tmp_path):
    url = sqlite_url(tmp_path)
    db.migrate(url)
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_loaded_directory_reads_back_the_same(session):
    summary = load_into_db(session, DEMO)
    assert sorted(summary.added) == sorted(u.id for u in DEMO.units)
    assert read_directory(session) == DEMO


def test_loading_twice_changes_nothing(session):
    load_into_db(session, DEMO)
    again = load_into_db(session, DEMO)
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert len(again.unchanged) == len(DEMO.units)


def test_reloading_updates_changed_units_and_removes_stale_ones(session):
    load_into_db(session, DEMO)
    changed = DEMO.model_copy(deep=True)
    changed.units = [u for u in changed.units if u.id != "psc-petang"]
    changed.units[0].ring_timeout = 25
    changed.agencies.pop("dinsos")
    changed.units = [u for u in changed.units if u.agency != "dinsos"]
    changed.lines["14084"].categories.pop("social")
    summary = load_into_db(session, changed)
    assert sorted(summary.removed) == ["dinsos-desk", "psc-petang"]
    assert summary.updated == [changed.units[0].id]
    assert read_directory(session) == changed


def test_an_invalid_directory_is_not_loaded(session):
    broken = DEMO.model_copy(deep=True)
    broken.units[0].agency = "nobody"
    with pytest.raises(DirectoryError, match="agency 'nobody' is not defined"):
        load_into_db(session, broken, "broken.yaml")


def test_reading_an_empty_database_says_to_load_the_directory(session):
    with pytest.raises(DirectoryError, match="siaga directory load"):
        read_directory(session)
