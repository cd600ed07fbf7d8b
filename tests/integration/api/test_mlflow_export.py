"""MLflow export (issue 20, item 2) against a real local tracking store (SQLite), read back with
MLflow's own client: one run per trial with the cell's params, the final metrics, the cost
curve as metric history and the weights as an artifact; exporting again creates no run."""

from __future__ import annotations

import mlflow  # the [test] extra has mlflow-skinny
import pytest

from sweepd.client import Client
from tests.integration.api.api_support import finish_trials, small_spec


@pytest.fixture
def tracking(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}", (tmp_path / "artifacts").as_uri()


def test_mlflow_export_logs_one_run_per_trial_and_is_idempotent(client, store, live_url, alice,
                                                               tracking):
    uri, artifacts = tracking
    created = client.post("/api/v1/sweeps", json=small_spec("to-mlflow", seeds=3, initializers=(
        "glorot_uniform", "zeros"))).json()
    finish_trials(store, max_trials=4)  # two trials are still pending at the first export

    with Client(url=live_url, token=alice.token) as sdk:
        sweep = sdk.get(created["id"])
        first = sweep.export_mlflow(uri, artifact_location=artifacts)
        assert (first.created, first.updated, first.unchanged) == (6, 0, 0)

        finish_trials(store)
        second = sweep.export_mlflow(uri, artifact_location=artifacts)
        assert (second.created, second.updated, second.unchanged) == (0, 2, 4)
        third = sweep.export_mlflow(uri, artifact_location=artifacts)
        assert (third.created, third.updated, third.unchanged) == (0, 0, 6)
        trials = {t.id: t for t in sweep.trials()}

    ml = mlflow.MlflowClient(tracking_uri=uri)
    experiment = ml.get_experiment_by_name(f"sweepd to-mlflow (sweep {created['id']})")
    runs = ml.search_runs([experiment.experiment_id])
    assert len(runs) == 6
    for run in runs:
        trial = trials[int(run.data.tags["sweepd.trial_id"])]
        assert run.info.status == "FINISHED"
        assert run.data.tags["initializer"] == trial.initializer_label
        assert run.data.tags["sweepd.cell_key"] == trial.cell_key
        assert run.data.params["seed"] == str(trial.seed)
        assert run.data.params["dataset.name"] == "moons"
        assert run.data.params["training.learning_rate"] == "0.5"
        assert run.data.metrics["test_accuracy"] == trial.result.test_accuracy
        history = ml.get_metric_history(run.info.run_id, "train_cost")
        assert [m.value for m in sorted(history, key=lambda m: m.step)] == trial.result.curve
        assert [a.path for a in ml.list_artifacts(run.info.run_id, "weights")] == [
            "weights/final.safetensors"]
