"""Alembic glue: migrate a database to the head revision, check that it is there, open a store.

The schema only changes through the revisions in `migrations/versions` (invariant 6). The
service calls `verify_schema()` at start-up and refuses to serve an old or unmigrated database
with a message saying what to run; `sweepd migrate` calls `migrate()`. The embedded SQLite
default migrates its own file (`open_store(url, auto_migrate=True)`).

Two processes may start on one empty database at the same moment (two API replicas, or the
service and `sweepd migrate`): the upgrade runs under a lock, an fcntl lock on a file next to a
SQLite database or a session-level advisory lock on PostgreSQL, so the second process waits and
then finds the schema already at the head.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from sweepd.errors import SchemaOutOfDate, Unavailable
from sweepd.storage.database import create_engine, sqlite_file, translate_errors, writer
from sweepd.storage.store import Store

log = logging.getLogger(__name__)

MIGRATE_COMMAND = "sweepd migrate"
# Any fixed 64-bit number: the key of the PostgreSQL advisory lock that serialises migrations.
_PG_LOCK_KEY = 0x5357_4545_5044  # "SWEEPD"


def alembic_config() -> Config:
    """The Alembic configuration, built in code: no alembic.ini is read at run time."""
    config = Config()
    # A package resource, not an import: the migrations import the ORM models, so an import
    # here would tie the two packages both ways.
    config.set_main_option("script_location", "sweepd_migrations:")
    return config


def head_revision() -> str:
    """The revision this version of sweepd expects the database to be at.

    Raises:
        RuntimeError: the scripts have more than one head (a merge revision is missing).
    """
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({heads}); expected one")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database.

    Raises:
        sweepd.errors.Unavailable: the database cannot be reached.
    """
    with translate_errors(), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(url: str) -> None:
    """Upgrade the database at `url` to the head revision (`sweepd migrate`).

    Safe to call from several processes at once: they take turns under a lock.

    Args:
        url: a SQLite or PostgreSQL URL.

    Raises:
        sweepd.errors.Unavailable: the database cannot be reached.
    """
    engine = create_engine(url)
    try:
        migrate_engine(engine)
    finally:
        engine.dispose()


def migrate_engine(engine: Engine) -> None:
    """Upgrade the database behind `engine` to the head revision, under the migration lock.

    Raises:
        sweepd.errors.Unavailable: the database cannot be reached.
    """
    with translate_errors(), _migration_lock(engine):
        before = current_revision(engine)
        with writer(engine).begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        after = current_revision(engine)
    if before != after:
        log.info("migrated the database from %s to %s", before or "an empty schema", after)


def verify_schema(engine: Engine) -> None:
    """Check that the database is at the head revision.

    Raises:
        SchemaOutOfDate: with the revisions found and expected, and the command to run.
        sweepd.errors.Unavailable: the database cannot be reached.
    """
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config())
             .walk_revisions()}
    if current is not None and current not in known:
        raise SchemaOutOfDate(
            f"the database schema is at revision {current}, which this version of sweepd does "
            f"not know (it expects {head}): the database was migrated by a newer sweepd; "
            "upgrade sweepd"
        )
    found = current or "none (the database has never been migrated)"
    raise SchemaOutOfDate(
        f"the database schema is at revision {found}, but this version of sweepd needs "
        f"revision {head}: run `{MIGRATE_COMMAND}` (with the same SWEEPD_DATABASE_URL) to "
        "upgrade it"
    )


def open_store(url: str, *, auto_migrate: bool) -> Store:
    """A store on `url`, after migrating (auto_migrate) or verifying the schema.

    Args:
        url: a SQLite or PostgreSQL URL.
        auto_migrate: upgrade the schema to the head first (the embedded SQLite default does).

    Returns:
        The store; call `Store.dispose()` when done.

    Raises:
        SchemaOutOfDate: `auto_migrate` is False and the schema is not at the head.
        sweepd.errors.Unavailable: the database cannot be reached.
    """
    engine = create_engine(url)
    try:
        if auto_migrate:
            migrate_engine(engine)
        else:
            verify_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with _pg_advisory_lock(engine):
            yield
        return
    path = sqlite_file(engine.url)
    if path is None:  # an in-memory database belongs to this process alone
        yield
        return
    with _file_lock(Path(path).with_name(Path(path).name + ".migrate.lock")):
        yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        handle = path.open("a+")
    except OSError as err:
        raise Unavailable(f"the database is unavailable: cannot open {path}: {err}") from err
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _pg_advisory_lock(engine: Engine) -> Iterator[None]:
    # A session-level lock on its own autocommit connection: it outlives the migration's
    # transaction and is released explicitly (or by the server if this process dies).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
