"""Resource budgets and strict specs through the REST API (issue 14, items 1, 4, 5 and 19).

Each attack of the issue is sent as a user would send it; a refusal must be a 422 problem that
says why (the estimate and the cap, or the field) with nothing stored: every table's rows are
counted before and after.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from sweepd import datasets
from sweepd.spec import MAX_CURVE_POINTS, DatasetSpec, SweepSpec, resolved_curve_every
from tests.integration.api.api_support import small_spec

SWEEPS = "/api/v1/sweeps"
PROBLEM = "application/problem+json"
# 16 × 4096 float64 MLP × 256 seeds × 10⁷ steps on 10⁶ samples.
RUINOUS = small_spec("ruinous", seeds=256, initializers=["he_normal"],
                     dataset={"name": "moons", "n_samples": 1_000_000},
                     model={"hidden": [4096] * 16},
                     training={"optimizer": "gd", "steps": 10_000_000, "dtype": "float64"})
NO_LIMITS = {"max_trial_flops": 1e30, "max_sweep_flops": 1e30, "max_trial_memory_bytes": 1 << 50,
             "max_sweep_stored_bytes": 1 << 60}


@pytest.fixture
def refused(client, counts):
    """Post a spec; check the 422 problem, that nothing was stored, and return its body."""

    def post(spec: dict[str, Any]) -> dict[str, Any]:
        before = counts()
        response = client.post(SWEEPS, json=spec)
        assert response.status_code == 422, response.text[:500]
        assert response.headers["content-type"] == PROBLEM
        assert counts() == before and before["sweeps"] == before["trials"] == 0
        return response.json()

    return post


def test_the_ruinous_sweep_is_refused_with_the_estimate_and_the_cap(refused):
    body = refused(RUINOUS)
    assert body["title"] == "Over budget"
    assert "a trial needs about 1.2e+22 FLOPs" in body["detail"]
    assert "over the cap of 1e+14 FLOPs per trial" in body["detail"]
    assert "SWEEPD_MAX_TRIAL_FLOPS" in body["detail"]


def test_the_memory_cap_speaks_in_bytes(make_app, alice, counts):
    from tests.integration.api.api_support import open_client

    app = make_app({**NO_LIMITS, "max_trial_memory_bytes": 1 << 30})
    with open_client(app, alice) as client:
        response = client.post(SWEEPS, json=RUINOUS)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "GiB of memory" in detail and "over the cap of 1 GiB" in detail
    assert "SWEEPD_MAX_TRIAL_MEMORY_BYTES" in detail
    assert counts()["sweeps"] == 0


def test_an_admin_setting_lets_the_same_sweep_in(make_app, alice, counts):
    from tests.integration.api.api_support import open_client

    with open_client(make_app(NO_LIMITS), alice) as client:
        response = client.post(SWEEPS, json=RUINOUS)
    assert response.status_code == 201, response.text[:300]
    assert counts()["trials"] == 256


def test_a_point_every_step_of_ten_million_is_accepted_with_a_thinned_curve(client, counts):
    """Accepted: its trial records at most MAX_CURVE_POINTS (the engine test trains one)."""
    spec = small_spec("long-curve", seeds=1, initializers=["zeros"],
                      training={"optimizer": "gd", "steps": 10_000_000},
                      store={"curve_every": 1})
    response = client.post(SWEEPS, json=spec)
    assert response.status_code == 201, response.text[:300]
    assert counts()["trials"] == 1
    stored = SweepSpec.model_validate(client.get(response.headers["Location"]).json()["spec"])
    every = resolved_curve_every(stored.store, stored.training.steps)
    assert math.ceil(10_000_000 / every) + 1 <= MAX_CURVE_POINTS < 10_000_000


def test_twenty_grid_points_of_a_million_samples_are_checked_without_data(
        client, counts, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the submission generated a data set")

    monkeypatch.setattr(datasets, "_generate", refuse)
    datasets._load_cached.cache_clear()
    spec = small_spec("big-grid", seeds=1, initializers=["zeros"],
                      dataset={"name": "moons", "n_samples": 1_000_000},
                      grid={"dataset.seed": list(range(20))})
    response = client.post(SWEEPS, json=spec)
    assert response.status_code == 201, response.text[:300]
    assert counts()["trials"] == 20
    bad = {**spec, "name": "big-grid-iris", "dataset": {"name": "iris"},
           "model": {"hidden": [4], "output": "sigmoid"}, "grid": {"dataset.seed": [0, 1]}}
    refused_response = client.post(SWEEPS, json=bad)
    assert refused_response.status_code == 422 and "model.output" in refused_response.text
    with pytest.raises(AssertionError):  # the trap was armed
        datasets.load(DatasetSpec(name="moons"))


@pytest.mark.parametrize("values", [
    [1, 1.0], [1, "1"], [1, "1e0"], [1, " 1 "], [1, "10e-1"],
], ids=["int-and-float", "string", "exponent-string", "padded-string", "ten-e-minus-one"])
def test_grid_duplicates_and_strings_are_refused_naming_the_axis(refused, values):
    body = refused(small_spec("dups", grid={"training.learning_rate": values}))
    assert "training.learning_rate" in body["detail"]


@pytest.mark.parametrize(("change", "loc"), [
    ({"training": {"optimizer": "gd", "steps": True}}, ["body", "training", "steps"]),
    ({"seeds": [True, False]}, ["body", "seeds", "list", 0]),
    ({"dataset": {"name": "moons", "standardize": "yes"}}, ["body", "dataset", "standardize"]),
    ({"dataset": {"name": "moons", "standardize": 1}}, ["body", "dataset", "standardize"]),
    ({"training": {"optimizer": "gd", "learning_rate": "0.5"}},
     ["body", "training", "learning_rate"]),
], ids=["steps-true", "seeds-booleans", "standardize-yes", "standardize-one", "lr-string"])
def test_booleans_and_strings_for_numbers_are_refused_naming_the_field(refused, change, loc):
    body = refused(small_spec("strict", **change))
    assert loc in [e["loc"] for e in body["errors"]], body["errors"]
