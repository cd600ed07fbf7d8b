"""Open the service's store and create the first admin token: what `serve`, the dispatcher and
the token commands share. Domain only: no API, no executor.

Two guards keep a lost database from passing for a fresh install. An empty database would
make the service create a new admin and overwrite `token.json`, so the service refuses to
start on one where the data directory still holds traces of an earlier database (the token
file, a WAL, the migration lock); and the embedded SQLite file must pass `PRAGMA quick_check`.
The data directory, the database files and the token file are private to their owner.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sweepd import private, tokenfile
from sweepd.errors import Unavailable
from sweepd.settings import Settings
from sweepd.storage.database import SQLITE_SIDE_FILES, quick_check, secure_sqlite_file
from sweepd.storage.store import Store
from sweepd.storage.store_auth import PREFIX_CHARS

log = logging.getLogger("sweepd.bootstrap")


def open_service_store(settings: Settings) -> Store:
    """Open the store; the embedded SQLite default migrates its own file, others must be at head.

    Raises:
        Unavailable: the database is damaged, or was lost while its traces remain.
        SchemaOutOfDate: the database is not at the head and may not migrate itself.
    """
    from sweepd.storage.schema import open_store

    private.private_dir(settings.data_dir)
    tokenfile.secure(settings.resolved_token_file)
    if settings.is_embedded_sqlite:
        _refuse_lost_database(settings)
        quick_check(settings.resolved_database_url)
        secure_sqlite_file(settings.sqlite_path)
    auto = settings.auto_migrate if settings.auto_migrate is not None else settings.is_embedded_sqlite
    return open_store(settings.resolved_database_url, auto_migrate=auto)


def bootstrap_admin(store: Store, settings: Settings) -> str | None:
    """On an empty database, create the admin user and token, save it and return it (once).

    Raises:
        Unavailable: the database has no user but a token file exists: it belongs to a
            database that was lost, and is not overwritten.
    """
    if store.count_users() > 0:
        return None
    path = settings.resolved_token_file
    if path.exists():
        raise Unavailable(_lost_message(settings, f"the token file {path}"))
    user = store.create_user("admin", is_admin=True)
    _, raw = store.create_token(user.id, "default")
    tokenfile.save(settings.url, raw, path)
    log.info("created the admin token %s… and saved it to %s", token_prefix(raw), path)
    return raw


def token_prefix(raw: str) -> str:
    """The part of a token that may be shown and logged (as `sweepd token list` shows it)."""
    return raw[:PREFIX_CHARS]


def _refuse_lost_database(settings: Settings) -> None:
    db = settings.sqlite_path
    if _has_schema(db):
        return
    traces = [settings.resolved_token_file,
              *(db.with_name(db.name + side) for side in SQLITE_SIDE_FILES),
              db.with_name(db.name + ".migrate.lock")]
    found = [str(p) for p in traces if p.exists()]
    if found:
        raise Unavailable(_lost_message(settings, ", ".join(found)))


def _has_schema(db: Path) -> bool:
    """Whether the SQLite file exists with tables in it, read without changing any file.

    With a WAL beside it the tables may live in the WAL alone (a service that died before a
    checkpoint): SQLite recovers that on open, so the file counts as a database. Without one,
    the file is read as `immutable`, which creates no WAL or shared-memory file.
    """
    if not db.exists() or db.stat().st_size == 0:
        return False
    wal = db.with_name(db.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return True
    try:
        connection = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
        try:
            return connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return True  # a damaged file is for quick_check to refuse, with its own message


def _lost_message(settings: Settings, traces: str) -> str:
    return (f"{settings.data_dir} holds traces of an earlier sweepd database ({traces}) but "
            f"the database {_where(settings)} is empty or missing: "
            "it was deleted, moved or lost, and starting afresh would replace its admin token. "
            "Restore the database from a backup (`sweepd backup FILE` makes one), or, to start "
            "a new empty service on purpose, move those files away first. Nothing was changed.")


def _where(settings: Settings) -> str:
    return str(settings.sqlite_path) if settings.is_embedded_sqlite else "at SWEEPD_DATABASE_URL"
