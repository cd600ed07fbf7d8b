"""Alembic environment of sweepd.

At run time `sweepd.storage.schema` builds the Alembic config in code and passes an open
connection in `config.attributes["connection"]`; no alembic.ini is needed. For writing a new
revision by hand, `alembic -c migrations/alembic.ini revision --autogenerate -m "..."` uses the
database of the sweepd settings (`SWEEPD_DATABASE_URL`, else the embedded SQLite file).

SQLite cannot ALTER most things in place, so migrations run in batch mode there (Alembic's
"move and copy"); autogenerate renders batch operations accordingly.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from sweepd.storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render sweepd's UTC timestamp as the plain type it stores, so revisions import nothing."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    _run_with_settings_database()


def _run_with_settings_database() -> None:
    # Only for developers running the alembic command line; the service passes a connection.
    from sweepd.settings import load_settings
    from sweepd.storage.database import create_engine, writer

    url = config.get_main_option("sqlalchemy.url") or load_settings().resolved_database_url
    engine = create_engine(url)
    try:
        with writer(engine).connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("sweepd migrations run online only: use `sweepd migrate`")
run_migrations_online()
