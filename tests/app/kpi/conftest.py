"""The KPI query runs against both back ends: the case tests' SQLite file and real PostgreSQL."""

from tests.app.cases.conftest import database_url, engine, postgres_engine, postgres_url, session, sessions  # noqa: F401
