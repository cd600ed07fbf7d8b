"""Nothing lost silently (issue 14, items 6, 13 and 19): the WAL is folded into the database
file, a lost or damaged database is refused instead of replaced, the secrets' files are
private, and /readyz reports a database that takes no more writes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sweepd.errors import Unavailable
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.database import Checkpointer, checkpoint
from sweepd.storage.store import Store
from tests.integration.api.api_support import finish_trials, small_spec
from tests.reliability.helpers import wait_until


def _settings(data: Path) -> Settings:
    return Settings(data_dir=data)


def _start(settings: Settings) -> Store:
    from sweepd.bootstrap import bootstrap_admin, open_service_store

    store = open_service_store(settings)
    bootstrap_admin(store, settings)
    return store


def _fill(store: Store, sweeps: int = 3) -> dict[str, int]:
    """Sweeps with finished trials (results and weights), as after some work."""
    owner = store.find_user("admin").id
    for n in range(sweeps):
        store.submit_sweep(owner, SweepSpec.model_validate(small_spec(f"s{n}")))
    finish_trials(store)
    return _counts(store.engine.url.database)


def _counts(path: str | Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("sweeps", "trials", "results")}
    finally:
        connection.close()


def _wal(settings: Settings) -> Path:
    return settings.data_dir / "sweepd.db-wal"


# -- the WAL is folded into the file -------------------------------------------------------------


def test_checkpoint_puts_every_row_in_the_database_file(tmp_path):
    settings = _settings(tmp_path / "data")
    store = _start(settings)
    counts = _fill(store)
    assert counts["results"] == 18
    assert _wal(settings).stat().st_size > 0  # the rows are in the WAL so far

    busy, frames, done = checkpoint(store.engine)

    assert busy == 0 and frames == done  # no reader held an old snapshot open
    assert _wal(settings).stat().st_size == 0
    copy = tmp_path / "copy.db"  # the .db file alone, as a file-level backup copies it
    shutil.copyfile(settings.sqlite_path, copy)
    assert _counts(copy) == counts
    store.dispose()


def test_checkpointer_empties_the_wal_on_its_timer_while_the_store_works(tmp_path):
    settings = _settings(tmp_path / "data")
    store = _start(settings)
    timer = Checkpointer(store.engine, period=0.2)
    timer.start()
    try:
        counts = _fill(store)
        store.count_pending()  # readers come and go as they do in the service
        wait_until(lambda: _wal(settings).stat().st_size == 0, 10, "a timed checkpoint")
    finally:
        timer.stop()
    os.remove(_wal(settings))  # deleting the WAL after a checkpoint loses nothing
    assert _counts(settings.sqlite_path) == counts
    store.dispose()


def test_stop_checkpoints_a_last_time(tmp_path):
    settings = _settings(tmp_path / "data")
    store = _start(settings)
    timer = Checkpointer(store.engine, period=3600)
    timer.start()
    counts = _fill(store)
    assert _wal(settings).stat().st_size > 0
    timer.stop()
    assert _wal(settings).stat().st_size == 0
    assert _counts(settings.sqlite_path) == counts
    store.dispose()


# -- a lost database is not replaced ------------------------------------------------------------


def _serve(data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SWEEPD_DATA_DIR": str(data), "SWEEPD_RUN_DISPATCHER": "false"}
    env.pop("SWEEPD_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "sweepd", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("lost", [["sweepd.db-wal"], ["sweepd.db", "sweepd.db-wal"]],
                         ids=["wal-deleted", "database-deleted"])
def test_refuse_to_start_afresh_where_a_database_was_lost(tmp_path, lost):
    store = _start(_settings(tmp_path / "live"))
    _fill(store)
    # The files of a service that died with every row still in the WAL (as the issue found
    # them), then some of them deleted.
    settings = _settings(tmp_path / "data")
    shutil.copytree(tmp_path / "live", settings.data_dir)
    store.dispose()
    for name in lost:
        os.remove(settings.data_dir / name)
    token_before = settings.resolved_token_file.read_bytes()
    files_before = {p.name: p.read_bytes() for p in settings.data_dir.iterdir()}

    with pytest.raises(Unavailable, match="traces of an earlier sweepd database"):
        _start(settings)
    done = _serve(settings.data_dir)  # the command line says so and exits non-zero

    assert done.returncode == 1, done.stdout + done.stderr
    assert "token.json" in done.stdout and "Nothing was changed" in done.stdout
    assert "Traceback" not in done.stderr
    assert settings.resolved_token_file.read_bytes() == token_before
    assert {p.name: p.read_bytes() for p in settings.data_dir.iterdir()} == files_before


def test_refuse_a_damaged_database_at_start(tmp_path):
    settings = _settings(tmp_path / "data")
    store = _start(settings)
    _fill(store)
    checkpoint(store.engine)
    store.dispose()
    size = settings.sqlite_path.stat().st_size
    with settings.sqlite_path.open("r+b") as handle:  # lose the second half of the file
        handle.truncate(size // 2)

    with pytest.raises(Unavailable, match="quick_check"):
        _start(settings)
    assert settings.sqlite_path.stat().st_size == size // 2  # left as found, for recovery


def test_refuse_a_file_that_is_not_a_database(tmp_path):
    settings = _settings(tmp_path / "data")
    _start(settings).dispose()
    with settings.sqlite_path.open("r+b") as handle:
        handle.write(b"\x00" * 64)  # the header's 64 bytes flipped

    with pytest.raises(Unavailable, match="damaged"):
        _start(settings)


# -- files with secrets are private (item 13) ---------------------------------------------------


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_data_dir_database_and_token_file_are_private(tmp_path):
    settings = _settings(tmp_path / "data")
    store = _start(settings)
    _fill(store, sweeps=1)

    assert _mode(settings.data_dir) == 0o700
    assert _mode(settings.resolved_token_file) == 0o600
    for name in ("sweepd.db", "sweepd.db-wal", "sweepd.db-shm"):
        assert _mode(settings.data_dir / name) == 0o600, name
    store.dispose()


def test_widened_modes_are_narrowed_at_start(tmp_path):
    settings = _settings(tmp_path / "data")
    _start(settings).dispose()
    os.chmod(settings.data_dir, 0o755)
    os.chmod(settings.resolved_token_file, 0o644)
    os.chmod(settings.sqlite_path, 0o644)

    _start(settings).dispose()

    assert _mode(settings.data_dir) == 0o700
    assert _mode(settings.resolved_token_file) == 0o600
    assert _mode(settings.sqlite_path) == 0o600


def test_saving_over_a_readable_token_file_makes_it_private(tmp_path):
    from sweepd import tokenfile

    path = tmp_path / "token.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    tokenfile.save("http://127.0.0.1:8642", "swd_secret", path)
    assert _mode(path) == 0o600 and tokenfile.load(path) == ("http://127.0.0.1:8642",
                                                             "swd_secret")


def test_non_tty_start_prints_only_the_token_prefix(tmp_path, capsys):
    from sweepd_service.server import announce_token

    settings = _settings(tmp_path)
    announce_token("swd_abcdefghijklmnopqrstuvwxyz", settings)
    out = capsys.readouterr().out
    assert "swd_abcd" in out and "swd_abcdefghijklmnop" not in out
    assert "sweepd token show" in out


def test_demo_log_is_private(tmp_path, monkeypatch):
    from rich.console import Console

    from sweepd import demo

    monkeypatch.setenv("SWEEPD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(demo.sys, "executable", "/bin/true")  # the log, not a real service
    child = demo._start_server(1, Console(file=open(os.devnull, "w")))
    child.wait(timeout=10)
    assert _mode(tmp_path / "data" / "demo-server.log") == 0o600
    assert _mode(tmp_path / "data") == 0o700


# -- readiness follows the last write (item 19) -------------------------------------------------


def test_readyz_unready_while_writes_fail_on_a_full_disk(tmp_path):
    from fastapi.testclient import TestClient

    from sweepd import tokenfile
    from sweepd_api import create_app

    settings = _settings(tmp_path / "data")
    store = _start(settings)
    token = tokenfile.load(settings.resolved_token_file)[1]
    full = {"on": False}

    @sa.event.listens_for(store.engine, "begin")
    def disk_full(conn):  # SQLite's own SQLITE_FULL: the file may not grow by another page
        if full["on"]:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")

    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, store), base_url="http://127.0.0.1") as client:
        assert client.get("/readyz").status_code == 200
        full["on"] = True
        big = small_spec("big", seeds=2000)
        refused = client.post("/api/v1/sweeps", json=big, headers=headers)
        assert refused.status_code == 503, refused.text
        assert "full" in store.last_write.error  # the fault fired: SQLITE_FULL
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "down"
        assert client.get("/api/v1/sweeps", headers=headers).status_code == 200  # reads work

        full["on"] = False
        store.engine.dispose()  # room again: max_page_count belongs to the old connections
        assert client.post("/api/v1/sweeps", json=small_spec("ok"),
                           headers=headers).status_code == 201
        assert client.get("/readyz").status_code == 200
    store.dispose()
