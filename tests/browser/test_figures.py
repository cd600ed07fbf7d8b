"""The data behind the page's plots (api.web.figures, units, boundary), without a browser.

What the browser tests count as drawn points is computed here: these tests pin the numbers
themselves — every unit counted when binned, canonical copies collapsing, the heat map's two
triangles, the cost band ignoring diverged points, the boundary grid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sweepd import weights
from sweepd.analysis.models import (
    Comparison,
    Failures,
    Group,
    PairedStats,
    PairwiseComparison,
)
from sweepd.datasets import load
from sweepd.errors import BadRequest
from sweepd.records import ResultRecord, TrialRecord
from sweepd.spec import DatasetSpec
from sweepd_api.web import boundary, figures, units

WIDTH = 4


def record(trial_id: int, label: str, curve: list[float | None] | None = None) -> TrialRecord:
    result = ResultRecord(
        status="ok", train_cost=0.3, train_accuracy=0.9, test_cost=0.3, test_accuracy=0.9,
        train_cost_tail=0.3, steps=100, diverged_step=None, wall_seconds=1.0, curve_every=10,
        curve=curve or [0.7, 0.5, 0.3], final_sha256="0" * 64, initial_sha256=None,
        environment={}, created_at=datetime.now(UTC))
    return TrialRecord(id=trial_id, sweep_id=1, cell_key=str(trial_id), seed=trial_id,
                       initializer={"name": label}, initializer_label=label, params={},
                       state="completed", attempt=1, max_attempts=3, progress=1.0, result=result)


def base_net(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(2, WIDTH)), rng.normal(size=WIDTH)),
            (rng.normal(size=(WIDTH, 1)), rng.normal(size=1))]


def signed_permutation(net, rng: np.random.Generator) -> bytes:
    """The same tanh network with its hidden units permuted and sign-flipped."""
    (k1, b1), (k2, b2) = net
    perm, sign = rng.permutation(WIDTH), rng.choice([-1.0, 1.0], WIDTH)
    pairs = [(k1[:, perm] * sign, b1[perm] * sign), (k2[perm] * sign[:, None], b2)]
    return weights.pack(weights.from_layers([(k.astype(np.float32), b.astype(np.float32))
                                             for k, b in pairs]))[0]


def copies(n: int, label: str = "glorot_uniform") -> list[tuple[TrialRecord, bytes]]:
    rng = np.random.default_rng(1)
    net = base_net()
    return [(record(i + 1, label), signed_permutation(net, rng)) for i in range(n)]


def distinct(panel: dict) -> int:
    return len({(round(x, 3), round(y, 3)) for x, y in zip(panel["x"], panel["y"])})


def test_unit_points_collapse_permuted_copies_in_canonical_form():
    data = units.unit_points(copies(12), "tanh")
    (group,) = data["groups"]
    assert not data["binned"] and data["n_units"] == 12 * WIDTH
    assert len(group["raw"]["x"]) == len(group["canonical"]["x"]) == 12 * WIDTH
    assert distinct(group["canonical"]) == WIDTH  # one point per unit of the one solution
    assert distinct(group["raw"]) > WIDTH
    assert data["axes"] == ["weight from x₁", "weight from x₂"]


def test_unit_points_binned_still_count_every_unit():
    data = units.unit_points(copies(30), "tanh", max_points=20)
    (group,) = data["groups"]
    assert data["binned"]
    for key in ("raw", "canonical"):
        assert sum(group[key]["count"]) == 30 * WIDTH
    assert len(group["canonical"]["x"]) == WIDTH  # the copies coincide exactly
    assert len(group["raw"]["x"]) < 30 * WIDTH


def test_unit_points_leave_out_diverged_trials():
    finished = copies(3)
    nan_net = [(np.full((2, WIDTH), np.nan), np.zeros(WIDTH)), (np.ones((WIDTH, 1)), np.zeros(1))]
    finished.append((record(99, "glorot_uniform"), weights.pack(weights.from_layers(
        [(k.astype(np.float32), b.astype(np.float32)) for k, b in nan_net]))[0]))
    data = units.unit_points(finished, "tanh")
    assert data["n_trials"] == 3
    assert 99 not in data["groups"][0]["raw"]["trial_ids"]


def test_curve_bands_skip_non_finite_points():
    trials = [record(1, "a", [1.0, 0.5, 0.25]), record(2, "a", [1.0, None, 0.75]),
              record(3, "b", [2.0, 1.0])]
    bands = {b["group"]: b for b in figures.curve_bands(trials)}
    assert bands["a"]["steps"] == [0, 10, 20]
    assert bands["a"]["mean"] == [1.0, 0.5, 0.5]  # the diverged point is left out of step 10
    assert bands["a"]["n"] == 2 and bands["b"]["mean"] == [2.0, 1.0]
    assert bands["a"]["low"][2] < bands["a"]["mean"][2] < bands["a"]["high"][2]


def paired(a: str, b: str, p: float | None) -> PairwiseComparison:
    stats = PairedStats(n_pairs=10, min_pairs=29, p_a_beats_b=p,
                        p_ci_low=None if p is None else p - 0.1,
                        p_ci_high=None if p is None else p + 0.1)
    return PairwiseComparison(params={}, initializer_a=a, initializer_b=b,
                              metric="test_accuracy", stats=stats)


def group(name: str) -> Group:
    return Group(initializer=name, params={}, n_trials=10, n_finished=10, stats={},
                 accuracy_noise_floor=None, failures=Failures(), solutions=None, trials=[])


def test_heat_maps_fill_both_triangles():
    comparison = Comparison(
        metric="test_accuracy", tolerance=0.05, activation="tanh", n_total=30, n_finished=30,
        n_with_result=30, partial=False, accuracy_on="test", n_eval=100, min_pairs=29,
        groups=[group("a"), group("b"), group("c")],
        pairs=[paired("a", "b", 0.8), paired("a", "c", None), paired("b", "c", 0.5)], notes=[])
    (heat,) = figures.heat_maps(comparison)
    p = heat["p"]
    assert heat["initializers"] == ["a", "b", "c"]
    assert p[0][1] == 0.8 and p[1][0] == pytest.approx(0.2)
    assert heat["low"][1][0] == pytest.approx(0.1) and heat["high"][1][0] == pytest.approx(0.3)
    assert p[0][2] is None and p[2][0] is None and heat["n_pairs"][0][2] == 10
    assert [p[i][i] for i in range(3)] == [None, None, None]


def test_boundary_grid_predicts_over_the_data():
    data = load(DatasetSpec(name="moons", n_samples=200, seed=0))
    net = weights.from_layers([(np.array([[1.0], [0.0]]), np.zeros(1)),
                               (np.array([[1.0]]), np.zeros(1))])  # class 1 where x₁ > 0
    grid = boundary.boundary_grid(net, "tanh", data, resolution=20)
    z = np.array(grid["z"])
    assert z.shape == (20, 20)
    assert (z[:, np.array(grid["x"]) > 0] == 1).all() and (z[:, np.array(grid["x"]) < 0] == 0).all()
    points = boundary.training_points(data, max_points=50)
    assert len(points["x"]) == len(points["label"]) <= 50 and points["n_classes"] == 2


def test_boundary_refuses_a_dataset_that_is_not_2d():
    with pytest.raises(BadRequest, match="2-D"):
        boundary.training_points(load(DatasetSpec(name="iris")))


def iris_grid_site(tmp_path):
    """A store with one finished iris sweep over two learning rates; (store, sweep, token)."""
    from sweepd.records import ResultItem
    from sweepd.results import TrialResult
    from sweepd.spec import SweepSpec
    from sweepd.storage.schema import migrate, open_store

    url = f"sqlite:///{tmp_path / 'sweepd.db'}"
    migrate(url)
    store = open_store(url, auto_migrate=False)
    user = store.create_user("alice")
    spec = SweepSpec.model_validate({
        "name": "iris-grid", "dataset": {"name": "iris"}, "model": {"hidden": [3]},
        "training": {"steps": 10}, "seeds": {"start": 0, "count": 3},
        "initializers": ["glorot_uniform", "he_normal"],
        "grid": {"training.learning_rate": [0.1, 0.5]}, "store": {"curve_every": 5}})
    sweep, _ = store.submit_sweep(user.id, spec)
    rng = np.random.default_rng(0)
    items = []
    for batch in store.claim_trials(holder="t", max_trials=100, max_batch=100, lease_seconds=60):
        for t in batch.trials:
            blob, sha = weights.pack(weights.from_layers([
                (rng.normal(size=(4, 3)).astype(np.float32), np.zeros(3, np.float32)),
                (rng.normal(size=(3, 3)).astype(np.float32), np.zeros(3, np.float32))]))
            result = TrialResult(
                cell_key=t.spec.cell_key, status="ok", train_cost=1.0, train_accuracy=0.5,
                test_cost=1.0, test_accuracy=0.5, train_cost_tail=1.0, steps=10,
                wall_seconds=0.1, curve_every=5, curve=[1.1, 1.0], final_weights=blob,
                final_sha256=sha)
            items.append(ResultItem(trial_id=t.trial_id, attempt=t.attempt, node="n",
                                    device="cpu", result=result))
    store.record_results(items)
    return store, sweep, store.create_token(user.id, "t")[1]


def test_pages_of_a_grid_sweep_on_iris_render(tmp_path):
    """Four inputs, three classes, two grid points: no boundary, units projected, labelled."""
    from fastapi.testclient import TestClient

    from sweepd.settings import Settings
    from sweepd_api import create_app

    store, sweep, token = iris_grid_site(tmp_path)
    _, session = store.start_web_session(token, lifetime=timedelta(hours=1))
    client = TestClient(create_app(Settings(data_dir=tmp_path), store),
                        base_url="http://127.0.0.1", cookies={"sweepd_session": session.secret})
    page = client.get(f"/sweeps/{sweep.id}")
    assert page.status_code == 200 and "Decision boundaries" not in page.text
    assert "4 inputs → 3 tanh → 3 softmax output" in page.text
    base = f"/web-api/sweeps/{sweep.id}"
    units_data = client.get(f"{base}/units").json()
    assert units_data["projected"] and len(units_data["groups"]) == 4
    comparison = client.get(f"{base}/comparison").json()
    assert "glorot_uniform [training.learning_rate=0.1]" in comparison["labels"]
    assert len(comparison["heat_maps"]) == 2  # one per grid point
    rows = client.get(f"{base}/trials").json()["rows"]
    assert len(rows) == 12
    assert client.get(f"{base}/boundary?trial={rows[0]['id']}").status_code == 400
    assert client.get(f"/sweeps/{sweep.id}/trials/{rows[0]['id']}").status_code == 200
    store.dispose()
