"""Migrations (invariant 6): one head, models == migrated schema on both backends, a start-up
check that refuses an unmigrated database, and migrations that several processes can start at once.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sweepd.errors import SchemaOutOfDate, Unavailable
from sweepd.storage import schema
from sweepd.storage.database import create_engine, writer
from sweepd.storage.models import Base
from sweepd.storage.schema import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    open_store,
    verify_schema,
)

TABLES = {"users", "api_tokens", "web_sessions", "sweeps", "sweep_growths", "trials", "results",
          "dispatcher_leases", "dataset_blobs", "datasets", "weight_blobs"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database that has never been migrated, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("pg_database_factory")()


def schema_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def user_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def downgrade_to_base(url: str) -> None:
    engine = create_engine(url)
    with writer(engine).begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    engine.dispose()


def test_migration_scripts_have_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [head_revision()]


def test_upgrade_of_an_empty_database_matches_the_models(empty_url: str) -> None:
    migrate(empty_url)
    assert user_tables(empty_url) == TABLES
    assert schema_diff(empty_url) == []
    engine = create_engine(empty_url)
    assert current_revision(engine) == head_revision()
    verify_schema(engine)
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again_restores_the_schema(empty_url: str) -> None:
    migrate(empty_url)
    downgrade_to_base(empty_url)
    assert user_tables(empty_url) == set()
    migrate(empty_url)
    assert schema_diff(empty_url) == []


def test_verify_schema_refuses_an_unmigrated_database(empty_url: str) -> None:
    engine = create_engine(empty_url)
    with pytest.raises(SchemaOutOfDate) as caught:
        verify_schema(engine)
    engine.dispose()
    assert "sweepd migrate" in caught.value.detail
    assert "never been migrated" in caught.value.detail and head_revision() in caught.value.detail
    with pytest.raises(SchemaOutOfDate, match="sweepd migrate"):
        open_store(empty_url, auto_migrate=False)
    assert user_tables(empty_url) == set()


def test_verify_schema_refuses_a_downgraded_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url)
    downgrade_to_base(url)
    with pytest.raises(SchemaOutOfDate, match="sweepd migrate"):
        open_store(url, auto_migrate=False)


def test_verify_schema_refuses_a_revision_from_a_newer_sweepd(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    migrate(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    with pytest.raises(SchemaOutOfDate, match="newer sweepd") as caught:
        verify_schema(engine)
    engine.dispose()
    assert "f00dcafe" in caught.value.detail


def test_open_store_migrates_an_empty_database_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'embedded.db'}"
    (tmp_path / "data").mkdir()
    store = open_store(url, auto_migrate=True)
    try:
        assert store.count_users() == 0
        verify_schema(store.engine)
    finally:
        store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        (tmp_path / "not-a-directory").write_text("")
        return f"sqlite:///{tmp_path / 'not-a-directory' / 'sweepd.db'}"
    return "postgresql://postgres@127.0.0.1:1/sweepd"  # nothing listens on port 1


def test_open_store_on_an_unreachable_database_raises_unavailable(unreachable_url: str) -> None:
    for auto_migrate in (False, True):
        with pytest.raises(Unavailable, match="unavailable"):
            open_store(unreachable_url, auto_migrate=auto_migrate)


# -- two processes at once ------------------------------------------------------------------------


def _migrate_after_barrier(url: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait(timeout=60)
    migrate(url)


def test_migrate_from_two_processes_at_once_succeeds(empty_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    procs = [spawn.Process(target=_migrate_after_barrier, args=(empty_url, barrier))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    assert schema_diff(empty_url) == []
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def _blocked_on_flock(pid: int) -> bool:
    # /proc/locks lists the processes waiting for a lock with "->" before the lock's line.
    lines = Path("/proc/locks").read_text().splitlines()
    return any("->" in line and f" {pid} " in f" {line} " for line in lines)


def _blocked_on_advisory_lock(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
            return bool(waiting.scalar())
    finally:
        engine.dispose()


def test_migrate_waits_for_the_migration_lock_held_elsewhere(empty_url: str) -> None:
    engine = create_engine(empty_url)
    code = f"from sweepd.storage.schema import migrate; migrate({empty_url!r})"
    with schema._migration_lock(engine):
        child = subprocess.Popen([sys.executable, "-c", code])
        try:
            if engine.dialect.name == "sqlite":
                _wait_until(lambda: _blocked_on_flock(child.pid), "the child waits on the lock")
            else:
                _wait_until(lambda: _blocked_on_advisory_lock(empty_url),
                            "the child waits on the lock")
            assert child.poll() is None and user_tables(empty_url) == set()
        except BaseException:
            child.kill()
            raise
    assert child.wait(timeout=120) == 0
    assert user_tables(empty_url) == TABLES
    engine.dispose()
