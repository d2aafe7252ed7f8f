"""The bench's case database: a fresh SQLite file, or a fresh PostgreSQL database.

The bench owns it (``siaga_bench`` on 127.0.0.1:5432, or a file in the run's
folder) and recreates it for every run, so counting cases counts this run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from app.cases.models import Case
from app.db import make_engine, migrate, session_factory

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_NAME = "siaga_bench"


@dataclass(frozen=True)
class CaseCounts:
    cases: int  # rows whose caller number has the prefix
    ended: int  # status "ended"
    completed: int  # disposition "completed", answered by the expected unit, menu choices as pressed


class BenchDatabase:
    def __init__(self, kind: str, workdir: Path) -> None:
        if kind not in ("sqlite", "postgres"):
            raise ValueError("database must be sqlite or postgres")
        self.kind = kind
        self.url = (
            f"postgresql://postgres@127.0.0.1:5432/{PG_NAME}"
            if kind == "postgres"
            else f"sqlite:///{workdir / 'cases.db'}"
        )
        self._sessions: sessionmaker[Session] | None = None  # create() makes the database first

    def create(self) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {PG_NAME}")
        migrate(self.url)
        self._sessions = session_factory(make_engine(self.url))

    def _session(self) -> Session:
        assert self._sessions is not None, "create() the database first"
        return self._sessions()

    def counts(self, prefix: str, *, unit: str, language: str, category: str, district: str) -> CaseCounts:
        with self._session() as session:
            mine = col(Case.caller_number).startswith(prefix)
            cases = session.exec(select(func.count()).select_from(Case).where(mine)).one()
            ended = session.exec(select(func.count()).select_from(Case).where(mine, Case.status == "ended")).one()
            completed = session.exec(
                select(func.count())
                .select_from(Case)
                .where(
                    mine,
                    Case.status == "ended",
                    Case.disposition == "completed",
                    Case.answered_by_unit == unit,
                    Case.language == language,
                    Case.category == category,
                    Case.district == district,
                )
            ).one()
        return CaseCounts(cases, ended, completed)

    def dispositions(self, prefix: str) -> dict[str, int]:
        """How the calls of a step ended, for a report line when something went wrong."""
        with self._session() as session:
            rows = session.exec(
                select(Case.status, Case.disposition, func.count())
                .where(col(Case.caller_number).startswith(prefix))
                .group_by(Case.status, col(Case.disposition))
            ).all()
        return {f"{status}/{disposition}": n for status, disposition, n in rows}
