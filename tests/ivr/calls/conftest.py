"""Call flow tests use the real case store (journal in tmp_path) on a SQLite file (migrated once, copied per test)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from app import db, paths
from app.directory.loader import load_directory
from ivr.calls.casestore import CaseStore
from ivr.engine.menus import load_menus
from tests.ivr.calls.support import Call, FakePort


@pytest.fixture(scope="session")
def migrated(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "siaga.db"
    db.migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sessions(migrated, tmp_path):
    for suffix in ("", "-wal", "-shm"):
        source = migrated.with_name(migrated.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / source.name)
    engine = db.make_engine(f"sqlite:///{tmp_path / migrated.name}")
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture
def store(sessions, tmp_path):
    store = CaseStore(sessions, tmp_path / "journal")
    yield store
    store.close()


@pytest.fixture(scope="session")
def menus():
    return load_menus()


@pytest.fixture(scope="session")
def quick_menus(tmp_path_factory):
    """The shipped menus with every silence timeout cut to a few milliseconds."""
    folder = tmp_path_factory.mktemp("menus")
    for path in paths.MENUS.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for menu in data["menus"].values():
            menu["timeout"] = 0.01
        (folder / path.name).write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_menus(folder)


@pytest.fixture(scope="session")
def directory():
    return load_directory(paths.DEMO_DIRECTORY)


@pytest.fixture
def port():
    return FakePort()


@pytest.fixture
def new_call(port, store, sessions, menus, directory, tmp_path):
    def make(line: str = "112", menus=menus, agent_work=None) -> Call:
        return Call(
            line=line,
            port=port,
            store=store,
            sessions=sessions,
            menus=menus,
            directory=directory,
            recordings=tmp_path / "recordings",
            agent_work=agent_work,
        )

    return make
