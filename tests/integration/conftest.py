"""Fixtures for the storage tests: one migrated database per backend, a movable clock, helpers.

Every store test runs on SQLite (a file per test, copied from a template migrated once) and on
PostgreSQL (a throwaway database `sweepd_test_<random>` created for the session and dropped at
its end; tables are emptied between tests). PostgreSQL tests are skipped only when no server
answers, and never in CI (`CI` set), where one always runs.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from sweepd.storage.database import create_engine
from sweepd.storage.schema import migrate
from sweepd.storage.store import Store

PG_ADMIN_URL = os.environ.get("SWEEPD_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TABLES = ("results", "trials", "sweep_growths", "sweeps", "web_sessions", "api_tokens", "users",
          "dispatcher_leases", "datasets", "dataset_blobs", "weight_blobs")


def _pg_reachable() -> bool:
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The maintenance database URL of the local PostgreSQL server (skip if none answers)."""
    if not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} in CI")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def pg_database_factory(pg_admin_url: str) -> Iterator[Callable[[], str]]:
    """Creates empty throwaway databases; every one of them is dropped at the session's end."""
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"sweepd_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        created.append(name)
        return sa.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated_url(pg_database_factory: Callable[[], str]) -> str:
    url = pg_database_factory()
    migrate(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "sweepd.db"
    migrate(f"sqlite:///{path}")
    return path


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "sweepd.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated_url")
    _empty_tables(url)
    return url


class FakeClock:
    """A clock that only moves when told to, so that leases expire without sleeping."""

    def __init__(self) -> None:
        self._now = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    engine = create_engine(store_url)
    yield Store(engine, clock=clock)
    engine.dispose()


@pytest.fixture
def real_clock_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store on the real clock, for a real dispatcher to lease from."""
    from sweepd.storage import open_store

    opened = open_store(f"sqlite:///{tmp_path / 'sweepd.db'}", auto_migrate=True)
    yield opened
    opened.dispose()


@pytest.fixture
def owner(store: Store) -> int:
    return store.create_user("alice").id
