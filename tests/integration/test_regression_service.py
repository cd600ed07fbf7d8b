"""A regression target end to end (issue 17): scikit-learn's diabetes uploaded as a CSV with a
numeric target, swept with mse on a linear output through the service; R² is reported beside
the cost, and the comparison and verdict rank on it."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.ray

SEEDS = 3


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory) -> tuple[bytes, np.ndarray]:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    frame["progression"] = y
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return path, y


@pytest.fixture(scope="module")
def finished(tmp_path_factory, ray_address, diabetes_csv):
    from tests.conftest import LiveServer, free_port

    data = tmp_path_factory.mktemp("regression")
    env = {**os.environ, "SWEEPD_DATA_DIR": str(data), "SWEEPD_RAY_ADDRESS": ray_address}
    env.pop("RAY_ADDRESS", None)
    server = LiveServer(data_dir=data, env=env, port=free_port()).start()
    try:
        client = server.client()
        path, _ = diabetes_csv
        record = client.upload_dataset(path=path, target="progression", task="regression")
        spec = {
            "name": "diabetes", "dataset": {"name": "uploaded", "id": record.id,
                                            "test_fraction": 0.2, "standardize": True},
            "model": {"hidden": [4], "activation": "tanh"},
            "training": {"optimizer": "gd", "learning_rate": 0.05, "steps": 1500,
                         "loss": "mse"},
            "seeds": {"count": SEEDS}, "initializers": ["glorot_uniform", "zeros"]}
        sweep = client.submit(spec).wait(progress=False, timeout=300)
        assert sweep.state == "completed", sweep.counts
        yield server, client, sweep, record
    finally:
        server.stop()


def test_a_numeric_target_uploads_as_a_regression_data_set(finished):
    _, client, _, record = finished
    assert record.task == "regression" and record.n_classes == 0
    assert record.class_names == [] and record.n_rows == 442 and record.n_features == 10
    assert client.get_dataset(record.id).task == "regression"


def test_results_report_r2_beside_the_cost(finished, diabetes_csv):
    _, client, sweep, _ = finished
    _, y = diabetes_csv
    trials = client.trials(sweep.id)
    assert len(trials) == 2 * SEEDS
    for t in trials:
        r = t.result
        assert r.train_accuracy is None and r.test_accuracy is None  # nothing is classified
        assert r.train_r2 is not None and r.test_r2 is not None
        assert r.tail.test_r2 is not None and r.tail.train_accuracy is None
        # R² = 1 − mse / Var(y): the cost is the mean squared error in the target's units.
        assert r.train_cost == pytest.approx((1 - r.train_r2) * np.var(y), rel=0.25)
    learned = [t.result for t in trials if t.initializer_label == "glorot_uniform"]
    assert all(r.train_r2 > 0.4 and r.test_r2 > 0.2 for r in learned)
    flat = [t.result for t in trials if t.initializer_label == "zeros"]
    assert all(r.train_r2 < 0.1 for r in flat)  # symmetric units: no better than the mean


def test_the_comparison_ranks_on_r2_and_the_verdict_names_the_winner(finished):
    _, client, sweep, _ = finished
    view = client.compare(sweep.id)
    raw = view.raw
    assert raw["ranked_metric"] == "test_r2_tail" and raw["metric"] == "test_r2"
    groups = {g["initializer"]: g for g in raw["groups"]}
    assert "test_accuracy" not in groups["glorot_uniform"]["stats"]
    assert groups["glorot_uniform"]["stats"]["test_r2_tail"]["mean"] > 0.2
    assert groups["glorot_uniform"]["accuracy_noise_floor"] is None
    assert groups["zeros"]["failures"]["any"] == SEEDS  # symmetry never broken / R² ≤ 0
    choice = view.verdict.points[0].which_initializer
    assert choice.metric == "test_r2_tail" and choice.recommended == ["glorot_uniform"]
    assert "of R²" in choice.rope_reason
    print(view.verdict.text)
    evidence = groups["glorot_uniform"]["solutions"]["function"]
    assert evidence["disagreement"] is None and evidence["mean_abs_dp"] > 0


def test_a_classifier_output_on_a_regression_target_is_refused(finished):
    import httpx

    server, client, _, record = finished
    bad = {"name": "bad", "dataset": {"name": "uploaded", "id": record.id},
           "training": {"loss": "bce"}, "seeds": {"count": 1}, "initializers": ["zeros"]}
    before = len(client.list_sweeps()) if hasattr(client, "list_sweeps") else None
    answer = httpx.post(f"{server.url}/api/v1/sweeps", json=bad,
                        headers={"Authorization": f"Bearer {server.token}"})
    assert answer.status_code == 422, answer.text
    assert "regression target" in answer.json()["detail"]
    plugin = {**bad, "training": {"loss": "mse"}, "model": {"plugin": "sweepd.cnn"}}
    answer = httpx.post(f"{server.url}/api/v1/sweeps", json=plugin,
                        headers={"Authorization": f"Bearer {server.token}"})
    assert answer.status_code == 422 and "built-in MLP" in answer.json()["detail"]
    if before is not None:
        assert len(client.list_sweeps()) == before
