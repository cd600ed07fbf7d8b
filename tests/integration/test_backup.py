"""`sweepd backup FILE`: an online copy of the SQLite database that restores every sweep, trial
and result (issue 14, item 6); PostgreSQL gets pg_dump advice instead."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sweepd import tokenfile
from sweepd.bootstrap import bootstrap_admin, open_service_store
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from tests.integration.api.api_support import finish_trials, small_spec


def _backup(data: Path, target: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "SWEEPD_DATA_DIR": str(data), **env}
    if "SWEEPD_DATABASE_URL" not in env:
        full.pop("SWEEPD_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "sweepd", "backup", str(target)], env=full,
                          capture_output=True, text=True, timeout=120)


def _rows(path: Path) -> dict[str, list[tuple]]:
    connection = sqlite3.connect(path)
    try:
        return {
            "sweeps": connection.execute("SELECT id, name, state, spec FROM sweeps ORDER BY id")
            .fetchall(),
            "trials": connection.execute(
                "SELECT id, sweep_id, state, attempt, seed FROM trials ORDER BY id").fetchall(),
            "results": connection.execute(
                "SELECT r.trial_id, r.final_sha256, w.data FROM results r JOIN weight_blobs w"
                " ON w.sha256 = r.final_sha256 ORDER BY r.trial_id")
            .fetchall(),
        }
    finally:
        connection.close()


def test_backup_of_a_live_database_restores_every_sweep_trial_and_result(tmp_path):
    settings = Settings(data_dir=tmp_path / "live")
    store = open_service_store(settings)
    bootstrap_admin(store, settings)
    owner = store.find_user("admin").id
    for n in range(3):
        store.submit_sweep(owner, SweepSpec.model_validate(small_spec(f"s{n}")))
    finish_trials(store, max_trials=12)  # two sweeps done, one still pending
    expected = _rows(settings.sqlite_path)  # read through the WAL: what the service sees
    assert len(expected["results"]) == 12 and len(expected["trials"]) == 18

    target = tmp_path / "backups" / "sweepd-backup.db"
    target.parent.mkdir()
    done = _backup(settings.data_dir, target)  # while the store is open, its rows in the WAL
    assert done.returncode == 0, done.stdout + done.stderr
    assert target.stat().st_mode & 0o777 == 0o600

    restored = Settings(data_dir=tmp_path / "restored")  # a new machine: the file, the token
    restored.data_dir.mkdir()
    shutil.copyfile(target, restored.sqlite_path)
    shutil.copyfile(settings.resolved_token_file, restored.resolved_token_file)
    again = open_service_store(restored)
    assert bootstrap_admin(again, restored) is None  # the admin came back with the data
    assert _rows(restored.sqlite_path) == expected
    token = tokenfile.load(restored.resolved_token_file)[1]
    assert again.authenticate(token).name == "admin"
    again.dispose()
    store.dispose()


def test_backup_never_overwrites_a_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "live")
    open_service_store(settings).dispose()
    target = tmp_path / "existing.db"
    target.write_bytes(b"keep me")
    done = _backup(settings.data_dir, target)
    assert done.returncode == 2 and "does not overwrite" in done.stdout
    assert target.read_bytes() == b"keep me"


def test_backup_without_a_database_creates_none(tmp_path):
    done = _backup(tmp_path / "empty", tmp_path / "b.db")
    assert done.returncode == 2 and "no database" in done.stdout
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "empty" / "sweepd.db").exists()


def test_backup_of_postgresql_points_to_pg_dump(tmp_path):
    done = _backup(tmp_path, tmp_path / "b.db",
                   SWEEPD_DATABASE_URL="postgresql://sweepd@127.0.0.1:5432/sweepd")
    assert done.returncode == 2
    assert "pg_dump" in done.stdout and "pg_restore" in done.stdout
    assert not (tmp_path / "b.db").exists()
