"""Exports (issue 20, item 2): every trial as Parquet or CSV, every weight stacked in one file,
each bounded by the export budget and scoped to the owner."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.numpy import load

from sweepd import exports, weights
from sweepd.client import Client
from sweepd.errors import Conflict
from tests.integration.api.api_support import finish_trials, open_client, small_spec


@pytest.fixture
def finished(client, store):
    created = client.post("/api/v1/sweeps", json=small_spec(
        "exports", seeds=4, initializers=("glorot_uniform", "he_normal", "zeros"),
        grid={"training.learning_rate": [0.1, 0.5]}))
    assert created.status_code == 201, created.text
    assert len(finish_trials(store)) == 24
    return created.json()["id"]


def _api_trials(client, sweep_id):
    return client.get(f"/api/v1/sweeps/{sweep_id}/trials", params={"limit": 100}).json()["items"]


def test_parquet_export_read_back_equals_the_trials_of_the_api(client, finished):
    resp = client.get(f"/api/v1/sweeps/{finished}/export")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == f'attachment; filename="sweep-{finished}.parquet"'
    frame = pd.read_parquet(io.BytesIO(resp.content)).set_index("id")
    trials = _api_trials(client, finished)
    assert sorted(frame.index) == sorted(t["id"] for t in trials)
    for t in trials:
        row = frame.loc[t["id"]]
        assert (row["seed"], row["initializer"], row["state"]) == (
            t["seed"], t["initializer_label"], t["state"])
        assert row["test_accuracy"] == t["result"]["test_accuracy"]
        assert row["final_sha256"] == t["result"]["final_sha256"]
        assert list(row["curve"]) == t["result"]["curve"]
        assert row["training.learning_rate"] == t["params"]["training.learning_rate"]
        assert row["param.training.learning_rate"] == t["params"]["training.learning_rate"]
        assert list(row["model.hidden"]) == [4] and row["dataset.name"] == "moons"


def test_csv_export_has_the_same_rows_with_lists_as_json(client, finished):
    resp = client.get(f"/api/v1/sweeps/{finished}/export", params={"format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(resp.text)).set_index("id")
    trials = {t["id"]: t for t in _api_trials(client, finished)}
    assert set(frame.index) == set(trials)
    for tid, t in trials.items():
        assert json.loads(frame.loc[tid, "curve"]) == t["result"]["curve"]
        assert frame.loc[tid, "initializer"] == t["initializer_label"]


def test_stacked_weights_hold_every_trial_with_matching_sha256(client, finished):
    resp = client.get(f"/api/v1/sweeps/{finished}/weights.safetensors")
    assert resp.status_code == 200
    stacked = load(resp.content)
    ids = stacked["trials"].tolist()
    assert sorted(ids) == sorted(t["id"] for t in _api_trials(client, finished))
    assert stacked["layers.0.kernel"].shape == (24, 2, 4)
    with safe_open_bytes(resp.content) as meta:
        digests = json.loads(meta["sha256"])
    for k, tid in enumerate(ids):
        one = client.get(f"/api/v1/sweeps/{finished}/trials/{tid}/weights")
        assert weights.sha256(one.content) == digests[k] == one.headers["x-content-sha256"]
        alone = load(one.content)
        for name, array in alone.items():
            np.testing.assert_array_equal(stacked[name][k], array)


def safe_open_bytes(content: bytes):
    """The metadata of safetensors bytes (safe_open reads files only)."""
    import tempfile
    from contextlib import contextmanager

    @contextmanager
    def opened():
        with tempfile.NamedTemporaryFile(suffix=".safetensors") as f:
            f.write(content)
            f.flush()
            with safe_open(f.name, framework="numpy") as st:
                yield st.metadata()

    return opened()


def test_exports_over_the_budget_are_refused_before_any_work(make_app, alice, store, finished):
    small = make_app({"max_export_bytes": 1 << 20})
    with open_client(small, alice) as client:
        assert client.get(f"/api/v1/sweeps/{finished}/export").status_code == 200
    tiny = make_app()
    tiny.state.settings = tiny.state.settings.model_copy(update={"max_export_bytes": 2_000})
    with open_client(tiny, alice) as client:
        for path in ("export", "weights.safetensors"):
            resp = client.get(f"/api/v1/sweeps/{finished}/{path}")
            assert resp.status_code == 422, resp.text
            assert "SWEEPD_MAX_EXPORT_BYTES" in resp.json()["detail"]


def test_another_users_sweep_cannot_be_exported(anonymous, bob, finished):
    for path in ("export", "weights.safetensors"):
        resp = anonymous.get(f"/api/v1/sweeps/{finished}/{path}", headers=bob.headers)
        assert resp.status_code == 404


def test_weights_of_different_layouts_are_not_stacked():
    small, _ = weights.pack({"layers.0.kernel": np.zeros((2, 4), np.float32)})
    large, _ = weights.pack({"layers.0.kernel": np.zeros((2, 8), np.float32)})
    with pytest.raises(Conflict, match="2 different layouts"):
        exports.stack_weights([(1, small), (2, large)], "final")


def test_sdk_exports_to_files(live_url, alice, finished, tmp_path):
    with Client(url=live_url, token=alice.token) as sdk:
        sweep = sdk.get(finished)
        parquet = sweep.export(tmp_path / "s.parquet")
        csv = sweep.export(tmp_path / "s.csv")
        stacked = sweep.stacked_weights()
    assert len(pd.read_parquet(parquet)) == 24 and len(pd.read_csv(csv)) == 24
    assert not list(tmp_path.glob("*.part"))
    assert stacked["trials"].shape == (24,)
