"""Every released schema, stored as a SQLite database with data, upgrades to the head intact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sweepd import uploaded
from sweepd.errors import SchemaOutOfDate
from sweepd.storage.database import create_engine, writer
from sweepd.storage.schema import current_revision, head_revision, migrate, open_store

STORED = sorted((Path(__file__).parent.parent / "data" / "schemas").glob("*.sqlite"))


def test_store_a_database_of_the_head_schema():
    """A new head must come with its stored database (tests/data/make_schema_fixture.py)."""
    assert head_revision() in {p.stem for p in STORED}


@pytest.mark.parametrize("stored", STORED, ids=[p.stem for p in STORED])
def test_upgrade_stored_schema_to_head_keeps_data(stored: Path, tmp_path: Path):
    db = tmp_path / stored.name
    shutil.copy(stored, db)
    url = f"sqlite:///{db}"
    engine = create_engine(url)
    assert current_revision(engine) == stored.stem
    if stored.stem != head_revision():
        with pytest.raises(SchemaOutOfDate, match="sweepd migrate"):
            open_store(url, auto_migrate=False)
    engine.dispose()

    migrate(url)
    store = open_store(url, auto_migrate=False)  # at head: no refusal
    user = store.find_user("fixture")
    assert user is not None
    sweeps, total = store.list_sweeps(user.id, limit=10, offset=0)
    assert total == 1 and sweeps[0].n_trials == 4
    assert sweeps[0].counts["completed"] == 1
    done = store.list_trials(user.id, sweeps[0].id, state="completed", limit=10, offset=0)[0]
    blob, sha = store.get_weights(user.id, sweeps[0].id, done[0].id, "final")
    assert len(blob) > 0 and done[0].result.final_sha256 == sha
    assert done[0].result.curve == [0.7, 0.6, 0.5]  # JSON before 0009, packed floats after
    tail = done[0].result.tail
    if stored.stem < "0002":
        assert tail is None  # results from before 0002 have no tail; the comparison falls back
    else:
        assert tail is not None and tail.oscillating and tail.test_accuracy == 0.7
    sessions = store.list_web_sessions(user.id)
    assert len(sessions) == (0 if stored.stem < "0003" else 1)  # web sessions came with 0003
    datasets, n_datasets = store.list_datasets(user.id, limit=10, offset=0)
    assert n_datasets == (0 if stored.stem < "0005" else 1)  # uploaded data sets came with 0005
    if datasets:
        x, y = uploaded.decode(store.dataset_blob(datasets[0].sha256))
        assert x.shape == (4, 2) and y.tolist() == [0, 1, 0, 1]
    store.dispose()


def test_downgrade_from_packed_curves_gives_the_json_back(tmp_path: Path):
    from alembic import command

    from sweepd.storage.schema import alembic_config

    db = tmp_path / "head.db"
    shutil.copy(max(STORED), db)
    url = f"sqlite:///{db}"
    migrate(url)
    engine = create_engine(url)
    with writer(engine).begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT curve FROM results").scalar()
    engine.dispose()
    assert json.loads(stored) == [0.7, 0.6, 0.5]
