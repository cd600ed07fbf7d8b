"""Engines and the one unit-of-work helper.

SQLite is a real default here, not a toy (invariant 8, "no database is locked"): the file runs in
WAL mode so readers never block the writer, every connection waits up to 30 s for the write lock,
and write units of work start with `BEGIN IMMEDIATE`, so that a transaction which reads before it
writes takes the lock up front instead of failing when it tries to upgrade a shared lock (which
SQLite refuses at once, without waiting). pysqlite's own transaction handling is switched off and
SQLAlchemy emits BEGIN itself, following the recipe of SQLAlchemy's SQLite dialect docs
("Enabling Non-Legacy SQLite Transactional Modes").

PostgreSQL goes through psycopg 3; write units of work rely on row locks (`FOR UPDATE`) taken by
the store, and read units of work run as READ ONLY transactions.

Durability of the SQLite file: SQLite folds the WAL back into the main file only once the WAL
passes 1 000 pages (about 4 MiB), which a small service may never write, so the main file stayed
an empty 4 KiB page while every row lived in the WAL. `checkpoint()` folds it back and empties
it; the service runs it on a timer (`Checkpointer`) and at shutdown, so that `sweepd.db` alone
holds the data. `quick_check()` refuses a corrupt file at start; `backup()` copies a live
database with SQLite's online backup API. The files are created readable by their owner only
(`secure_sqlite_file`); SQLite gives the WAL and shared-memory files the main file's mode.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from sweepd import private
from sweepd.errors import Unavailable

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0
# A checkpoint waits this long for readers to move to the newest snapshot, then gives up (and
# tries again at the next tick) rather than hold up writers for the full busy timeout.
CHECKPOINT_BUSY_MS = 2000
SQLITE_SIDE_FILES = ("-wal", "-shm")
_WRITE = "sweepd_write"  # execution option that makes the SQLite BEGIN an IMMEDIATE one


def normalise_url(url: str | URL) -> URL:
    """The URL with the driver sweepd uses: psycopg 3 for PostgreSQL, pysqlite for SQLite.

    Raises:
        ValueError: for a database other than SQLite or PostgreSQL.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise ValueError(f"unsupported database {backend!r}: sweepd runs on SQLite or PostgreSQL")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(url: str | URL) -> str | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, configured as described in the module docstring.

    Args:
        url: `sqlite:///path.db`, `postgresql://...` or `postgresql+psycopg://...`.
        **kwargs: passed on to `sqlalchemy.create_engine` (pool sizes, echo...).

    Returns:
        The engine.

    Raises:
        ValueError: for an unsupported database.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return _sa_create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    if sqlite_file(url) is None:
        # One shared connection, or every checkout would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = _sa_create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # a read of one statement (`single_statement`): SQLite's own implicit transaction
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE, False) else "BEGIN")


def writer(engine: Engine) -> Engine:
    """A view of `engine` whose transactions are write transactions (BEGIN IMMEDIATE on SQLite)."""
    return engine.execution_options(**{_WRITE: True})


