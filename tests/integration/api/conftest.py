"""Fixtures for the API tests: the real app over a real, migrated database.

SQLite: a file per test, copied from a template migrated once per session. PostgreSQL: one
throwaway database `sweepd_api_<random>` per session, migrated, emptied between tests and
dropped at the end. The PostgreSQL variants are marked `postgres`; they fail (never skip) when
no server answers, since CI always has one (`SWEEPD_TEST_POSTGRES_URL` points elsewhere).

Trials are completed without torch or Ray: `finish_trials` claims them as a dispatcher would
and records hand-built `TrialResult`s with small safetensors weights.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sweepd.settings import Settings
from sweepd.storage.database import create_engine
from sweepd.storage.schema import migrate, open_store
from sweepd.storage.store import Store
from sweepd_api import create_app
from tests.integration.api.api_support import User, open_client, serve_app, table_counts, table_names

PG_ADMIN_URL = os.environ.get("SWEEPD_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


# -- databases ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def api_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api-template") / "sweepd.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def api_pg_url() -> Iterator[str]:
    """A migrated throwaway PostgreSQL database for the session, dropped at its end."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"sweepd_api_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: SQLite unless a test is parametrized with 'postgresql'."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        path = tmp_path / "sweepd.db"
        shutil.copyfile(request.getfixturevalue("api_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("api_pg_url")
    tables = [t for t in table_names(url) if t != "alembic_version"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url, auto_migrate=False)
    yield opened
    opened.dispose()


@pytest.fixture
def counts(db_url: str) -> Callable[[], dict[str, int]]:
    return lambda: table_counts(db_url)


# -- the app ----------------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # TestClient sends `Host: testserver`, which the default trusted hosts (loopback) refuse.
    return Settings(data_dir=tmp_path, max_trials_per_sweep=1000,
                    max_trials_in_flight_per_user=5000, max_body_bytes=1 << 20,
                    trusted_hosts="testserver,127.0.0.1,localhost")


@pytest.fixture
def make_app(settings: Settings, store: Store) -> Callable[..., FastAPI]:
    """Build an app over the test's store; keyword arguments go to `create_app`."""

    def make(settings_overrides: dict[str, Any] | None = None, **kwargs: Any) -> FastAPI:
        merged = settings.model_copy(update=settings_overrides or {})
        return create_app(merged, kwargs.pop("store", store), **kwargs)

    return make


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app()


@pytest.fixture
def make_user(store: Store) -> Callable[[str], User]:
    def make(name: str) -> User:
        user = store.create_user(name)
        record, raw = store.create_token(user.id, f"{name}-token")
        return User(user.id, name, raw, record.id)

    return make


@pytest.fixture
def alice(make_user: Callable[[str], User]) -> User:
    return make_user("alice")


@pytest.fixture
def bob(make_user: Callable[[str], User]) -> User:
    return make_user("bob")


@pytest.fixture
def client(app: FastAPI, alice: User) -> Iterator[TestClient]:
    """Alice's client (the app's lifespan runs around the test)."""
    with open_client(app, alice) as test_client:
        yield test_client


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with open_client(app) as test_client:
        yield test_client


# -- a live server (for what TestClient buffers: streams, chunked uploads) ---------------------------


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread of this process."""
    with serve_app(app) as url:
        yield url


