"""Alembic environment: the schema is ``SQLModel.metadata`` with every table module imported.

``app.db.migrate`` hands over an open connection in ``config.attributes``.
Run by hand (``alembic -c app/migrations/alembic.ini upgrade head``) it uses
the configured ``DATABASE_URL`` instead.
"""

from __future__ import annotations

from alembic import context

from app.db import import_models, make_engine

target_metadata = import_models().metadata


def _render_item(type_, obj, autogen_context):
    """Autogenerate plain SQLAlchemy types, so revisions do not import the models' helpers."""
    if type_ != "type":
        return False
    name = type(obj).__name__
    if name == "UtcDateTime":
        return "sa.DateTime(timezone=True)"
    if name == "AutoString":
        return f"sa.String({obj.length})" if obj.length else "sa.String()"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables in later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from app.settings import Settings

    engine = make_engine(Settings.load().database.url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