def reader(engine: Engine) -> Engine:
    """A view of `engine` whose transactions are read-only (READ ONLY on PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine


def single_statement(engine: Engine) -> Engine:
    """A view of `engine` for a read that is one statement: no transaction around it.

    One SELECT reads one snapshot by itself on both databases; the BEGIN and ROLLBACK around
    it were two statements more (two round trips on PostgreSQL) in every status read, each
    waiting its turn for the GIL while a sweep runs (issue 19).
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def unit_of_work(engine: Engine, *, write: bool = False, single: bool = False
                 ) -> Iterator[Session]:
    """One transaction as an ORM session: commit on success, roll back on error, always close.

    Read-only by default: a read unit of work is rolled back at the end, so nothing it does is
    ever kept (and PostgreSQL refuses its writes outright).

    Args:
        engine: the engine as returned by `create_engine`.
        write: True for a unit of work that changes the database.
        single: a read that runs exactly one statement (`single_statement`).

    Yields:
        The session, already inside its transaction.

    Raises:
        Unavailable: the database could not be reached or refused the transaction.
        sqlalchemy.exc.IntegrityError: a constraint was violated; callers that expect one
            (idempotent submission) handle it, others let it surface as a bug.
    """
    if write and single:
        raise ValueError("a write unit of work is a transaction")
    bound = writer(engine) if write else single_statement(engine) if single else reader(engine)
    session = Session(bound, expire_on_commit=False, autoflush=False)
    try:
        with translate_errors():
            session.begin()
            yield session
            if write:
                session.commit()
            else:
                session.rollback()
    except BaseException:
        _rollback_quietly(session)
        raise
    finally:
        session.close()


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn driver errors into `Unavailable`; constraint violations pass through unchanged."""
    try:
        yield
    except exc.IntegrityError:
        raise
    except (exc.OperationalError, exc.InterfaceError) as err:
        log.warning("database unavailable: %s", err)
        raise Unavailable(f"the database is unavailable: {_short(err)}") from err
    except exc.DBAPIError as err:
        log.error("database error: %s", err)
        raise Unavailable(f"database error: {_short(err)}") from err


def _short(err: exc.DBAPIError) -> str:
    return str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except exc.SQLAlchemyError:
        log.debug("rollback after an error failed too", exc_info=True)


# -- durability of the SQLite file ---------------------------------------------------------------


def checkpoint(engine: Engine) -> tuple[int, int, int] | None:
    """Copy the WAL into the main SQLite file and truncate it (`PRAGMA wal_checkpoint(TRUNCATE)`).

    Runs on a raw pooled connection outside any transaction (a checkpoint inside one is refused).

    Returns:
        SQLite's (busy, WAL frames, frames checkpointed), or None when `engine` is not a SQLite
        file. busy = 1 means a reader still used an old snapshot: the WAL was not emptied.

    Raises:
        Unavailable: the database could not be reached.
    """
    if not checkpoint_applies(engine):
        return None
    with translate_errors():
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
                row = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
                cursor.close()
        finally:
            raw.close()
    busy, frames, done = (int(v) for v in row)
    if busy:
        log.warning("checkpoint incomplete: a reader held an old snapshot (%d of %d frames)",
                    done, frames)
    return busy, frames, done


class Checkpointer:
    """Checkpoints a SQLite database every `period` seconds in a daemon thread, and once more
    when stopped (the service's shutdown), so the WAL never holds more than one period of work.
    Inert for PostgreSQL and in-memory SQLite.
    """

    def __init__(self, engine: Engine, period: float) -> None:
        self._engine = engine
        self._period = period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if checkpoint_applies(self._engine):
            self._thread = threading.Thread(target=self._run, name="sweepd-checkpoint",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the timer and checkpoint a last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(CHECKPOINT_BUSY_MS / 1000 + 5)
            self._thread = None
        self._checkpoint_quietly()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self._checkpoint_quietly()

    def _checkpoint_quietly(self) -> None:
        try:
            checkpoint(self._engine)
        except Unavailable:
            log.warning("checkpoint failed; retrying at the next period", exc_info=True)


def checkpoint_applies(engine: Engine) -> bool:
    return is_sqlite(engine) and sqlite_file(engine.url) is not None


def quick_check(url: str | URL) -> None:
    """Refuse a corrupt SQLite file before the service uses it (`PRAGMA quick_check`).

    Raises:
        Unavailable: the file is not a database, or quick_check reports damage.
    """
    path = sqlite_file(url)
    if path is None or not Path(path).exists():
        return
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        rows = [r[0] for r in connection.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as err:
        rows = [str(err)]
    finally:
        connection.close()
    if rows != ["ok"]:
        raise Unavailable(
            f"the database {path} is damaged (PRAGMA quick_check: {'; '.join(rows[:5])}); "
            "the service will not use it: restore it from a backup (`sweepd backup` makes one)")


def backup(engine: Engine, target: Path) -> Path:
    """Copy a live SQLite database to `target` with SQLite's online backup API.

    The copy is consistent (one snapshot) while the service keeps running, is written next to
    `target` first and renamed into place, and is readable by its owner only.

    Raises:
        ValueError: `engine` is not a SQLite file (PostgreSQL: use pg_dump).
        FileExistsError: `target` exists (a backup never overwrites one).
        Unavailable: the database could not be read.
    """
    if not checkpoint_applies(engine):
        raise ValueError("online backup copies a SQLite file; back PostgreSQL up with pg_dump")
    if target.exists():
        raise FileExistsError(f"{target} exists; a backup does not overwrite a file")
    partial = target.with_name(f".{target.name}.partial")
    secure_sqlite_file(partial)
    with translate_errors():
        raw = engine.raw_connection()
        try:
            destination = sqlite3.connect(partial)
            try:
                raw.driver_connection.backup(destination)
            finally:
                destination.close()
        finally:
            raw.close()
    partial.replace(target)
    return target


def secure_sqlite_file(path: Path) -> None:
    """Create a SQLite file (if missing) and its side files readable by their owner only.

    SQLite creates the WAL and shared-memory files with the main file's mode, so creating the
    main file 0600 before SQLite does keeps all three private; wider modes are narrowed.
    """
    private.create_private(path)
    for side in SQLITE_SIDE_FILES:
        private.narrow(path.with_name(path.name + side))
